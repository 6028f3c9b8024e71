"""assert_tokens_equal: two token id sequences, and when they differ, where and most likely why,
in the words of the crossval's token-parity gate (src/dispatch/token_gate.cpp)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lockstep import _core
from lockstep.dispatch.report import json_ready

CONTEXT = 4  # tokens shown on each side of the first difference


def assert_tokens_equal(a: Any, b: Any, *, tokenizer: Any = None, text: str = "") -> None:
    """Raise AssertionError unless the id sequences `a` and `b` are equal.

    With `tokenizer` (a lockstep Tokenizer, a loaded model or backend) the message gives both
    tokens' pieces and the likely cause (double-bos, missing-bos, special-not-parsed,
    different-text, different-segmentation), as the crossval's token gate does; `text` is
    the text both were made from, when known.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    ids_a, ids_b = _ids(a, "a"), _ids(b, "b")
    if np.array_equal(ids_a, ids_b):
        return
    if tokenizer is None:
        raise AssertionError(_message_without_tokenizer(ids_a, ids_b))
    backend = tokenizer if isinstance(tokenizer, _core.Backend) else TokenizerBackend(tokenizer)
    vocab = backend.vocab_size()
    outside = [int(i) for i in np.concatenate([ids_a, ids_b]) if not 0 <= i < vocab]
    if outside:
        raise AssertionError(_message_without_tokenizer(ids_a, ids_b)
                             + f"\n(ids outside the tokenizer's vocabulary of {vocab}: {outside[:5]})")
    mismatch = _core.find_token_mismatch(backend, "a", ids_a.tolist(), backend, "b", ids_b.tolist(), text, CONTEXT)
    raise AssertionError(mismatch_message(json_ready(mismatch), len(ids_a), len(ids_b)))


def mismatch_message(m: dict[str, Any], n_a: int, n_b: int, title: str = "Tokens are not equal!") -> str:
    """A token gate mismatch (the dict the dispatcher reports, pieces as bytes or text) as assertion text."""
    lines = [title, "", f"First difference at index {m['index']} (lengths {n_a} and {n_b}): {m['cause']}",
             f"  {m['explanation']}"]
    for side in (m["a"], m["b"]):
        token = "(ended)" if side["id"] < 0 else f"{side['id']} {_text(side['piece'])!r}"
        context = " ".join(f"{i}:{_text(p)!r}" for i, p in zip(side["window_ids"], side["window_pieces"]))
        lines.append(f"  {side['backend']}: {token}   context from index {m['window_start']}: {context}")
    return "\n".join(lines)


def _text(piece: bytes | str) -> str:
    return piece.decode("utf-8", errors="backslashreplace") if isinstance(piece, bytes) else piece


def _message_without_tokenizer(a: np.ndarray, b: np.ndarray) -> str:
    common = min(len(a), len(b))
    differs = np.flatnonzero(a[:common] != b[:common])
    index = int(differs[0]) if len(differs) else common
    start = max(0, index - CONTEXT)

    def side(ids: np.ndarray) -> str:
        token = str(int(ids[index])) if index < len(ids) else "(ended)"
        return f"{token}   context from index {start}: {ids[start:index + CONTEXT + 1].tolist()}"

    return "\n".join([
        "Tokens are not equal!", "",
        f"First difference at index {index} (lengths {len(a)} and {len(b)}; "
        f"{int(np.count_nonzero(a[:common] != b[:common]))} of the first {common} differ)",
        f"  a: {side(a)}",
        f"  b: {side(b)}",
        "(pass tokenizer= for the pieces and the likely cause)",
    ])


def _ids(value: Any, name: str) -> np.ndarray:
    ids = np.asarray(value)
    if ids.ndim != 1 or not (ids.size == 0 or np.issubdtype(ids.dtype, np.integer)):
        raise ValueError(f"{name} must be a 1-D sequence of token ids, got {ids.dtype} of shape {ids.shape}")
    return ids.astype(np.int64)


class TokenizerBackend(_core.Backend):
    """A vocabulary seen through the dispatcher's Backend interface, which the token gate reads
    (pieces, BOS, tokenizing a piece): a lockstep Tokenizer or a loaded model. Computes no logits."""

    def __init__(self, tokenizer: Any):
        _core.Backend.__init__(self)
        self._tokenizer = tokenizer

    def name(self) -> str:
        return "tokenizer"

    def version(self) -> str:
        return ""

    def capabilities(self) -> list[str]:
        return []

    def tokenize(self, text: str, add_special: bool, parse_special: bool) -> np.ndarray:
        encode = getattr(self._tokenizer, "tokenize", None) or self._tokenizer.encode
        return np.asarray(encode(text, add_special=add_special, parse_special=parse_special), dtype=np.int32)

    def token_piece(self, token_id: int) -> bytes:
        lookup = getattr(self._tokenizer, "token_piece", None) or self._tokenizer.token_to_piece
        return lookup(int(token_id))

    def vocab_size(self) -> int:
        size = self._tokenizer.vocab_size
        return int(size() if callable(size) else size)

    def bos_id(self) -> int:
        bos = self._tokenizer.bos_id
        bos = bos() if callable(bos) else bos
        return -1 if bos is None else int(bos)

    def logits(self, ids):
        raise NotImplementedError("a tokenizer computes no logits")
