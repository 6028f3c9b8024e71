"""The statistics `llama-perplexity --kl-divergence` prints, from per-token values.

Definitions as in llama.cpp's tools/perplexity/perplexity.cpp (kl_divergence): a mean's
uncertainty is sqrt((mean(x^2) - mean(x)^2) / (n - 1)), taken as 0 for n <= 10; perplexities
are exp(mean NLL) with uncertainty ppl * that of the mean NLL; the two backends' NLLs are
correlated through their covariance (mean(ab) - mean(a) mean(b)) / (n - 1) (0 for n < 10);
RMS Δp's uncertainty is 0.5 / RMS times that of mean(Δp^2), computed from Δp^4; percentiles
interpolate linearly between sorted values (numpy's default), the median averages the two
middle values. "base" (the reference backend) is llama-perplexity's base model, "test" its Q.
"""

from __future__ import annotations

import numpy as np

KLD_PERCENTILES = (99.9, 99.0, 95.0, 90.0, 10.0, 5.0, 1.0, 0.1)
DELTA_P_PERCENTILES = (99.9, 99.0, 95.0, 90.0, 75.0, 25.0, 10.0, 5.0, 1.0, 0.1)


def mean_and_uncertainty(values: np.ndarray) -> tuple[float, float]:
    n = len(values)
    if n < 1:
        return 0.0, 0.0
    mean = float(np.sum(values) / n)
    variance = float(np.sum(values * values) / n) - mean * mean
    return mean, (variance / (n - 1)) ** 0.5 if variance > 0 and n > 10 else 0.0


def covariance(a: np.ndarray, b: np.ndarray) -> float:
    n = len(a)
    if n < 10:
        return 0.0
    return (float(np.sum(a * b) / n) - float(np.sum(a) / n) * float(np.sum(b) / n)) / (n - 1)


def divergence_statistics(nll_base: np.ndarray, nll_test: np.ndarray, kld: np.ndarray, delta_p: np.ndarray,
                          same_top: np.ndarray) -> dict[str, float]:
    """Every statistic of llama-perplexity's three blocks (perplexity, KL divergence, token
    probability), as floats; Δp and same-top as fractions (llama-perplexity prints percent)."""
    nll_base, nll_test, kld, delta_p = (np.asarray(x, dtype=np.float64) for x in (nll_base, nll_test, kld, delta_p))
    n = len(kld)
    out: dict[str, float] = {"count": float(n)}
    log_ppl, log_ppl_unc = mean_and_uncertainty(nll_test)
    log_base, log_base_unc = mean_and_uncertainty(nll_base)
    ppl, ppl_base = np.exp(log_ppl), np.exp(log_base)
    cov = covariance(nll_test, nll_base)
    ratio_unc = max(log_ppl_unc**2 + log_base_unc**2 - 2 * cov, 0.0) ** 0.5
    out.update({
        "ppl_test": ppl, "ppl_test_unc": ppl * log_ppl_unc,
        "ppl_base": ppl_base, "ppl_base_unc": ppl_base * log_base_unc,
        "ln_ppl_correlation": cov / (log_ppl_unc * log_base_unc) if log_ppl_unc and log_base_unc else float("nan"),
        "ln_ppl_ratio": log_ppl - log_base, "ln_ppl_ratio_unc": ratio_unc,
        "ppl_ratio": np.exp(log_ppl - log_base), "ppl_ratio_unc": np.exp(log_ppl - log_base) * ratio_unc,
        "ppl_diff": ppl - ppl_base,
        "ppl_diff_unc": max((ppl * log_ppl_unc) ** 2 + (ppl_base * log_base_unc) ** 2 - 2 * ppl * ppl_base * cov,
                            0.0) ** 0.5,
    })
    mean_kld, mean_kld_unc = mean_and_uncertainty(kld)
    out.update({"mean_kld": mean_kld, "mean_kld_unc": mean_kld_unc, "max_kld": float(kld.max()),
                "median_kld": float(np.median(kld)), "min_kld": float(kld.min())})
    out.update({f"p{percentile_name(q)}_kld": float(np.percentile(kld, q)) for q in KLD_PERCENTILES})
    mean_dp, mean_dp_unc = mean_and_uncertainty(delta_p)
    out.update({"mean_delta_p": mean_dp, "mean_delta_p_unc": mean_dp_unc, "max_delta_p": float(delta_p.max()),
                "median_delta_p": float(np.median(delta_p)), "min_delta_p": float(delta_p.min())})
    out.update({f"p{percentile_name(q)}_delta_p": float(np.percentile(delta_p, q)) for q in DELTA_P_PERCENTILES})
    squared = delta_p * delta_p
    mse, mse_unc = mean_and_uncertainty(squared)  # llama-perplexity sums Δp^2 and Δp^4
    rms = mse**0.5
    out.update({"rms_delta_p": rms, "rms_delta_p_unc": 0.5 / rms * mse_unc if rms > 0 else 0.0})
    same = float(np.mean(same_top)) if n else 0.0
    out.update({"same_top_p": same, "same_top_p_unc": (same * (1 - same) / (n - 1)) ** 0.5 if n > 1 else 0.0})
    return {k: float(v) for k, v in out.items()}


def percentile_name(q: float) -> str:
    """A percentile in a statistic's name: 99.9 -> "99_9"."""
    return f"{q:g}".replace(".", "_")
