"""`lockstep kld`'s report on stderr, laid out as llama-perplexity's three blocks."""

from __future__ import annotations

import sys
from typing import TextIO

from lockstep.dispatch.corpus import CorpusDivergence
from lockstep.dispatch.corpus_statistics import DELTA_P_PERCENTILES, KLD_PERCENTILES, percentile_name


def print_divergence(result: CorpusDivergence, file: TextIO = sys.stderr) -> None:
    s = result.statistics
    out = []
    out.append(f"model {result.model}")
    out.append(f"base {result.reference}: {result.versions[result.reference]}")
    out.append(f"test {result.test}: {result.versions[result.test]}")
    out.append(f"{result.n_tokens} tokens, identical on both backends; {result.n_windows} windows of {result.ctx}, "
               f"{int(s['count'])} tokens scored")
    if s["count"] < 100:
        out.append(f"note: only {int(s['count'])} tokens scored (llama-perplexity prints no statistics below 100)")
    out.append("")
    out.append("====== Perplexity statistics ======")
    out.append(f"Mean PPL(test)                : {s['ppl_test']:10.6f} ± {s['ppl_test_unc']:10.6f}")
    out.append(f"Mean PPL(base)                : {s['ppl_base']:10.6f} ± {s['ppl_base_unc']:10.6f}")
    out.append(f"Cor(ln(PPL(test)), ln(PPL(base))): {100 * s['ln_ppl_correlation']:6.2f}%")
    out.append(f"Mean ln(PPL(test)/PPL(base))  : {s['ln_ppl_ratio']:10.6f} ± {s['ln_ppl_ratio_unc']:10.6f}")
    out.append(f"Mean PPL(test)/PPL(base)      : {s['ppl_ratio']:10.6f} ± {s['ppl_ratio_unc']:10.6f}")
    out.append(f"Mean PPL(test)-PPL(base)      : {s['ppl_diff']:10.6f} ± {s['ppl_diff_unc']:10.6f}")
    out.append("")
    out.append("====== KL divergence statistics ======")
    out.append(f"Mean    KLD: {s['mean_kld']:10.6f} ± {s['mean_kld_unc']:10.6f}")
    out.append(f"Maximum KLD: {s['max_kld']:10.6f}")
    for q in KLD_PERCENTILES[:4]:
        out.append(f"{q:4.1f}%   KLD: {s[f'p{percentile_name(q)}_kld']:10.6f}")
    out.append(f"Median  KLD: {s['median_kld']:10.6f}")
    for q in KLD_PERCENTILES[4:]:
        out.append(f"{q:4.1f}%   KLD: {s[f'p{percentile_name(q)}_kld']:10.6f}")
    out.append(f"Minimum KLD: {s['min_kld']:10.6f}")
    out.append("")
    out.append("====== Token probability statistics ======")
    out.append(f"Mean    Δp: {100 * s['mean_delta_p']:6.3f} ± {100 * s['mean_delta_p_unc']:5.3f} %")
    out.append(f"Maximum Δp: {100 * s['max_delta_p']:6.3f}%")
    for q in DELTA_P_PERCENTILES[:5]:
        out.append(f"{q:4.1f}%   Δp: {100 * s[f'p{percentile_name(q)}_delta_p']:6.3f}%")
    out.append(f"Median  Δp: {100 * s['median_delta_p']:6.3f}%")
    for q in DELTA_P_PERCENTILES[5:]:
        out.append(f"{q:4.1f}%   Δp: {100 * s[f'p{percentile_name(q)}_delta_p']:6.3f}%")
    out.append(f"Minimum Δp: {100 * s['min_delta_p']:6.3f}%")
    out.append(f"RMS Δp    : {100 * s['rms_delta_p']:6.3f} ± {100 * s['rms_delta_p_unc']:5.3f} %")
    out.append(f"Same top p: {100 * s['same_top_p']:6.3f} ± {100 * s['same_top_p_unc']:5.3f} %")
    w = result.worst_window
    out.append("")
    out.append(f"worst window {w['window']} (tokens {w['tokens'][0]}..{w['tokens'][1]}): mean KLD {w['mean_kld']:.6f}; "
               f"its largest KLD {w['max_kld']:.6f} predicting token {w['token_index']} {w['token']!r}")
    if w.get("layer_errors") is None and "layer_errors" in w:
        out.append("  not compared layer by layer: neither backend can recompute its layers from the other's")
    elif w.get("localization") is not None:
        loc = w["localization"]
        out.append(f"  localized at layer {loc['layer']} {loc['point']} (position {loc['position']}): error {loc['error']:.3g}, "
                   f"{loc['times_floor']:.1f}x the floor ({loc['anchored']} anchored on {loc['anchors_from']})")
    elif "localization" in w:
        out.append("  layer by layer: no block above its floor")
    print("\n".join(out), file=file)
