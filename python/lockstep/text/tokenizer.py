"""Tokenizers of GGUF files and Hugging Face tokenizer.json files, in C++ (lockstep._core)."""

from __future__ import annotations

from os import PathLike
from typing import Iterable, Iterator, Sequence

import numpy as np

from lockstep import _core


class Tokenizer:
    """Text <-> token ids with exact Hugging Face / llama.cpp parity.

    ``encode`` raises ValueError for text that cannot be UTF-8 (lone surrogates); ``decode``
    and ``token_to_piece`` raise ValueError for ids outside the vocabulary; loading raises
    lockstep.FormatError for a malformed or unsupported file.
    """

    def __init__(self, core: _core.Tokenizer) -> None:
        self._core = core

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> "Tokenizer":
        """A .gguf file or a tokenizer.json (tokenizer_config.json beside it is read too)."""
        return cls(_core.Tokenizer.from_file(str(path)))

    def encode(self, text: str, add_special: bool = False, parse_special: bool = False) -> np.ndarray:
        """Token ids (int32). add_special adds the vocabulary's BOS/EOS (or CLS/SEP);
        parse_special turns special-token text such as "<|im_start|>" into its id."""
        return self._core.encode(text, add_special, parse_special)

    def encode_bytes(self, text: bytes, add_special: bool = False, parse_special: bool = False) -> np.ndarray:
        """As encode, for UTF-8 bytes; invalid UTF-8 raises ValueError."""
        return self._core.encode_bytes(text, add_special, parse_special)

    def decode(self, ids: Sequence[int] | np.ndarray, skip_special: bool = False) -> str:
        """The text of the ids; bytes that do not form UTF-8 become U+FFFD."""
        return self._core.decode_bytes(np.asarray(ids), skip_special).decode("utf-8", errors="replace")

    def token_to_piece(self, token_id: int) -> bytes:
        """One token's bytes (a multi-byte character may span several tokens)."""
        return self._core.token_to_piece(token_id)

    def token_text(self, token_id: int) -> str:
        """The token as the vocabulary stores it."""
        return self._core.token_text(token_id)

    def stream(self, ids: Iterable[int], skip_special: bool = False) -> Iterator[str]:
        """Text as the ids arrive, never splitting a UTF-8 character."""
        decoder = _core.StreamingDecoder(self._core, skip_special)
        for token_id in ids:
            piece = decoder.push(token_id)
            if piece:
                yield piece
        rest = decoder.flush()
        if rest:
            yield rest

    @property
    def vocab_size(self) -> int:
        return self._core.vocab_size

    @property
    def bos_id(self) -> int | None:
        return self._core.bos_id

    @property
    def eos_id(self) -> int | None:
        return self._core.eos_id

    @property
    def add_bos(self) -> bool:
        return self._core.add_bos

    @property
    def add_eos(self) -> bool:
        return self._core.add_eos
