"""The ggml tensor types, as the C++ core knows them, looked up by name or id."""

from __future__ import annotations

from dataclasses import dataclass

from lockstep import _core


@dataclass(frozen=True)
class GGMLTypeInfo:
    name: str
    id: int
    block_size: int  # elements per block
    block_bytes: int  # bytes per block


_BY_NAME = {name: GGMLTypeInfo(name, *rest) for name, rest in _core.ggml_types().items()}
_BY_ID = {info.id: info for info in _BY_NAME.values()}


def ggml_type(type_: str | int) -> GGMLTypeInfo:
    """Resolve a ggml type given by name (case-insensitive, e.g. "q4_1") or integer id."""
    if isinstance(type_, str):
        info = _BY_NAME.get(type_.upper())
    elif isinstance(type_, int):
        info = _BY_ID.get(type_)
    else:
        raise TypeError(f"ggml type must be a name or an integer id, not {type(type_).__name__}")
    if info is None:
        known = ", ".join(sorted(_BY_NAME))
        raise ValueError(f"unknown ggml type {type_!r}; known types: {known}")
    return info
