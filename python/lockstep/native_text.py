"""Text <-> ids for the native engine: lockstep's own C++ tokenizer (lockstep.Tokenizer),
built from the model's vocabulary — the GGUF file's tokenizer.ggml.* metadata, or the
Hugging Face folder's tokenizer.json with its tokenizer_config.json.

The engine computes logits only. NativeModel tokenizes through :func:`model_tokenizer`; the
dispatcher's native backend builds the same tokenizer in C++ (src/dispatch/tokenizer_codec.cpp).
"""

from __future__ import annotations

import os
from pathlib import Path

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


def install() -> None:
    """Make the native backend tokenize with lockstep's own C++ tokenizer again: the default,
    undoing a codec set with ``_core.set_native_text_codec``."""
    _core.use_default_native_text_codec()


__all__ = ["install", "model_tokenizer"]
