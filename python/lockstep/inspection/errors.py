"""lockstep.FormatError raised from Python, shaped exactly like the ones the C++ readers raise."""

from __future__ import annotations

from pathlib import Path

from lockstep.errors import FormatError


def format_error(path: str | Path, offset: int | None, reason: str) -> FormatError:
    """A FormatError naming the file, the byte offset (None: not tied to one place) and the problem."""
    message = f"{path}: {reason}" if offset is None else f"{path}: at byte {offset}: {reason}"
    error = FormatError(message)
    error.path = str(path)
    error.offset = offset
    error.reason = reason
    return error
