"""The ggml type each tensor is written in, and its bytes in that type.

The rules are llama.cpp's converter's: 1-D tensors, norms and biases stay F32; everything else
takes the requested type; a tensor whose rows are not a whole number of blocks falls back to F16
(reported). With a ternary type (TQ1_0, TQ2_0, I2_S) only BitNet's ternary projections are
ternary-packed; token embeddings go to F16, as in llama.cpp's TQ files and bitnet.cpp's I2_S files.
"""

from __future__ import annotations

from dataclasses import dataclass

import gguf
import numpy as np

from lockstep.conversion.architectures import TERNARY_TENSORS
from lockstep.formats.quant import quantize

Q = gguf.GGMLQuantizationType
F = gguf.LlamaFileType

# bitnet.cpp's I2_S: 2 bits per weight plus one float32 scale per tensor. Its ids are not in the
# gguf package's enums (upstream ggml dropped id 36), so they are plain integers here.
I2_S = 36
MOSTLY_I2_S = 40
I2_S_BLOCK = 128  # elements packed together: rows must hold a whole number of these
I2_S_SCALE_BYTES = 32  # the float32 scale, padded to 32 bytes, after the packed codes


@dataclass(frozen=True)
class OutputType:
    name: str  # as given on the command line
    ggml_type: int
    file_type: int  # general.file_type
    ternary: bool  # only meaningful for BitNet's ternary weights


OUTPUT_TYPES: dict[str, OutputType] = {
    output.name: output
    for output in (
        OutputType("f32", Q.F32, F.ALL_F32, False),
        OutputType("f16", Q.F16, F.MOSTLY_F16, False),
        OutputType("bf16", Q.BF16, F.MOSTLY_BF16, False),
        OutputType("q8_0", Q.Q8_0, F.MOSTLY_Q8_0, False),
        OutputType("q4_0", Q.Q4_0, F.MOSTLY_Q4_0, False),
        OutputType("q4_1", Q.Q4_1, F.MOSTLY_Q4_1, False),
        OutputType("tq1_0", Q.TQ1_0, F.MOSTLY_TQ1_0, True),
        OutputType("tq2_0", Q.TQ2_0, F.MOSTLY_TQ2_0, True),
        OutputType("i2_s", I2_S, MOSTLY_I2_S, True),
    )
}


def type_name(ggml_type: int) -> str:
    return "I2_S" if ggml_type == I2_S else Q(ggml_type).name


def block_size(ggml_type: int) -> int:
    return I2_S_BLOCK if ggml_type == I2_S else gguf.GGML_QUANT_SIZES[Q(ggml_type)][0]


@dataclass(frozen=True)
class Choice:
    ggml_type: int
    fallback: str | None = None  # why the requested type could not be used


def choose(kind: gguf.MODEL_TENSOR, gguf_name: str, shape: tuple[int, ...], output: OutputType) -> Choice:
    """The type of one tensor (`shape` in numpy order, rows last) for the requested output type."""
    if len(shape) <= 1 or gguf_name.endswith("_norm.weight") or not gguf_name.endswith(".weight"):
        return Choice(Q.F32)
    wanted = output.ggml_type
    if output.ternary and kind not in TERNARY_TENSORS:
        wanted = Q.F16
    row = shape[-1]
    if row % block_size(wanted):
        reason = f"rows of {row} are not a multiple of {type_name(wanted)}'s block of {block_size(wanted)}"
        return Choice(Q.F16, reason)
    return Choice(wanted)


def nbytes(ggml_type: int, shape: tuple[int, ...]) -> int:
    count = int(np.prod(shape))
    if ggml_type == I2_S:
        return count // 4 + I2_S_SCALE_BYTES
    size, type_size = gguf.GGML_QUANT_SIZES[Q(ggml_type)]
    return count // size * type_size


def encode(array: np.ndarray, ggml_type: int) -> np.ndarray:
    """The tensor's bytes in `ggml_type`, as an array whose raw memory is what goes into the file."""
    if ggml_type == Q.F32:
        return np.ascontiguousarray(array, dtype=np.float32)
    if ggml_type == Q.F16:
        return array.astype(np.float16)
    if ggml_type == Q.BF16:
        import ml_dtypes

        return array.astype(ml_dtypes.bfloat16)  # round to nearest even, like ggml
    return quantize(array, type_name(ggml_type)).reshape(-1)  # I2_S comes flat already
