"""Quantize and dequantize ggml tensor data, bit-identical to gguf.quants (and to bitnet.cpp for I2_S)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lockstep import _core
from lockstep.formats.ggml_types import GGMLTypeInfo, ggml_type

_SUPPORT: dict[int, tuple[bool, bool]] = _core.quant_support()
_I2_S = "I2_S"


def _resolve(type_: str | int, direction: str) -> GGMLTypeInfo:
    info = ggml_type(type_)
    can_dequantize, can_quantize = _SUPPORT.get(info.id, (False, False))
    if not (can_dequantize if direction == "dequantize" else can_quantize):
        supported = sorted(ggml_type(i).name for i, caps in _SUPPORT.items() if caps[direction == "quantize"])
        raise ValueError(f"lockstep cannot {direction} {info.name}; it can {direction}: {', '.join(supported)}")
    return info


def _shape_tuple(shape: int | Sequence[int]) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in dims):
        raise ValueError(f"shape must be non-negative integers, got {shape!r}")
    return tuple(int(d) for d in dims)


def dequantize(raw: bytes | bytearray | memoryview | np.ndarray, ggml_type: str | int, shape: int | Sequence[int]) -> np.ndarray:
    """Decode the raw bytes of a tensor (its blocks as stored in a GGUF file) to float32.

    `shape` is the logical numpy shape (rows last, e.g. (n_rows, row_length)); the byte
    length of `raw` must be exactly what that shape takes in `ggml_type`. An ndarray of any
    dtype is read as its bytes, so a float16 view of an F16 tensor works too. Scales are
    used as stored: zero, subnormal, infinite and NaN scales give what float32 arithmetic
    gives (0 * inf is NaN), exactly as gguf.quants does.
    """
    info = _resolve(ggml_type, "dequantize")
    dims = _shape_tuple(shape)
    if isinstance(raw, np.ndarray):
        data = np.ascontiguousarray(raw).reshape(-1).view(np.uint8)  # no copy when contiguous
    else:
        data = np.frombuffer(raw, dtype=np.uint8)
    n_elements = math.prod(dims)
    row_length = dims[-1] if dims else 1
    return _core.dequantize(data, info.id, n_elements, row_length).reshape(dims)


def quantize(array: np.ndarray, ggml_type: str | int) -> np.ndarray:
    """Encode a float array as `ggml_type` tensor data.

    The result is uint8 shaped like gguf.quants.quantize's, (..., bytes per row), and holds
    the same bytes. The input is converted to float32 first, as gguf.quants does for every
    block type (for F16 it casts float64 straight to float16, which can round differently).
    I2_S follows bitnet.cpp's quantize_i2_s: the scale is max |x| over the whole tensor and
    each weight keeps only its sign (|x| < 1e-6 becomes 0); the result is the flat tensor,
    packed codes then the float32 scale in a 32-byte trailer.
    """
    info = _resolve(ggml_type, "quantize")
    values = np.ascontiguousarray(array, dtype=np.float32)
    row_length = values.shape[-1] if values.ndim else 1
    out = _core.quantize(values.reshape(-1), info.id, row_length)
    if info.name == _I2_S:
        return out
    return out.reshape(*values.shape[:-1], row_length // info.block_size * info.block_bytes)
