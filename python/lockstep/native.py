"""lockstep's own C++ inference engine on one model: a GGUF file or a Hugging Face folder.

>>> m = NativeModel(path)                  # or lockstep.load(path, backend="native")
>>> logits = m.logits(ids)                # float32 [len(ids), n_vocab]; row i predicts token i+1
>>> logits, layers = m.logits(ids, capture=["attn_out", "l_out"])  # + [n_layer, len(ids), n_embd] each
>>> m.reset(); rows = m.eval(ids[:10]); more = m.eval(ids[10:])      # incremental, with a KV cache

Logits and captured values are numpy views of the engine's own buffers (no copy); the
engine computes without holding the GIL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from lockstep import _core

CAPTURE_POINTS = ("attn_norm", "attn_out", "ffn_inp", "ffn_norm", "ffn_out", "l_out")


class NativeModel:
    """The native engine: one model and one context (KV cache)."""

    def __init__(self, path: str | os.PathLike, n_threads: int | None = None, n_ctx: int | None = None,
                 isa: str | None = None):
        """n_threads: None for every core. n_ctx: context length, None for the model's own.
        isa: instruction set of the kernels ("scalar", "sse4.2", "avx2", "avx512"), None for the best."""
        self._engine = _core.NativeModel(os.fspath(path), n_threads or 0, n_ctx or 0, isa or "")
        self._info = self._engine.info()

    @property
    def info(self) -> dict[str, Any]:
        """Architecture, shapes, rope, tensor types, kernels and threads in use."""
        return dict(self._info)

    @property
    def n_vocab(self) -> int:
        return int(self._info["n_vocab"])

    @property
    def n_past(self) -> int:
        """Tokens in the context so far."""
        return int(self._engine.n_past)

    def reset(self) -> None:
        """Empties the context."""
        self._engine.reset()

    def logits(self, ids: Sequence[int] | np.ndarray, capture: Sequence[str] | None = None):
        """Logits of every position of `ids` from an empty context: float32 [len(ids), n_vocab].
        With `capture`, also a dict of the named per-layer points, each [n_layer, len(ids), n_embd]."""
        self.reset()
        return self.eval(ids, capture=capture)

    def eval(self, ids: Sequence[int] | np.ndarray, capture: Sequence[str] | None = None, last_only: bool = False):
        """Appends `ids` to the context and returns the logits of the new positions
        ([1, n_vocab] with last_only). With `capture`, also the per-layer dict."""
        tokens = self._check_ids(ids)
        logits, captured = self._engine.eval(tokens, not last_only, list(capture or ()))
        return (logits, captured) if capture else logits

    def _check_ids(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        array = np.asarray(ids)
        if array.ndim != 1:
            raise ValueError(f"ids must be a 1-d sequence of token ids, got shape {array.shape}")
        if array.size == 0:
            raise ValueError("no tokens to evaluate")
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"token ids must be integers, got {array.dtype}")
        # Checked before narrowing to int32, which would wrap huge values into range.
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= self.n_vocab:
            bad = low if low < 0 else high
            raise ValueError(f"token id {bad} is outside the vocabulary [0, {self.n_vocab})")
        return array.astype(np.int32, copy=False)
