"""The named thresholds that decide where a pair of backends diverges, in two bands chosen per
pair from the backends' capabilities (src/dispatch/thresholds.h; measurements in docs/thresholds.md)."""

from __future__ import annotations

from collections.abc import Mapping

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
