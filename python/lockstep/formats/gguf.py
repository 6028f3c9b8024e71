"""GGUF files: metadata as Python values, tensors as zero-copy numpy views of the memory map.

The C++ core validates the whole header when the file is opened (a malformed file raises
lockstep.FormatError naming the path, the byte offset and what was wrong) and never reads
tensor data, so opening a multi-GB file costs only its header. Metadata strings must be
valid UTF-8, as the GGUF format requires: a string that is not is a FormatError at the
offset of its first bad byte, never a lossy decode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

from lockstep import _core
from lockstep.formats.ggml_types import GGMLTypeInfo, ggml_type

# Tensor types that are plain numbers, viewed in their own dtype. Every other type is
# blocks of quantized data, viewed as raw bytes.
_PLAIN_DTYPES: dict[str, np.dtype] = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "F64": np.dtype("<f8"),
    "I8": np.dtype("i1"),
    "I16": np.dtype("<i2"),
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
}


class QuantizedTensor(np.ndarray):
    """The raw uint8 blocks of a quantized tensor, shaped [rows..., bytes per row].

    `ggml_type` and `logical_shape` (numpy order) describe the whole tensor; views with
    another shape (slices, reshapes) drop them, as they would no longer be true. I2_S is
    one flat run of bytes: the packed rows followed by the tensor's 32-byte scale block.
    """

    ggml_type: GGMLTypeInfo | None
    logical_shape: tuple[int, ...] | None

    def __array_finalize__(self, obj: Any) -> None:
        same = obj is not None and getattr(obj, "shape", None) == self.shape
        self.ggml_type = getattr(obj, "ggml_type", None) if same else None
        self.logical_shape = getattr(obj, "logical_shape", None) if same else None


@dataclass(frozen=True)
class TensorInfo:
    name: str
    ggml_type: GGMLTypeInfo
    shape: tuple[int, ...]  # numpy order: the reverse of ggml's ne
    offset: int  # absolute byte offset in the file
    nbytes: int
    n_elements: int


def _view(raw: np.ndarray, info: TensorInfo) -> np.ndarray:
    """Shape the tensor's raw bytes (a zero-copy uint8 view) as the tensor."""
    dtype = _PLAIN_DTYPES.get(info.ggml_type.name)
    if dtype is not None:
        return raw.view(dtype).reshape(info.shape)
    if info.ggml_type.name == "I2_S":
        blocks = raw
    else:
        *rows, row_length = info.shape
        row_bytes = row_length // info.ggml_type.block_size * info.ggml_type.block_bytes
        blocks = raw.reshape(*rows, row_bytes)
    quantized = blocks.view(QuantizedTensor)
    quantized.ggml_type = info.ggml_type
    quantized.logical_shape = info.shape
    return quantized


class TensorViews(Mapping[str, np.ndarray]):
    """Tensor name -> read-only zero-copy numpy view, made on access, in file order."""

    def __init__(self, core: _core.GGUFFile, infos: list[TensorInfo]) -> None:
        self._core = core
        self._infos = {info.name: info for info in infos}

    def __getitem__(self, name: str) -> np.ndarray:
        info = self._infos[name]
        return _view(self._core.tensor_bytes(name), info)

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)


class GGUFFile:
    """An opened GGUF file. Tensor views keep the memory map alive on their own."""

    def __init__(self, core: _core.GGUFFile, path: Path) -> None:
        self._core = core
        self.path = path
        self.version: int = core.version
        self.alignment: int = core.alignment
        self.data_offset: int = core.data_offset  # absolute offset of the data section

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """Key -> value in file order: int, float, bool, str; arrays of numbers as numpy
        arrays, arrays of strings as list[str], arrays of arrays as lists."""
        return self._core.metadata()

    @cached_property
    def metadata_types(self) -> dict[str, str]:
        """Key -> GGUF type name: "UINT32", "STRING", "ARRAY[STRING]", "ARRAY[ARRAY[INT32]]"."""
        return self._core.metadata_types()

    @cached_property
    def tensor_infos(self) -> list[TensorInfo]:
        return [
            TensorInfo(name, ggml_type(type_name), tuple(reversed(ne)), offset, nbytes, n_elements)
            for name, type_name, ne, offset, nbytes, n_elements in self._core.tensor_infos()
        ]

    @cached_property
    def tensors(self) -> TensorViews:
        return TensorViews(self._core, self.tensor_infos)

    # Typed lookups: None (or []) when the key is absent, lockstep.FormatError naming the key,
    # the expected and the actual type when it has another type.
    def get_string(self, key: str) -> str | None:
        return self._core.get_string(key)

    def get_uint(self, key: str) -> int | None:
        """Any integer type; a negative value is an error."""
        return self._core.get_uint(key)

    def get_float(self, key: str) -> float | None:
        """Any float or integer type."""
        return self._core.get_float(key)

    def get_bool(self, key: str) -> bool | None:
        return self._core.get_bool(key)

    def get_strings(self, key: str) -> list[str]:
        return self._core.get_strings(key)

    def get_floats(self, key: str) -> list[float]:
        """An array of any float or integer type, as float32 values."""
        return self._core.get_floats(key)

    def get_ints(self, key: str) -> list[int]:
        """An array of any integer type whose values fit in int64."""
        return self._core.get_ints(key)

    def __repr__(self) -> str:
        return (
            f"GGUFFile({str(self.path)!r}, version={self.version}, "
            f"{len(self.tensor_infos)} tensors, {len(self.metadata_types)} metadata keys)"
        )


def open(path: str | os.PathLike[str]) -> GGUFFile:  # noqa: A001 - lockstep.gguf.open is the public name
    """Map and validate a GGUF file (versions 2 and 3); raises lockstep.FormatError if malformed."""
    path = Path(path)
    return GGUFFile(_core.gguf_open(os.fspath(path)), path)
