"""What two correct implementations of this model file differ by, measured on this prompt.

Each crossval can run a same-engine control on the crossval's model and the prompt's tokens:
two native engines that are both right and differ only in how they round,

- ``cross-precision`` pairs (one side rounds activations to 8 bits, or dequantized the file):
  the native engine as it runs (llama.cpp's 8-bit activations) against the same engine with
  unrounded float32 activations on each dequantized weight row — the difference between
  llama.cpp's arithmetic and a dequantizing engine's (transformers on a GGUF);
- ``same-arithmetic`` pairs: the native engine's SIMD kernels against its scalar reference
  kernels, which differ only in summation order.

A pair is then judged against that floor: each threshold of the pair's band becomes
:data:`TIMES_FLOOR` times the control's worst position, kept within [the absolute minimum,
the fixed band] — tighter than the fixed band where the file allows, never looser. Every
position also gets ``times_floor``: its KL over the control's mean KL. Explicit
``--threshold`` overrides and ``noise_floor=False`` use the fixed bands instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lockstep import _core
from lockstep.backends.native import NativeModel
from lockstep.dispatch.metrics import LogitComparison, compare_logits

# A pair may differ from the reference by this many times the control's worst position before
# a position counts as diverged. Measured on SmolLM2 Q4_1 over tests/data/clean_prompts.json
# (benchmarks/detection_floor.py): clean decode steps reach ~4x the control's worst prompt position, so 4x false-alarms.
TIMES_FLOOR = 8.0
# A pair whose mean KL over the prompt is this many times the control's has a systematic
# error even when no single position stands out (clean SmolLM2 Q4_1 pairs: ~1x).
OVERALL_TIMES_FLOOR = 3.0
# Below these, a threshold would only measure float32 rounding of the logits themselves.
_ABSOLUTE_MINIMUM = {"max_kl": 1e-6, "max_nmse": 1e-6, "one_minus_cosine": 1e-7, "top1_margin": 0.02}

# The capability a native engine declares when every weight is float (src/dispatch/thresholds.h).
FLOAT32_ARITHMETIC: str = _core.FLOAT32_ARITHMETIC

CONTROLS = {
    "cross-precision": "native (8-bit activations) vs native (unrounded float32 activations)",
    "same-arithmetic": "native (SIMD kernels) vs native (scalar kernels)",
}


def measure_noise_floor(model: str | Path, ids: Sequence[int] | np.ndarray, band: str, *, steps: int = 0,
                        n_threads: int | None = None, engine: NativeModel | None = None) -> dict[str, Any]:
    """The control of ``band`` on ``ids`` and, with ``steps``, on the first side's greedy
    continuation of that many tokens (decode steps are judged against the floor too, and a
    model's own continuation is where it is most and least sure). Returns the control's
    description and the floor statistics thresholds derive from. Both sides are the clean
    engine (no injected fault): the floor is what two correct implementations differ by.
    ``engine``: a clean NativeModel already loaded on ``model`` (loaded here if None)."""
    if band not in CONTROLS:
        raise ValueError(f"no noise-floor control for band {band!r}")
    # The engine as it runs: the control's first side, and the one whose continuation it follows.
    engine = engine or NativeModel(model, n_threads=n_threads)
    tokens = np.asarray(ids, dtype=np.int32)
    for _ in range(steps):
        tokens = np.append(tokens, np.int32(np.argmax(engine.logits(tokens)[-1])))
    other: dict[str, Any] = {"unrounded_activations": True} if band == "cross-precision" else {"isa": "scalar"}
    logits = [np.array(engine.logits(tokens)), np.array(NativeModel(model, n_threads=n_threads, **other).logits(tokens))]
    next_tokens = np.append(tokens[1:], -1).astype(np.int32)
    control = compare_logits(logits[0], logits[1], next_tokens, n_threads=n_threads)
    return floor_of(control, band)


def floor_of(control: LogitComparison, band: str) -> dict[str, Any]:
    """The floor statistics of a control's per-position metrics."""
    dp = np.abs(np.nan_to_num(control.p_next_b - control.p_next_a))
    return {
        "control": CONTROLS[band], "band": band, "positions": len(control),
        "mean_kl": float(np.mean(control.kl)), "max_kl": float(np.max(control.kl)),
        "max_nmse": float(np.max(control.nmse)), "max_one_minus_cosine": float(np.max(1 - control.cosine)),
        # How far rounding alone moves a probability: the largest |Δp| of the next token.
        "max_abs_dp": float(np.max(dp)) if len(dp) else 0.0,
        "times_floor": TIMES_FLOOR, "overall_times_floor": OVERALL_TIMES_FLOOR,
    }


def thresholds_from_floor(floor: Mapping[str, Any], band_thresholds: Mapping[str, float]) -> dict[str, float]:
    """A band's thresholds from a floor: TIMES_FLOOR x the control's worst position, within
    [absolute minimum, the fixed band]."""

    def within(value: float, minimum: float, band: float) -> float:
        return float(min(max(value, minimum), band))

    one_minus_cosine = within(TIMES_FLOOR * floor["max_one_minus_cosine"], _ABSOLUTE_MINIMUM["one_minus_cosine"],
                              1 - band_thresholds["min_cosine"])
    return {
        "min_cosine": 1 - one_minus_cosine,
        "max_nmse": within(TIMES_FLOOR * floor["max_nmse"], _ABSOLUTE_MINIMUM["max_nmse"], band_thresholds["max_nmse"]),
        "max_kl": within(TIMES_FLOOR * floor["max_kl"], _ABSOLUTE_MINIMUM["max_kl"], band_thresholds["max_kl"]),
        "top1_margin": within(TIMES_FLOOR * floor["max_abs_dp"], _ABSOLUTE_MINIMUM["top1_margin"],
                              band_thresholds["top1_margin"]),
    }


def times_floor(kl: np.ndarray | float, floor: Mapping[str, Any]) -> np.ndarray:
    """KL (per position, or a mean) over the control's mean KL: how many noise floors it is."""
    return np.asarray(kl, dtype=np.float64) / max(floor["mean_kl"], float(np.finfo(np.float32).tiny))


def judge_pair(pair: Any, floor: Mapping[str, Any]) -> None:
    """Attach the floor to a cross-precision pair with its overall ratio (mean KL over the
    control's), which the pair's verdict reads (PairReport.diverged_stage)."""
    ratio = float(times_floor(float(np.mean(pair.metrics.kl)), floor))
    pair.noise_floor = {**floor, "pair_times_floor": ratio, "overall_diverged": ratio > OVERALL_TIMES_FLOOR}
