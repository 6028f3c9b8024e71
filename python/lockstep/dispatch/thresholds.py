"""The named thresholds that decide where a pair of backends diverges, in two bands chosen per
pair from the backends' capabilities (src/dispatch/thresholds.h; measurements in docs/thresholds.md)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lockstep import _core

THRESHOLD_BANDS = ("same-arithmetic", "cross-precision")


def default_thresholds() -> dict[str, dict[str, float]]:
    """The named thresholds that decide the first diverging position, per band (docs/thresholds.md)."""
    return {band: dict(values) for band, values in _core.default_thresholds().items()}


def resolve_thresholds(overrides: Mapping[str, float] | None) -> dict[str, dict[str, float]]:
    """Apply overrides to the defaults. ``"max_kl"`` sets both bands, ``"cross-precision.max_kl"``
    (or ``"same-arithmetic.max_kl"``) one band. Unknown names raise ValueError."""
    resolved = default_thresholds()
    for key, value in (overrides or {}).items():
        band, _, name = key.rpartition(".")
        bands = [band] if band else list(THRESHOLD_BANDS)
        if any(b not in resolved for b in bands) or name not in resolved[THRESHOLD_BANDS[0]]:
            names = ", ".join(resolved[THRESHOLD_BANDS[0]])
            raise ValueError(f"unknown threshold {key!r}: use NAME or BAND.NAME with NAME one of {names} "
                             f"and BAND one of {', '.join(THRESHOLD_BANDS)}")
        for b in bands:
            resolved[b][name] = float(value)
    return resolved


# The bits of failed_checks, in the order the crossval names a position's first broken threshold.
CHECKS = {1: "cosine", 2: "NMSE", 4: "KL", 8: "top-1"}


def failed_checks(columns: Mapping[str, np.ndarray], thresholds: Mapping[str, float]) -> np.ndarray:
    """Per position (uint8), the thresholds of one band it breaks as the bits of :data:`CHECKS`;
    0 where it is within all of them. The crossval's own rule (src/dispatch/crossval.cpp),
    over LogitComparison columns."""
    return _core.failed_checks(dict(columns), dict(thresholds))
