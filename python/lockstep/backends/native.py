"""lockstep's own C++ inference engine on one model: a GGUF file or a Hugging Face folder.

>>> m = NativeModel(path)                  # or lockstep.load(path, backend="native")
>>> logits = m.logits(ids)                # float32 [len(ids), n_vocab]; row i predicts token i+1
>>> logits, layers = m.logits(ids, capture=["attn_out", "l_out"])  # + [n_layer, len(ids), n_embd] each
>>> m.reset(); rows = m.eval(ids[:10]); more = m.eval(ids[10:])      # incremental, with a KV cache
>>> ids = m.tokenize("Hello", add_special=True); text = m.detokenize(ids)  # m.tokenizer: lockstep.Tokenizer

Logits and captured values are numpy views of the engine's own buffers (no copy); the
engine computes without holding the GIL.

Threads: ``logits(ids)`` (and ``capture``) may be called from any number of threads on one
model; the calls take turns on its one context and each returns exactly what it would alone.
``eval``, ``reset`` and ``rewind`` carry the context from one call to the next, so one made
while another thread is inside a call on the same model raises ConcurrentUseError instead
of corrupting either; a generation is a sequence of such calls and belongs to one thread.
Separate NativeModel objects are independent and run in parallel.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from lockstep import _core
from lockstep.backends.capture import CAPTURE_POINTS, check_points
from lockstep.backends.faults import check_fault
from lockstep.backends.generate import Generates
from lockstep.errors import ConcurrentUseError
from lockstep.text.tokenizer import Tokenizer


class NativeModel(Generates):
    """The native engine: one model and one context (KV cache)."""

    def __init__(self, path: str | os.PathLike, n_threads: int | None = None, n_ctx: int | None = None,
                 isa: str | None = None, inject_fault: str | None = None, unrounded_activations: bool = False):
        """n_threads: None for every core. n_ctx: context length, None for the model's own.
        isa: instruction set of the kernels ("scalar", "sse4.2", "avx2", "avx512"), None for the best.
        inject_fault: a deliberate mistake from :mod:`lockstep.backends.faults`, for testing comparisons.
        unrounded_activations: multiply quantized weights (each row dequantized) with float32
        activations instead of rounding them to 8 bits as llama.cpp does: slower; what a
        dequantizing engine computes, for the crossval's noise floor."""
        self._path = os.fspath(path)
        self._engine = _core.NativeModel(self._path, n_threads or 0, n_ctx or 0, isa or "", check_fault(inject_fault),
                                         unrounded_activations)
        self._info = self._engine.info()
        self._tokenizer: Tokenizer | None = None
        self._context = threading.Lock()  # held by the thread whose call is using the KV cache

    @property
    def info(self) -> dict[str, Any]:
        """Architecture, shapes, rope, tensor types, kernels and threads in use."""
        return dict(self._info)

    @property
    def n_vocab(self) -> int:
        return int(self._info["n_vocab"])

    def name(self) -> str:
        return "native"

    def version(self) -> str:
        return self._engine.version()

    def capabilities(self) -> list[str]:
        return list(self._engine.capabilities())

    def vocab_size(self) -> int:
        return self.n_vocab

    def bos_id(self) -> int:
        bos = self.tokenizer.bos_id
        return -1 if bos is None else int(bos)

    @property
    def n_past(self) -> int:
        """Tokens in the context so far."""
        return int(self._engine.n_past)

    def reset(self) -> None:
        """Empties the context."""
        with self._exclusive("reset"):
            self._engine.reset()

    def rewind(self, n_keep: int) -> None:
        """Keeps the first n_keep tokens of the context: only what follows is computed again."""
        with self._exclusive("rewind"):
            self._engine.rewind(int(n_keep))

    def logits(self, ids: Sequence[int] | np.ndarray, capture: Sequence[str] | None = None):
        """Logits of every position of `ids` from an empty context: float32 [len(ids), n_vocab].
        With `capture`, also a dict of the named per-layer points, each [n_layer, len(ids), n_embd].
        Safe from several threads at once: the calls take turns (the engine runs without the GIL)."""
        tokens = self._check_ids(ids)
        with self._context:
            self._engine.reset()
            logits, captured = self._engine.eval(tokens, True, list(capture or ()))
        return (logits, captured) if capture else logits

    def capture(self, ids: Sequence[int] | np.ndarray, points: Sequence[str] = CAPTURE_POINTS) -> dict[str, np.ndarray]:
        """{point: float32 [n_layer, len(ids), n_embd]} for `ids` from an empty context
        (lockstep.backends.capture); views of the engine's buffers."""
        _, captured = self.logits(ids, capture=check_points(points))
        return dict(captured)

    def eval(self, ids: Sequence[int] | np.ndarray, capture: Sequence[str] | None = None, last_only: bool = False):
        """Appends `ids` to the context and returns the logits of the new positions
        ([1, n_vocab] with last_only). With `capture`, also the per-layer dict."""
        tokens = self._check_ids(ids)
        with self._exclusive("eval"):
            logits, captured = self._engine.eval(tokens, not last_only, list(capture or ()))
        return (logits, captured) if capture else logits

    @contextmanager
    def _exclusive(self, call: str) -> Iterator[None]:
        """Holds the context lock for a stateful call, or raises ConcurrentUseError at once: such
        a call never waits, since whatever another thread leaves in the KV cache is not what
        this caller's next call expects."""
        if not self._context.acquire(blocking=False):
            raise ConcurrentUseError(
                f"NativeModel.{call}: another thread is using this model's context (KV cache) right now; "
                "eval, reset, rewind and generation keep state between calls and cannot be shared by threads. "
                "Give each thread its own model (lockstep.load), or call logits(ids), which waits its turn")
        try:
            yield
        finally:
            self._context.release()

    @property
    def fault(self) -> str | None:
        """The injected fault's name, None for a faithful engine."""
        return self._info["fault"] or None

    @property
    def tokenizer(self) -> Tokenizer:
        """The model's own vocabulary (lockstep.Tokenizer over the engine's C++ tokenizer): the
        GGUF file's, or the folder's tokenizer.json with its tokenizer_config.json."""
        if self._tokenizer is None:
            core = self._engine.tokenizer
            if core is None:
                raise ValueError(f"{self._path} has no tokenizer (no tokenizer.ggml.* metadata or tokenizer.json)")
            self._tokenizer = Tokenizer(core)
        return self._tokenizer

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = False) -> np.ndarray:
        """Token ids of `text` (int32), exactly as the native backend of crossval tokenizes it
        (an injected bos-dropped fault included). add_special adds BOS/EOS as the vocabulary
        asks; parse_special turns special-token text such as "<|im_start|>" into its id."""
        try:
            return self._engine.tokenize(text, add_special, parse_special)
        except RuntimeError as error:  # the model carries no vocabulary
            raise ValueError(str(error)) from None

    def token_piece(self, token_id: int) -> bytes:
        """The bytes of one token (possibly part of a UTF-8 sequence)."""
        return self.tokenizer.token_to_piece(int(token_id))

    def detokenize(self, ids: Sequence[int] | np.ndarray, skip_special: bool = False) -> str:
        """The text of `ids`; bytes that are not valid UTF-8 become U+FFFD."""
        return self.tokenizer.decode(ids, skip_special=skip_special)

    @property
    def eos_ids(self) -> frozenset[int]:
        """Tokens that end a generation (the vocabulary's EOS and end-of-turn tokens)."""
        eos = self.tokenizer.eos_id
        return frozenset() if eos is None else frozenset({eos})

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
