"""lockstep's own C++ inference engine on one model: a GGUF file or a Hugging Face folder.

>>> m = NativeModel(path)                  # or lockstep.load(path, backend="native")
>>> logits = m.logits(ids)                # float32 [len(ids), n_vocab]; row i predicts token i+1
>>> logits, layers = m.logits(ids, capture=["attn_out", "l_out"])  # + [n_layer, len(ids), n_embd] each
>>> m.reset(); rows = m.eval(ids[:10]); more = m.eval(ids[10:])      # incremental, with a KV cache
>>> ids = m.tokenize("Hello", add_special=True); text = m.detokenize(ids)  # m.tokenizer: lockstep.Tokenizer

Logits and captured values are numpy views of the engine's own buffers (no copy); the
engine computes without holding the GIL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lockstep import _core
from lockstep.backends.faults import check_fault
from lockstep.errors import FormatError
from lockstep.text.tokenizer import Tokenizer

CAPTURE_POINTS = ("attn_norm", "attn_out", "ffn_inp", "ffn_norm", "ffn_out", "l_out")


class NativeModel:
    """The native engine: one model and one context (KV cache)."""

    def __init__(self, path: str | os.PathLike, n_threads: int | None = None, n_ctx: int | None = None,
                 isa: str | None = None, inject_fault: str | None = None):
        """n_threads: None for every core. n_ctx: context length, None for the model's own.
        isa: instruction set of the kernels ("scalar", "sse4.2", "avx2", "avx512"), None for the best.
        inject_fault: a deliberate mistake from :mod:`lockstep.backends.faults`, for testing comparisons."""
        self._path = os.fspath(path)
        self._engine = _core.NativeModel(self._path, n_threads or 0, n_ctx or 0, isa or "", check_fault(inject_fault))
        self._info = self._engine.info()
        self._tokenizer: Tokenizer | None = None

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
        return list(self._engine.capabilities(model_tokenizer(self._path) is not None))

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

    @property
    def fault(self) -> str | None:
        """The injected fault's name, None for a faithful engine."""
        return self._info["fault"] or None

    @property
    def tokenizer(self) -> Tokenizer:
        """The model's own vocabulary (lockstep.Tokenizer): the GGUF file's, or the folder's
        tokenizer.json with its tokenizer_config.json. Loaded on first use."""
        if self._tokenizer is None:
            tokenizer = model_tokenizer(self._path)
            if tokenizer is None:
                raise ValueError(f"{self._path} has no tokenizer (no tokenizer.ggml.* metadata or tokenizer.json)")
            self._tokenizer = tokenizer
        return self._tokenizer

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = False) -> np.ndarray:
        """Token ids of `text` (int32), as the native backend of crossval tokenizes it.
        add_special adds BOS/EOS as the vocabulary asks; parse_special turns special-token
        text such as "<|im_start|>" into its id."""
        ids = self.tokenizer.encode(text, add_special=add_special, parse_special=parse_special)
        if self.fault == "bos-dropped" and len(ids) and ids[0] == self.tokenizer.bos_id:
            ids = ids[1:]
        return ids

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

    def generate(self, prompt: str, max_tokens: int = 64, temperature: float = 0.0, seed: int = 0,
                 add_special: bool = True) -> Iterator[str]:
        """Text pieces as they are produced: greedy at temperature 0, else seeded sampling."""
        from lockstep.backends.generate import generate

        return generate(self, prompt, max_tokens=max_tokens, temperature=temperature, seed=seed,
                        add_special=add_special)

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


def model_tokenizer(model_path: str | os.PathLike) -> Tokenizer | None:
    """The tokenizer of a GGUF file or a Hugging Face folder; None when the model has no
    vocabulary. Raises FormatError for a malformed one."""
    path = Path(model_path)
    source = path / "tokenizer.json" if path.is_dir() else path
    if not source.exists():
        return None
    try:
        return Tokenizer.from_file(source)
    except FormatError as error:
        if error.reason.startswith("no tokenizer"):  # a GGUF file without tokenizer.ggml.*
            return None
        raise
