"""Where a divergence first shows inside an engine, layer by layer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lockstep.backends.native import CAPTURE_POINTS, NativeModel


def localize_fault(model: str | Path, ids: Sequence[int], fault: str, *, n_threads: int | None = None,
                   relative: float = 1e-6) -> dict[str, Any] | None:
    """Where an injected fault first shows inside the native engine: the first layer and capture
    point (in forward order) whose values differ from a clean run's, and the first position
    there. Both models evaluate ``ids`` twice, as the dispatcher does when it decodes, so that
    a fault in resetting the KV cache shows too. A value differs when it is off by more than
    ``relative`` times the clean run's largest magnitude at that point. None: no difference.
    """
    tokens = np.asarray(ids, dtype=np.int32)
    runs = []
    for injected in (None, fault):
        # Room for both evaluations: a stale cache keeps the first one's tokens.
        engine = NativeModel(model, n_threads=n_threads, n_ctx=2 * len(tokens) + 8, inject_fault=injected)
        engine.logits(tokens)
        _, captured = engine.logits(tokens, capture=CAPTURE_POINTS)
        runs.append({point: np.array(values, copy=True) for point, values in captured.items()})
    clean, faulty = runs
    n_layer = len(clean[CAPTURE_POINTS[0]])
    for layer in range(n_layer):
        for point in CAPTURE_POINTS:
            a, b = clean[point][layer], faulty[point][layer]
            off = np.abs(a - b).max(axis=-1) > relative * max(float(np.abs(a).max()), float(np.finfo(np.float32).tiny))
            if off.any():
                return {"fault": fault, "layer": layer, "point": point, "position": int(np.flatnonzero(off)[0])}
    return None
