"""Token ids as people read them in a failure message: the id and its piece, from whatever
vocabulary the caller has (a lockstep Tokenizer, a loaded model, a backend)."""

from __future__ import annotations

from typing import Any


def piece_of(tokenizer: Any, token_id: int) -> str | None:
    """The piece of `token_id` as text (undecodable bytes as \\xNN), None without a tokenizer
    or for an id outside its vocabulary."""
    if tokenizer is None or token_id < 0:
        return None
    lookup = getattr(tokenizer, "token_piece", None) or tokenizer.token_to_piece
    try:
        raw = lookup(int(token_id))
    except (IndexError, ValueError, RuntimeError):
        return None
    return raw.decode("utf-8", errors="backslashreplace") if isinstance(raw, bytes) else str(raw)


def describe(tokenizer: Any, token_id: int) -> str:
    """``504 ' Paris'`` (or ``504`` without a tokenizer)."""
    piece = piece_of(tokenizer, token_id)
    return f"{token_id}" if piece is None else f"{token_id} {piece!r}"
