"""JSON files beside the weights (config.json, tokenizer.json, index files), read with a size limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lockstep.errors import format_error

# Larger than any real config or tokenizer.json (the largest vocabularies are ~35 MB), small
# enough that a hostile file cannot make us allocate without bound.
MAX_JSON_BYTES = 256 * 1024 * 1024


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file; a malformed or oversized one raises FormatError naming the byte offset."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise format_error(path, None, f"{size} bytes is more than the {max_bytes} bytes allowed for a JSON file")
        raw = path.read_bytes()
    except OSError as error:
        raise format_error(path, None, f"cannot read: {error.strerror or error}") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise format_error(path, error.start, "not UTF-8 text") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        offset = len(text[: error.pos].encode("utf-8"))
        raise format_error(path, offset, f"invalid JSON: {error.msg}") from error


def read_json_object(path: Path, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    value = read_json(path, max_bytes)
    if not isinstance(value, dict):
        raise format_error(path, 0, f"expected a JSON object, found {type(value).__name__}")
    return value
