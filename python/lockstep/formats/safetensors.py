"""safetensors checkpoints read by lockstep's C++ core: a file, a sharded index.json, or a
model folder. Tensors are zero-copy read-only numpy views of the memory map; each view's
base keeps the map alive, so views outlive the checkpoint object.

The validation rules (header limit, dtype x shape = bytes, exact coverage of the data
section, strict shard names) are described in src/formats/safetensors.h.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import ml_dtypes
import numpy as np

from lockstep import _core

# numpy dtypes of the safetensors dtypes whose elements are whole bytes. F8_E4M3 is the
# "fn" variant (finite, NaN only), as in torch and the reference library.
_NUMPY_DTYPES: dict[str, np.dtype] = {
    name: np.dtype(t)
    for name, t in {
        "BOOL": np.bool_,
        "U8": np.uint8,
        "I8": np.int8,
        "U16": np.uint16,
        "I16": np.int16,
        "U32": np.uint32,
        "I32": np.int32,
        "U64": np.uint64,
        "I64": np.int64,
        "F16": np.float16,
        "F32": np.float32,
        "F64": np.float64,
        "C64": np.complex64,
        "BF16": ml_dtypes.bfloat16,
        "F8_E4M3": ml_dtypes.float8_e4m3fn,
        "F8_E5M2": ml_dtypes.float8_e5m2,
        "F8_E4M3FNUZ": ml_dtypes.float8_e4m3fnuz,
        "F8_E5M2FNUZ": ml_dtypes.float8_e5m2fnuz,
        "F8_E8M0": ml_dtypes.float8_e8m0fnu,
    }.items()
}
# Sub-byte types (F4, F6_*) pack several elements per byte, which no numpy dtype can view
# in place: they come as their raw bytes, flat uint8, with the logical shape in TensorInfo.
_PACKED = np.dtype(np.uint8)


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # safetensors name: "F32", "BF16", ...
    shape: tuple[int, ...]  # logical shape, row-major
    nbytes: int
    file: str  # the safetensors file holding the data
    offset: int  # absolute byte offset of the data in `file`


class Tensors(Mapping[str, np.ndarray]):
    """Tensor name -> zero-copy read-only numpy view, made on access."""

    def __init__(self, core: _core.SafetensorsCheckpoint, infos: dict[str, TensorInfo]):
        self._core = core
        self._infos = infos

    def __getitem__(self, name: str) -> np.ndarray:
        info = self._infos[name]
        dtype = _NUMPY_DTYPES.get(info.dtype)
        if dtype is None:
            return self._core.view(name, _PACKED, [info.nbytes])
        return self._core.view(name, dtype, list(info.shape))

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)


class Checkpoint:
    """An opened safetensors checkpoint (see `open`)."""

    def __init__(self, core: _core.SafetensorsCheckpoint):
        # For one file its "__metadata__"; for an index its "metadata" (values as strings).
        self.metadata: dict[str, str] = core.metadata
        self.files: list[str] = core.files
        self.tensor_infos: dict[str, TensorInfo] = {
            name: TensorInfo(name, dtype, shape, nbytes, file, offset)
            for name, dtype, shape, nbytes, file, offset in core.tensor_infos()
        }
        self.tensors = Tensors(core, self.tensor_infos)

    def keys(self) -> list[str]:
        """Tensor names, in the order of their data in the files."""
        return list(self.tensor_infos)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.tensors[name]

    def __contains__(self, name: object) -> bool:
        return name in self.tensor_infos

    def __iter__(self) -> Iterator[str]:
        return iter(self.tensor_infos)

    def __len__(self) -> int:
        return len(self.tensor_infos)

    def __repr__(self) -> str:
        return f"<lockstep.safetensors.Checkpoint: {len(self)} tensors in {len(self.files)} file(s)>"


def open(path: str | os.PathLike[str]) -> Checkpoint:  # noqa: A001 - the reader's entry point, as gguf.open
    """Open a .safetensors file, a *.safetensors.index.json, or a folder holding either.

    Raises lockstep.FormatError (with .path, .offset, .reason) for anything malformed.
    """
    return Checkpoint(_core.safetensors_open(os.fspath(path)))
