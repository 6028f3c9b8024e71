"""Hidden states inside the forward pass, captured the same way on every backend.

Capturing is an optional capability beside :class:`lockstep.backends.protocol.Model`: a backend
that can, has ``capture(ids, points) -> {point: float32 [n_layer, len(ids), n_embd]}``, the
values of each named point of every layer for ``ids`` evaluated from an empty context. The
points are the native engine's (src/model/capture.h), named after the tensors of llama.cpp's
graph, which each backend maps to its own:

=============  ==========================================  ====================  ==============================
point          what it is                                  llama.cpp tensor      transformers module
=============  ==========================================  ====================  ==============================
attn_norm      attention's input after its RMSNorm         ``attn_norm-N``       input_layernorm output
attn_out       attention after the output projection       ``attn_out-N``        self_attn output
ffn_inp        residual stream after attention             ``ffn_inp-N``         post_attention_layernorm input
ffn_norm       feed-forward's input after its RMSNorm      ``ffn_norm-N``        post_attention_layernorm output
ffn_out        feed-forward after the down projection      ``ffn_out-N``         mlp output
l_out          residual stream after the layer             ``l_out-N``           decoder layer output
=============  ==========================================  ====================  ==============================

Gemma 3 normalizes attention's output before the residual add and the feed-forward's after
the down projection; ``attn_out`` and ``ffn_out`` are the values before those norms, ``ffn_inp``
and ``ffn_norm`` its pre_feedforward_layernorm's input and output.

A backend that can also *anchor* (``capture_anchored``) computes each layer from another
backend's residual stream instead of its own: its ``l_out`` of layer N-1 (the input of layer N)
and its ``ffn_inp`` (the feed-forward's input) are replaced by the given values as its graph
reaches them. Its attention and feed-forward outputs then differ from the other backend's only
by what those blocks themselves compute differently, not by everything accumulated before
them, which makes a one-layer defect visible under the rounding noise of thirty layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

# Forward order inside a layer; the same names as src/model/capture.h's kCapturePointNames.
CAPTURE_POINTS = ("attn_norm", "attn_out", "ffn_inp", "ffn_norm", "ffn_out", "l_out")


@runtime_checkable
class Capturing(Protocol):
    def capture(self, ids: Sequence[int] | np.ndarray, points: Sequence[str] = CAPTURE_POINTS) -> dict[str, np.ndarray]:
        """{point: float32 [n_layer, len(ids), n_embd]} for `ids` from an empty context."""
        ...


# The points an anchored capture replaces, and the points it compares: each of these is computed
# from anchored inputs by one block alone.
ANCHOR_POINTS = ("l_out", "ffn_inp")
LOCAL_POINTS = ("attn_norm", "attn_out", "ffn_norm", "ffn_out")


@runtime_checkable
class Anchoring(Protocol):
    def capture_anchored(self, ids: Sequence[int] | np.ndarray, anchors: dict[str, np.ndarray],
                         points: Sequence[str] = LOCAL_POINTS) -> dict[str, np.ndarray]:
        """Like capture(), each layer computed from `anchors` ({"l_out", "ffn_inp"}: [n_layer, len(ids), n_embd])."""
        ...


def check_points(points: Sequence[str]) -> list[str]:
    """`points` as a list; ValueError naming the known points for an unknown one."""
    unknown = [p for p in points if p not in CAPTURE_POINTS]
    if unknown:
        raise ValueError(f"unknown capture point {unknown[0]!r} (known: {', '.join(CAPTURE_POINTS)})")
    return list(points)
