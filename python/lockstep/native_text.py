"""Text <-> ids for the native backend, until lockstep's own C++ tokenizer is wired in.

The engine computes logits only. Its text codec here is transformers' tokenizer for the same
model: the folder's tokenizer.json, or for a GGUF file the vocabulary transformers converts
from the file's metadata (a real tokenizer, independent of llama.cpp; on the default model
it gives llama.cpp's ids). Needs the ``hf`` extra; without it the native backend reports
that no tokenizer is available.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from lockstep import _core


@functools.lru_cache(maxsize=8)
def _tokenizer(path: str, modified: float):  # `modified` keys the cache to the file's version
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    model = Path(path)
    if model.is_file():
        return AutoTokenizer.from_pretrained(str(model.parent), gguf_file=model.name)
    return AutoTokenizer.from_pretrained(str(model))


class TransformersTextCodec(_core.TextCodec):
    """transformers' (fast) tokenizer of one model, as the native backend's codec."""

    def __init__(self, model_path: str | os.PathLike):
        _core.TextCodec.__init__(self)
        import transformers

        from lockstep.backends.hf import _BYTE_DECODER, _byte_decoder, _is_byte_level

        path = Path(model_path)
        self._tokenizer = _tokenizer(str(path.resolve()), path.stat().st_mtime)
        self._byte_level = _is_byte_level(self._tokenizer)
        if self._byte_level and not _BYTE_DECODER:
            _BYTE_DECODER.update(_byte_decoder())
        self._byte_decoder = _BYTE_DECODER
        self._special = set(self._tokenizer.all_special_tokens)
        self._added = set(self._tokenizer.added_tokens_decoder)
        self._description = f"transformers {transformers.__version__} tokenizer"

    def tokenize(self, text: str, add_special: bool, parse_special: bool) -> np.ndarray:
        ids = self._tokenizer(text, add_special_tokens=add_special, split_special_tokens=not parse_special)["input_ids"]
        return np.asarray(ids, dtype=np.int32)

    def token_piece(self, token_id: int) -> bytes:
        token = self._tokenizer.convert_ids_to_tokens(int(token_id))
        if token is None:
            return b""
        if token in self._special or token_id in self._added:
            return token.encode("utf-8")
        if self._byte_level:
            return bytes(self._byte_decoder.get(ch, ord(ch) & 0xFF) for ch in token)
        if token.startswith("<0x") and token.endswith(">") and len(token) == 6:  # SentencePiece byte fallback
            return bytes([int(token[3:5], 16)])
        return token.replace("\u2581", " ").encode("utf-8")

    def bos_id(self) -> int:
        bos = self._tokenizer.bos_token_id
        return -1 if bos is None else int(bos)

    def eos_ids(self) -> frozenset[int]:
        """The ids that end a generation: the tokenizer's EOS."""
        eos = self._tokenizer.eos_token_id
        return frozenset() if eos is None else frozenset({int(eos)})

    def description(self) -> str:
        return self._description


def _make(path: str) -> TransformersTextCodec | None:
    from lockstep.preflight import check_packages

    if not check_packages([("transformers", "transformers"), ("tokenizers", "tokenizers")], "").ok:
        return None  # the backend then says that no tokenizer is available
    return TransformersTextCodec(path)


def install() -> None:
    """Make the native backend tokenize with transformers (done on ``import lockstep``)."""
    _core.set_native_text_codec(_make)


__all__ = ["TransformersTextCodec", "install"]
