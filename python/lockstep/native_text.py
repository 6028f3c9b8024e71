"""Text <-> ids for the native engine: lockstep's own C++ tokenizer (lockstep.Tokenizer),
built from the model's vocabulary — the GGUF file's tokenizer.ggml.* metadata, or the
Hugging Face folder's tokenizer.json with its tokenizer_config.json.

The engine computes logits only; NativeModel and the dispatcher's native backend both
tokenize through the codec made here (installed on ``import lockstep``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lockstep import _core
from lockstep.tokenizer import Tokenizer


def model_tokenizer(model_path: str | os.PathLike) -> Tokenizer | None:
    """The tokenizer of a GGUF file or a Hugging Face folder; None when the model has no
    vocabulary. Raises lockstep.FormatError for a malformed one."""
    from lockstep import FormatError

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


class TokenizerTextCodec(_core.TextCodec):
    """lockstep.Tokenizer as the native backend's codec."""

    def __init__(self, tokenizer: Tokenizer):
        _core.TextCodec.__init__(self)
        self._tokenizer = tokenizer

    def tokenize(self, text: str, add_special: bool, parse_special: bool) -> np.ndarray:
        return self._tokenizer.encode(text, add_special=add_special, parse_special=parse_special)

    def token_piece(self, token_id: int) -> bytes:
        return self._tokenizer.token_to_piece(token_id)

    def bos_id(self) -> int:
        bos = self._tokenizer.bos_id
        return -1 if bos is None else bos

    def description(self) -> str:
        return "lockstep tokenizer"


def _make(path: str) -> TokenizerTextCodec | None:
    tokenizer = model_tokenizer(path)
    return None if tokenizer is None else TokenizerTextCodec(tokenizer)  # None: "no tokenizer is available"


def install() -> None:
    """Make the native backend tokenize with lockstep's tokenizer (done on ``import lockstep``)."""
    _core.set_native_text_codec(_make)


__all__ = ["TokenizerTextCodec", "install", "model_tokenizer"]
