"""Where a divergence starts inside the forward pass, layer by layer.

Across backends (:func:`localize_pair`): one backend of the pair captures its hidden states
(lockstep.backends.capture); the other recomputes every layer *anchored* on them: each of its
layers starts from the first one's residual stream (l_out of the layer before, and ffn_inp
before the feed-forward). Each block's output then differs between the two only by what that
block computes differently. Comparing the states themselves instead would not do: on SmolLM2
Q4_1 even the native engine's scalar and SIMD kernels, which differ only in summation order,
drift apart to a 3% relative error by layer 5, burying a 1% one-layer defect.

The error of a block at a layer is the median over positions of ||b - a|| / ||a||. Its noise
floor is measured on the pair itself: the median of that error over all layers, the layers
being each other's controls (a defect confined to a few layers does not move the median). The
localization is the first layer and point, in forward order, whose error exceeds
:data:`TIMES_FLOOR` times the floor, or a gross error: above :data:`GROSS_ERROR` and
:data:`GROSS_TIMES_FLOOR` times the floor (8-bit rounding does not move one block's output by
5%; but a pair of different precision, transformers' float32 attention against llama.cpp's
8-bit activations, has a floor near 3% whose layers spread to 2x it). A floor above
:data:`BROKEN_FLOOR` is itself the defect, in every layer (no rounding makes a typical block
10% off): the first layer above GROSS_ERROR is then the localization. With the first position
where the error exceeds the limit.

Inside the native engine, for injected faults only (:func:`localize_fault`): the first point
where a faulty run departs from a clean run of the same engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lockstep.backends.capture import ANCHOR_POINTS, CAPTURE_POINTS, LOCAL_POINTS, Anchoring, Capturing
from lockstep.backends.native import NativeModel

# A block's error may be this many times the pair's floor before it counts: measured clean
# pairs stay within 3x of their median (benchmarks/detection_floor.py); a 0.3% perturbation of
# one layer's weights is ~1000x.
TIMES_FLOOR = 30.0
# One block's relative error that no rounding explains: 8-bit activations move a block's
# output by at most ~1% (measured: 0.3% median for llama.cpp's attention against the native
# engine's on SmolLM2 Q4_1).
GROSS_ERROR = 0.05
# ... and it must stand this far above the pair's floor: on the default model with --backend
# all, clean prompts put hf's attention blocks at up to 2.1x a 2.7% floor, i.e. above 5%.
GROSS_TIMES_FLOOR = 4.0
# A floor (a point's median block error over the layers) no correct pair reaches: clean pairs
# on the default model measure at most 0.4% (llama.cpp / native) and 2.9% (hf against either);
# a rotary layout or a KV position wrong in every layer gives 43% and 16%.
BROKEN_FLOOR = 0.10
# Relative errors below this are float32 rounding of the values themselves.
_FLOAT_FLOOR = 1e-6


def block_errors(free: Mapping[str, np.ndarray], anchored: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """point -> [n_layer, n_positions]: ||anchored - free|| / ||free|| per position, for the
    points an anchored capture computes from its anchors alone."""
    out = {}
    for point in LOCAL_POINTS:
        if point not in free or point not in anchored:
            continue
        a = np.asarray(free[point], dtype=np.float64)
        b = np.asarray(anchored[point], dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError(f"captured {point} differs in shape: {a.shape} against {b.shape}")
        scale = np.maximum(np.linalg.norm(a, axis=-1), np.finfo(np.float32).tiny)
        out[point] = np.linalg.norm(b - a, axis=-1) / scale
    return out


def localize_pair(free: Mapping[str, np.ndarray], anchored: Mapping[str, np.ndarray]) -> dict[str, Any] | None:
    """The first layer and point (forward order) whose block error exceeds the floor (see the
    module's docstring), with the first position there and how far above; None if none does."""
    return localize_errors(block_errors(free, anchored))


def localize_errors(errors: Mapping[str, np.ndarray]) -> dict[str, Any] | None:
    """localize_pair on block errors already computed (:func:`block_errors`)."""
    medians = {point: np.median(e, axis=-1) for point, e in errors.items()}  # [n_layer]
    floors = {point: max(float(np.median(m)), _FLOAT_FLOOR) for point, m in medians.items()}
    n_layer = min(len(m) for m in medians.values())
    for layer in range(n_layer):
        for point in LOCAL_POINTS:
            if point not in errors:
                continue
            error, floor = float(medians[point][layer]), floors[point]
            limit = (GROSS_ERROR if floor > BROKEN_FLOOR
                     else min(TIMES_FLOOR * floor, max(GROSS_ERROR, GROSS_TIMES_FLOOR * floor)))
            if error > limit:
                position = int(np.flatnonzero(errors[point][layer] > limit)[0])
                return {"layer": layer, "point": point, "position": position, "error": error,
                        "floor": floor, "times_floor": error / floor}
    return None


@dataclass
class PairLocalization:
    """A pair's layer-by-layer comparison: who anchored on whom, each block's error per layer,
    and the localization (None when no block exceeds its floor)."""
    anchored: str
    anchors_from: str
    layer_errors: dict[str, list[float]]
    found: dict[str, Any] | None

    @property
    def localization(self) -> dict[str, Any] | None:
        return {**self.found, "anchored": self.anchored, "anchors_from": self.anchors_from} if self.found else None

    @property
    def table(self) -> dict[str, Any]:
        """The layer errors as reports carry them: {"anchored", "anchors_from", point: [n_layer]}."""
        return {"anchored": self.anchored, "anchors_from": self.anchors_from, **self.layer_errors}


def localize_between(first: tuple[str, Any], second: tuple[str, Any],
                     free_states: Callable[[str], Mapping[str, np.ndarray] | None],
                     ids_of: Callable[[str], np.ndarray]) -> PairLocalization | None:
    """Localize two backends ``(label, backend)``: the first side's hidden states
    (``free_states(label)``, None when it cannot capture) anchor the other side, which must be
    able to anchor; the second side anchored on the first is tried first, then the reverse.
    None when neither way works (neither side anchors, or a backend's graph lacks a capture
    point: llama.cpp's qwen2 has no attn_out)."""
    for (giver, _), (taker, taker_backend) in ((first, second), (second, first)):
        if not can_anchor(taker_backend):
            continue
        try:
            states = free_states(giver)
            if states is None:
                continue
            anchored = taker_backend.capture_anchored(ids_of(taker), anchors_of(states))
        except RuntimeError:
            continue
        errors = block_errors(states, anchored)  # once: the table and the localization read it
        table = {point: np.median(e, axis=-1).tolist() for point, e in errors.items()}
        return PairLocalization(taker, giver, table, localize_errors(errors))
    return None


def capture_free(name: str, backend: Any, model: Path, ids: np.ndarray, *, inject_fault: str | None = None,
                 n_threads: int | None = None) -> dict[str, np.ndarray] | None:
    """A crossval backend's own hidden states (None when it cannot capture). The dispatcher's
    native backend is the C++ engine itself; it is captured through a NativeModel on the same
    file with the same fault."""
    if isinstance(backend, Capturing):
        return backend.capture(ids)
    if name == "native":
        return NativeModel(model, n_threads=n_threads, inject_fault=inject_fault or None).capture(ids)
    return None


def anchors_of(free: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {point: free[point] for point in ANCHOR_POINTS}


def can_anchor(backend: Any) -> bool:
    return isinstance(backend, Anchoring)


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
