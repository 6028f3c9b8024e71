"""assert_logits_close: two ``[positions, vocab]`` logit arrays within one band's thresholds,
judged by the crossval's own rule (lockstep.dispatch.thresholds.failed_checks), with a failure
message in the manner of numpy.testing and torch.testing."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lockstep.dispatch.metrics import LogitComparison, compare_logits
from lockstep.dispatch.report_text import plain_text, position_table
from lockstep.dispatch.thresholds import CHECKS, THRESHOLD_BANDS, default_thresholds, failed_checks
from lockstep.testing.pieces import describe

DEFAULT_BAND = "same-arithmetic"
# Rows of the table in a failure message: all of them up to this many, else the ones around
# the first failing position, the worst one and the last.
TABLE_ROWS = 16


def assert_logits_close(
    actual: Any,
    desired: Any,
    *,
    max_kl: float | None = None,
    min_cosine: float | None = None,
    max_nmse: float | None = None,
    top1: bool | float = True,
    band: str | None = None,
    tokenizer: Any = None,
) -> LogitComparison:
    """Raise AssertionError unless every position of `actual` is within the thresholds of
    `desired` (the reference): ``[positions, vocab]`` arrays, numpy or anything with
    ``__array__`` (torch tensors).

    The thresholds are those of `band` (``"same-arithmetic"``, the default: both sides compute
    in float32; ``"cross-precision"``: one side rounds activations, e.g. a quantized file on two
    engines), as measured in docs/thresholds.md; `max_kl`, `min_cosine` and `max_nmse` override
    single ones. `top1`: True fails a top-1 flip where `desired` preferred its own top-1 by more
    than the band's ``top1_margin``, a number sets that margin, False ignores flips.
    `tokenizer` (a lockstep Tokenizer or a loaded model) adds the tokens' pieces to the message.
    Returns the per-position metrics.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    limits = _limits(band, max_kl=max_kl, min_cosine=min_cosine, max_nmse=max_nmse, top1=top1)
    a, b = _as_logits(desired, "desired"), _as_logits(actual, "actual")
    if a.shape != b.shape:
        raise AssertionError(f"Logits are not close!\n\nShapes differ: actual {b.shape}, desired {a.shape}")
    metrics = compare_logits(a, b)
    failed = failed_checks(metrics.columns, limits)
    if failed.any():
        raise AssertionError(_message(metrics, failed, limits, band or DEFAULT_BAND, a, b, tokenizer))
    return metrics


def _limits(band: str | None, *, max_kl, min_cosine, max_nmse, top1) -> dict[str, float]:
    band = band or DEFAULT_BAND
    if band not in THRESHOLD_BANDS:
        raise ValueError(f"unknown band {band!r}; choose one of {', '.join(THRESHOLD_BANDS)}")
    limits = default_thresholds()[band]
    for name, value in (("max_kl", max_kl), ("min_cosine", min_cosine), ("max_nmse", max_nmse)):
        if value is not None:
            limits[name] = float(value)
    if top1 is False:
        limits["top1_margin"] = math.inf
    elif top1 is not True:
        limits["top1_margin"] = float(top1)
    return limits


def _as_logits(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, perhaps on another device or requiring grad
        value = value.detach().cpu()
    array = np.asarray(value, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"{name} must be logits of shape [positions, vocab], got shape {array.shape}")
    return np.ascontiguousarray(array)


def _message(metrics: LogitComparison, failed: np.ndarray, limits: dict[str, float], band: str,
             desired: np.ndarray, actual: np.ndarray, tokenizer: Any) -> str:
    c = metrics.columns
    n = len(metrics)
    failing = np.flatnonzero(failed)
    first = int(failing[0])
    worst = int(np.nanargmax(np.where(np.isnan(c["kl"]), np.inf, c["kl"])))
    counts = ", ".join(f"{name} at {int(np.count_nonzero(failed & bit))}" for bit, name in CHECKS.items()
                       if np.any(failed & bit))
    lines = [
        "Logits are not close!",
        "",
        f"Diverging positions: {len(failing)} / {n} ({100 * len(failing) / n:.1f}%) "
        f"in the {band} band (docs/thresholds.md)",
        f"Failed checks: {counts}",
        f"First diverging position: {first}",
        "  " + _values(c, first, limits),
        "  " + _top1(c, first, limits, tokenizer),
        f"Greatest KL: {c['kl'][worst]:.3g} at position {worst} (up to {limits['max_kl']:g} allowed)",
        "  " + _top1(c, worst, limits, tokenizer),
    ]
    for name, array in (("actual", actual), ("desired", desired)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            lines.append(f"{name} has {bad} non-finite values (NaN or infinity)")
    if band == "same-arithmetic":
        cross = {**default_thresholds()["cross-precision"]}
        if not failed_checks(c, cross).any():
            lines.append("Within the cross-precision band: pass band='cross-precision' if the two sides round "
                         "differently (a quantized model on two engines)")
    table = position_table(metrics, None, rows=_table_rows(n, first, worst), failing=set(failing.tolist()),
                           top1_header="top-1 desired/actual")
    return "\n".join(lines) + "\n\n" + plain_text(table).rstrip()


def _values(c: dict[str, np.ndarray], i: int, limits: dict[str, float]) -> str:
    return (f"cosine {c['cosine'][i]:.6f} (down to {limits['min_cosine']:g} allowed), "
            f"NMSE {c['nmse'][i]:.3g} (up to {limits['max_nmse']:g} allowed), "
            f"KL {c['kl'][i]:.3g} (up to {limits['max_kl']:g} allowed)")


def _top1(c: dict[str, np.ndarray], i: int, limits: dict[str, float], tokenizer: Any) -> str:
    a, b = int(c["top1_a"][i]), int(c["top1_b"][i])
    text = f"top-1: actual {describe(tokenizer, b)}, desired {describe(tokenizer, a)}"
    if a != b:
        text += f"; desired's margin {c['top1_margin'][i]:.3g} (up to {limits['top1_margin']:g} allowed)"
    return text


def _table_rows(n: int, first: int, worst: int) -> list[int]:
    if n <= TABLE_ROWS:
        return list(range(n))
    around = range(max(0, first - 3), min(n, first + TABLE_ROWS // 2))
    return sorted({0, *around, worst, n - 1})
