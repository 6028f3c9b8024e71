"""The one contract every backend object satisfies, whichever engine is behind it: what
``lockstep.load`` returns, and what the dispatcher calls (the C++ Backend interface,
src/dispatch/backend.h, declares the same methods)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Model(Protocol):
    def name(self) -> str:
        """The backend's registry name: "native", "llama.cpp" or "hf"."""
        ...

    def version(self) -> str:
        """What ran, for the report: package versions and the settings that change arithmetic."""
        ...

    def capabilities(self) -> list[str]:
        """What the backend computes and how (src/dispatch/thresholds.h: float32 arithmetic, ...)."""
        ...

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = False) -> np.ndarray:
        """int32 ids of `text`. add_special: BOS/EOS as the vocabulary asks; parse_special:
        special-token text such as "<|im_start|>" becomes its id."""
        ...

    def detokenize(self, ids: Sequence[int] | np.ndarray, skip_special: bool = False) -> str:
        """The text of `ids`; bytes that are not valid UTF-8 become U+FFFD."""
        ...

    def token_piece(self, token_id: int) -> bytes:
        """The bytes of one token (possibly part of a UTF-8 sequence)."""
        ...

    def vocab_size(self) -> int: ...

    def bos_id(self) -> int:
        """The BOS token's id, -1 when the vocabulary has none."""
        ...

    def logits(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """float32 [len(ids), vocab_size()] from an empty context; row i predicts token i+1."""
        ...


@runtime_checkable
class IncrementalModel(Model, Protocol):
    """A model with one context (KV cache) that grows token by token: what generation and chat
    run on. Every backend is one (native: the engine's session; llama.cpp: its context; hf: a
    transformers DynamicCache)."""

    @property
    def n_past(self) -> int:
        """Tokens in the context so far."""
        ...

    def reset(self) -> None:
        """Empties the context."""
        ...

    def rewind(self, n_keep: int) -> None:
        """Keeps the first n_keep tokens of the context (0 <= n_keep <= n_past)."""
        ...

    def eval(self, ids: Sequence[int] | np.ndarray, *, last_only: bool = False) -> np.ndarray:
        """Appends `ids` to the context; float32 logits of the new positions ([1, vocab] with last_only)."""
        ...

    @property
    def eos_ids(self) -> frozenset[int]:
        """Tokens that end a generation (the vocabulary's end of sequence)."""
        ...
