"""The named thresholds that decide where a pair of backends diverges, in two bands chosen per
pair from the backends' capabilities (src/dispatch/thresholds.h; measurements in docs/thresholds.md)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lockstep import _core

# Names from the C++ tables (src/dispatch/thresholds.h), the one place they are written.
THRESHOLD_BANDS: tuple[str, ...] = _core.THRESHOLD_BANDS
THRESHOLD_NAMES: tuple[str, ...] = _core.THRESHOLD_NAMES


def default_thresholds() -> dict[str, dict[str, float]]:
    """The named thresholds that decide the first diverging position, per band (docs/thresholds.md)."""
    return _core.thresholds()


def resolve_thresholds(overrides: Mapping[str, float] | None) -> dict[str, dict[str, float]]:
    """Apply overrides to the defaults. ``"max_kl"`` sets both bands, ``"cross-precision.max_kl"``
    (or ``"same-arithmetic.max_kl"``) one band. Unknown names raise ValueError."""
    return _core.thresholds({key: float(value) for key, value in (overrides or {}).items()})


# The bits of failed_checks, in the order the crossval names a position's first broken threshold.
CHECKS: dict[int, str] = dict(_core.CHECKS)


def failed_checks(columns: Mapping[str, np.ndarray], thresholds: Mapping[str, float]) -> np.ndarray:
    """Per position (uint8), the thresholds of one band it breaks as the bits of :data:`CHECKS`;
    0 where it is within all of them. The crossval's own rule (src/dispatch/crossval.cpp),
    over LogitComparison columns."""
    return _core.failed_checks(dict(columns), dict(thresholds))
