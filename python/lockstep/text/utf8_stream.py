"""Token bytes to text as they stream out of a model."""

from __future__ import annotations

import codecs


class Utf8Stream:
    """Bytes in, text out, never cutting a UTF-8 sequence: a token may end in the middle of a
    character (byte-level vocabularies split emoji and CJK across tokens), so its trailing bytes
    wait for the next token. Bytes that can never form a character come out as U+FFFD."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, piece: bytes) -> str:
        return self._decoder.decode(piece)

    def flush(self) -> str:
        """What is left at the end; an incomplete sequence becomes U+FFFD."""
        return self._decoder.decode(b"", final=True)
