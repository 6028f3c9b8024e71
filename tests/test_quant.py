"""lockstep.dequantize / lockstep.quantize: bit for bit against the gguf package's numpy
implementation (gguf.quants), and against bitnet.cpp's definition of I2_S."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import dequantize as gguf_dequantize
from gguf.quants import quantize as gguf_quantize

import lockstep as ls

DEQUANTIZE_TYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                    "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "TQ1_0", "TQ2_0", "MXFP4", "NVFP4"]
# gguf.quants quantizes MXFP4 but not NVFP4 (its NVFP4 class has no quantize_blocks).
QUANTIZE_TYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "TQ1_0", "TQ2_0", "MXFP4"]
BLOCK_TYPES = [t for t in DEQUANTIZE_TYPES if GGML_QUANT_SIZES[GGMLQuantizationType[t]][0] > 1]

# Byte offsets of the float16 scales (d, and dmin/m where there is one) inside a block,
# from the field order gguf.quants splits each block into.
SCALE_OFFSETS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
    "TQ1_0": [52], "TQ2_0": [64],
}

# float16 bit patterns a scale can hold at its edges: zeros, subnormals, the smallest
# normal, the largest finite, infinities, quiet and signalling NaNs with payloads.
EDGE_F16 = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0200, 0x0400, 0x3C00, 0x7BFF, 0xFBFF,
            0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7D55, 0xFFFF]


def sizes(name: str) -> tuple[int, int]:
    return GGML_QUANT_SIZES[GGMLQuantizationType[name]]


def reference_dequantize(raw_rows: np.ndarray, name: str) -> np.ndarray:
    with np.errstate(all="ignore"):  # NaN/inf scales are the point of some tests
        return gguf_dequantize(raw_rows, GGMLQuantizationType[name])


def reference_quantize(values: np.ndarray, name: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.ascontiguousarray(gguf_quantize(values, GGMLQuantizationType[name])).view(np.uint8)


def assert_same_bits(ours: np.ndarray, reference: np.ndarray) -> None:
    """Equal as bit patterns: NaN equals NaN only with the same payload, -0 differs from +0."""
    assert ours.dtype == np.float32 and reference.dtype == np.float32
    assert ours.shape == reference.shape
    np.testing.assert_array_equal(ours.view(np.uint32), reference.view(np.uint32))


def row_bytes(name: str, row_length: int) -> int:
    block_size, block_bytes = sizes(name)
    return row_length // block_size * block_bytes


# --- dequantization -----------------------------------------------------------------------


@pytest.mark.parametrize("name", DEQUANTIZE_TYPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rows_shape", [(1,), (3,), (2, 3)])
def test_dequantize_random_bytes_matches_gguf(name: str, seed: int, rows_shape: tuple[int, ...]) -> None:
    # Arbitrary bytes: every scale bit pattern occurs, NaN/inf/subnormal/zero included.
    block_size, _ = sizes(name)
    row_length = block_size * (seed + 1) * (4 if block_size < 32 else 1)
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, (*rows_shape, row_bytes(name, row_length)), dtype=np.uint8)
    ours = ls.dequantize(raw, name, (*rows_shape, row_length))
    assert_same_bits(ours, reference_dequantize(raw, name))


@pytest.mark.parametrize("name", [t for t in BLOCK_TYPES if t in SCALE_OFFSETS])  # float16 scales
def test_dequantize_edge_scales_matches_gguf(name: str) -> None:
    # One block per combination of edge values in the type's scale fields (d x dmin).
    block_size, block_bytes = sizes(name)
    offsets = SCALE_OFFSETS[name]
    combos = np.array(np.meshgrid(*[EDGE_F16] * len(offsets))).reshape(len(offsets), -1).T
    rng = np.random.default_rng(7)
    raw = rng.integers(0, 256, (len(combos), block_bytes), dtype=np.uint8)
    for field, offset in enumerate(offsets):
        raw[:, offset:offset + 2] = combos[:, field].astype("<u2").view(np.uint8).reshape(-1, 2)
    reference = reference_dequantize(raw, name)
    # The offsets really are the scales: blocks whose scales are all +0 decode to zeros.
    zero_blocks = (combos == 0).all(axis=1)
    assert zero_blocks.any() and (reference[zero_blocks] == 0).all()
    assert_same_bits(ls.dequantize(raw, name, (len(combos), block_size)), reference)


@pytest.mark.parametrize("name", BLOCK_TYPES)
def test_dequantize_all_zero_blocks(name: str) -> None:
    block_size, block_bytes = sizes(name)
    raw = np.zeros((2, 3 * block_bytes), dtype=np.uint8)
    ours = ls.dequantize(raw, name, (2, 3 * block_size))
    assert_same_bits(ours, reference_dequantize(raw, name))


@pytest.mark.parametrize("name", ["F16", "BF16"])
def test_dequantize_every_16_bit_pattern(name: str) -> None:
    raw = np.arange(1 << 16, dtype=np.uint32).astype("<u2").view(np.uint8)
    ours = ls.dequantize(raw, name, (256, 256))
    assert_same_bits(ours, reference_dequantize(raw.reshape(256, 512), name))


def test_dequantize_real_model_tensors() -> None:
    # SmolLM2-135M's Q4_1 and Q8_0 weights as lockstep.gguf maps them from the file.
    tensors = ls.gguf.open(ls.default_model_path()).tensors
    for name, rows in [("blk.0.ffn_down.weight", None), ("token_embd.weight", 256)]:
        tensor = tensors[name]
        data = tensor if rows is None else tensor[:rows]
        shape = (data.shape[0], tensor.logical_shape[-1])
        type_name = tensor.ggml_type.name
        assert_same_bits(ls.dequantize(data, type_name, shape), reference_dequantize(np.asarray(data), type_name))


# --- quantization -------------------------------------------------------------------------


@pytest.mark.parametrize("name", QUANTIZE_TYPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [(256,), (4, 512), (2, 3, 256)])
def test_quantize_random_matches_gguf(name: str, seed: int, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(seed)
    magnitude = [1.0, 1e-3, 1e4][seed]
    values = (rng.standard_normal(shape) * magnitude).astype(np.float32)
    ours = ls.quantize(values, name)
    reference = reference_quantize(values, name)
    assert ours.dtype == np.uint8 and ours.shape == reference.shape
    np.testing.assert_array_equal(ours, reference)


def edge_rows() -> dict[str, np.ndarray]:
    """256-element rows (a whole block for every type) at the edges of the float range."""
    rng = np.random.default_rng(11)
    normal = rng.standard_normal(256).astype(np.float32)
    rows = {
        "zeros": np.zeros(256),
        "negative zeros": np.full(256, -0.0),
        "constant positive": np.full(256, 1.5),
        "constant negative": np.full(256, -3.25),
        "constant 65504": np.full(256, 65504.0),
        "alternating +-65504": np.tile([65504.0, -65504.0], 128),
        "above f16 range": normal * 1e5,
        "1e30 among normals": np.where(np.arange(256) % 37 == 5, 1e30, normal),
        "-1e30 among normals": np.where(np.arange(256) % 41 == 3, -1e30, normal),
        "float32 max": np.where(np.arange(256) % 2 == 0, 3.4028235e38, -3.4028235e38 / 3),
        "tiny": normal * 1e-30,
        "f16 subnormal range": normal * 1e-6,
        "float32 subnormals": normal * 1e-40,
        "smallest subnormal": np.full(256, 1e-45),
        "one nonzero": np.where(np.arange(256) == 77, -2.5, 0.0),
        "halves": np.arange(256) * 0.5 - 64,
        "infinity": np.where(np.arange(256) == 9, np.inf, normal),
        "minus infinity": np.where(np.arange(256) == 200, -np.inf, normal),
        "nan": np.where(np.arange(256) == 31, np.nan, normal),
        "all nan": np.full(256, np.nan),
    }
    return {label: row.astype(np.float32) for label, row in rows.items()}


@pytest.mark.parametrize("name", QUANTIZE_TYPES)
def test_quantize_edge_values_match_gguf(name: str) -> None:
    rows = edge_rows()
    values = np.stack(list(rows.values()))
    ours = ls.quantize(values, name)
    reference = reference_quantize(values, name)
    for i, label in enumerate(rows):
        np.testing.assert_array_equal(ours[i], reference[i], err_msg=f"{name}, row {label!r}")


@pytest.mark.parametrize("name", [t for t in QUANTIZE_TYPES if t not in ("Q4_1", "Q5_1")])
def test_quantize_mixed_signed_zeros_match_gguf(name: str) -> None:
    rng = np.random.default_rng(3)
    values = np.where(rng.integers(0, 2, (16, 256)) == 1, -0.0, 0.0).astype(np.float32)
    np.testing.assert_array_equal(ls.quantize(values, name), reference_quantize(values, name))


def _numpy_reduces_in_8_lanes() -> bool:
    from numpy._core._multiarray_umath import __cpu_features__ as cpu

    return bool(cpu.get("AVX2")) and not cpu.get("AVX512F")


@pytest.mark.skipif(not _numpy_reduces_in_8_lanes(), reason="numpy's min/max here is not its 8-lane AVX2 reduction")
@pytest.mark.parametrize("name", ["Q4_1", "Q5_1"])
def test_quantize_mixed_signed_zero_extremes_match_gguf(name: str) -> None:
    # Whether block.min()/max() returns +0 or -0 depends on numpy's reduction order,
    # which lockstep reproduces for numpy's AVX2 build.
    # Blocks whose extreme is a zero of both signs, some with the zeros only in the first 24
    # elements (numpy folds the last 7 in one by one, the others lane by lane).
    rng = np.random.default_rng(5)
    zeros = np.where(rng.integers(0, 2, (128, 32)) == 1, -0.0, 0.0)
    above = rng.integers(0, 3, (128, 32)) == 0
    above[:64, 24:] = True
    blocks = np.where(above, rng.random((128, 32)) + 0.1, zeros)
    values = np.concatenate([blocks, -blocks]).astype(np.float32)
    np.testing.assert_array_equal(ls.quantize(values, name), reference_quantize(values, name))


@pytest.mark.parametrize("name", ["F16", "BF16"])
def test_quantize_float32_bit_patterns_match_numpy(name: str) -> None:
    # Random float32 bit patterns plus the rounding boundaries of float16.
    rng = np.random.default_rng(13)
    boundaries = [0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x38800000, 0x387FFFFF, 0x387FE000,
                  0x33000000, 0x33000001, 0x32FFFFFF, 0x33800000, 0x7F800000, 0x7F800001, 0x7FC00000,
                  0x7F801FFF, 0x7FFFFFFF, 0x00000001, 0x3F7FFFFF, 0x3F800FFF, 0x3F801000, 0x3F801001]
    bits = np.concatenate([rng.integers(0, 1 << 32, 1 << 20, dtype=np.uint64).astype(np.uint32),
                           np.array(boundaries, dtype=np.uint32), np.array(boundaries, dtype=np.uint32) | 0x80000000])
    values = bits.view(np.float32)
    np.testing.assert_array_equal(ls.quantize(values, name), reference_quantize(values, name))


def test_quantize_output_shapes_like_gguf() -> None:
    values = np.ones((2, 3, 512), dtype=np.float64)  # float64 input is converted to float32
    assert ls.quantize(values, "Q4_0").shape == (2, 3, 512 // 32 * 18)
    assert ls.quantize(values, "F16").shape == (2, 3, 1024)
    assert ls.quantize(np.float32(1.0), "F32").shape == (4,)


# --- type names and argument checks -------------------------------------------------------


def test_type_given_by_name_any_case_or_id() -> None:
    rng = np.random.default_rng(0)
    values = rng.standard_normal((2, 64)).astype(np.float32)
    by_name = ls.quantize(values, "Q4_1")
    np.testing.assert_array_equal(ls.quantize(values, "q4_1"), by_name)
    np.testing.assert_array_equal(ls.quantize(values, 3), by_name)
    assert_same_bits(ls.dequantize(by_name, 3, (2, 64)), ls.dequantize(by_name, "q4_1", (2, 64)))


def test_accepts_bytes_and_typed_views() -> None:
    values = np.linspace(-2, 2, 64, dtype=np.float32)
    raw = ls.quantize(values, "F16")
    assert_same_bits(ls.dequantize(raw.tobytes(), "F16", 64), ls.dequantize(raw.view(np.float16), "F16", (64,)))


@pytest.mark.parametrize(
    ("raw_len", "type_", "shape", "message"),
    [
        (17, "Q4_0", (32,), "must be 18 bytes, got 17"),
        (19, "Q4_0", (32,), "must be 18 bytes, got 19"),
        (18, "Q4_0", (16,), "multiple of 32"),
        (36, "Q4_0", (2, 16), "multiple of 32"),
        (40, "I2_S", (128,), "must be 64 bytes, got 40"),
        (8, "F16", (2, -2), "non-negative"),
        (8, "F16", (2.0, 2), "non-negative"),
        (8, "IQ2_XXS", (256,), "cannot dequantize IQ2_XXS"),
        (16, "MXFP4", (32,), "must be 17 bytes, got 16"),
        (33, "MXFP4", (2, 32), "must be 34 bytes, got 33"),
        (17, "MXFP4", (16,), "multiple of 32"),
        (35, "NVFP4", (64,), "must be 36 bytes, got 35"),
        (36, "NVFP4", (2, 32), "multiple of 64"),
        (8, "NOT_A_TYPE", (4,), "unknown ggml type"),
        (8, 99, (4,), "unknown ggml type"),
    ],
)
def test_dequantize_rejects_bad_arguments(raw_len: int, type_: str | int, shape: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ls.dequantize(np.zeros(raw_len, dtype=np.uint8), type_, shape)


@pytest.mark.parametrize(
    ("shape", "type_", "message"),
    [((48,), "Q8_0", "multiple of 32"), ((256,), "Q6_K", "cannot quantize Q6_K"), ((100,), "I2_S", "multiple of 128"),
     ((48,), "MXFP4", "multiple of 32"), ((64,), "NVFP4", "cannot quantize NVFP4")],
)
def test_quantize_rejects_bad_arguments(shape: tuple, type_: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ls.quantize(np.zeros(shape, dtype=np.float32), type_)


@pytest.mark.parametrize(("name", "row_length"), [("Q4_0", 32), ("F16", 0), ("I2_S", 128)])
def test_empty_tensors(name: str, row_length: int) -> None:
    # No bytes at all, not even I2_S's trailer (bitnet.cpp's ggml_nbytes is 0 for them too).
    assert ls.dequantize(b"", name, (0, row_length)).shape == (0, row_length)
    assert ls.quantize(np.zeros((0, row_length), dtype=np.float32), name).size == 0


# --- I2_S (bitnet.cpp) --------------------------------------------------------------------
#
# Facts verified in Microsoft's bitnet.cpp sources: src/ggml-bitnet-mad.cpp quantize_i2_s
# (x86 layout, QK_I2 = 128) and 3rdparty/llama.cpp/ggml/src/ggml.c (type traits: block 1,
# type size 1; ggml_nbytes: n / 4 + 32 for I2_S):
I2S_TYPE_ID = 36             # GGML_TYPE_I2_S in bitnet.cpp's ggml
I2S_BLOCK = 128              # elements per block
I2S_BLOCK_BYTES = 32         # byte k holds elements k, k+32, k+64, k+96 ...
I2S_SHIFTS = (6, 4, 2, 0)    # ... at these bit shifts
I2S_TRAILER = 32             # float32 scale at byte n/4, padded to 32 bytes
I2S_ZERO_BELOW = 1e-6        # |x| < 1e-6 -> code 1 (zero); else the sign: code 2 (+1) or 0 (-1)


def i2s_reference_quantize(values: np.ndarray) -> np.ndarray:
    """bitnet.cpp's quantize_i2_s, written from its definition."""
    x = values.astype(np.float32).reshape(-1)
    scale = np.fmax.reduce(np.abs(x.astype(np.float64)), initial=0.0)
    with np.errstate(invalid="ignore"):
        codes = np.where(np.abs(x.astype(np.float64)) < I2S_ZERO_BELOW, 1, np.where(x.astype(np.float64) * scale > 0, 2, 0))
    groups = codes.astype(np.uint8).reshape(-1, 4, I2S_BLOCK_BYTES)  # [block, element // 32, element % 32]
    packed = np.zeros(groups.shape[0] * I2S_BLOCK_BYTES, dtype=np.uint8).reshape(-1, I2S_BLOCK_BYTES)
    for group, shift in enumerate(I2S_SHIFTS):
        packed |= groups[:, group, :] << np.uint8(shift)
    trailer = np.zeros(I2S_TRAILER, dtype=np.uint8)
    trailer[:4] = np.array([scale], dtype="<f4").view(np.uint8)
    return np.concatenate([packed.reshape(-1), trailer])


def i2s_reference_dequantize(raw: np.ndarray, n: int) -> np.ndarray:
    """Codes 0/1/2 (and 3) mean code - 1, times the float32 scale after the packed data."""
    scale = raw[n // 4:n // 4 + 4].view("<f4")[0]
    packed = raw[:n // 4].reshape(-1, 1, I2S_BLOCK_BYTES)
    codes = (packed >> np.array(I2S_SHIFTS, dtype=np.uint8).reshape(1, 4, 1)) & np.uint8(3)
    with np.errstate(invalid="ignore", over="ignore"):
        return (codes.reshape(-1).astype(np.float32) - np.float32(1)) * scale


def test_i2s_type_facts() -> None:
    info = ls.ggml_type("i2_s")
    assert (info.id, info.block_size, info.block_bytes) == (I2S_TYPE_ID, I2S_BLOCK, I2S_BLOCK_BYTES)
    n = 3 * 256
    assert ls.quantize(np.zeros((3, 256), dtype=np.float32), "I2_S").shape == (n // 4 + I2S_TRAILER,)


def test_i2s_hand_packed_block() -> None:
    # Byte k of a block: element k at bits 6-7, k+32 at 4-5, k+64 at 2-3, k+96 at 0-1.
    raw = np.zeros(I2S_BLOCK_BYTES + I2S_TRAILER, dtype=np.uint8)
    raw[0] = 0b10_01_00_10  # elements 0, 32, 64, 96 -> +1, 0, -1, +1
    raw[31] = 0b00_10_01_00  # elements 31, 63, 95, 127 -> -1, +1, 0, -1
    raw[5] = 0b01_01_01_11  # elements 5, 37, 69 -> 0; element 101 holds code 3 -> +2
    raw[32:36] = np.array([0.75], dtype="<f4").view(np.uint8)
    expected = np.full(I2S_BLOCK, -0.75, dtype=np.float32)  # code 0 everywhere else
    expected[[0, 96, 63]] = 0.75
    expected[[32, 95, 5, 37, 69]] = 0.0
    expected[[64, 31, 127]] = -0.75
    expected[101] = 1.5
    assert_same_bits(ls.dequantize(raw, "I2_S", (1, I2S_BLOCK)), expected.reshape(1, -1))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [(128,), (4, 256), (3, 384)])
def test_i2s_quantize_matches_bitnet_definition(seed: int, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape).astype(np.float32)
    flat = values.reshape(-1)  # a view
    flat[::7] = 0.0
    flat[3::11] = rng.choice(np.float32([1e-6, -1e-6, 9.9e-7, -9.9e-7, 1.01e-6]), flat[3::11].size)
    np.testing.assert_array_equal(ls.quantize(values, "I2_S"), i2s_reference_quantize(values))


def test_i2s_quantize_edge_values() -> None:
    values = edge_rows()
    for label, row in values.items():
        np.testing.assert_array_equal(ls.quantize(row, "I2_S"), i2s_reference_quantize(row), err_msg=label)


def test_i2s_round_trip_of_ternary_weights() -> None:
    rng = np.random.default_rng(4)
    scale = np.float32(0.0371)
    weights = (rng.integers(-1, 2, (6, 512)).astype(np.float32) * scale).astype(np.float32)
    raw = ls.quantize(weights, "I2_S")
    assert raw.shape == (6 * 512 // 4 + I2S_TRAILER,)
    assert raw[6 * 512 // 4:][:4].view("<f4")[0] == scale
    assert not raw[6 * 512 // 4 + 4:].any()  # padding is zero
    assert_same_bits(ls.dequantize(raw, "I2_S", weights.shape), weights)


@pytest.mark.parametrize("scale_bits", [0x00000000, 0x80000000, 0x00000001, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0x7F7FFFFF])
def test_i2s_dequantize_edge_scales(scale_bits: int) -> None:
    rng = np.random.default_rng(scale_bits & 0xFF)
    n = 512
    raw = rng.integers(0, 256, n // 4 + I2S_TRAILER, dtype=np.uint8)
    raw[n // 4:n // 4 + 4] = np.array([scale_bits], dtype="<u4").view(np.uint8)
    assert_same_bits(ls.dequantize(raw, "I2_S", (2, 256)), i2s_reference_dequantize(raw, n).reshape(2, 256))


# --- MXFP4 and NVFP4 ----------------------------------------------------------------------
#
# Besides gguf.quants, both are checked against their definitions, written here from the OCP
# Microscaling spec v1.0 (E2M1 elements, E8M0 scales), ggml-common.h (block_mxfp4: the scale
# byte then 16 bytes, element j in the low nibble of byte j, element j + 16 in its high
# nibble) and gguf.quants' NVFP4 layout (four UE4M3 scale bytes, then 8 bytes per 16-element
# sub-block: low nibbles elements 0..7, high nibbles 8..15).
E2M1 = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]  # magnitudes of codes 0..7; bit 3 is the sign


def e2m1(code: int) -> float:
    """OCP's value of a code, except that ggml's tables make code 8 (OCP's -0) +0."""
    return -E2M1[code & 7] if code & 7 and code & 8 else E2M1[code & 7]


def ue4m3(byte: int) -> float:
    """Unsigned E4M3 (bias 7, subnormal at exponent 0) for bytes below 0x7f (0x7f is its NaN)."""
    exponent, mantissa = byte >> 3, byte & 7
    return mantissa / 8 * 2.0**-6 if exponent == 0 else (1 + mantissa / 8) * 2.0 ** (exponent - 7)


def mxfp4_block(e: int, codes: list[int]) -> np.ndarray:
    """17 bytes: scale byte e, then the 32 4-bit codes packed as ggml does."""
    qs = [codes[j] | codes[j + 16] << 4 for j in range(16)]
    return np.array([e, *qs], dtype=np.uint8)


def test_mxfp4_every_scale_byte_and_code_matches_the_definition_and_gguf() -> None:
    # 256 scale bytes (0 and 1 give float32 subnormals, 255 is 2^128, not NaN) x all 16 codes
    # in both nibble positions; codes 0 and 8 are both zero (+0). Above 2^127 the larger codes
    # overflow float32 to infinity (the quantizer never picks a scale beyond 2^125).
    codes = [*range(16), *reversed(range(16))]
    raw = np.stack([mxfp4_block(e, codes) for e in range(256)])
    ours = ls.dequantize(raw, "MXFP4", (256, 32))
    with np.errstate(over="ignore"):
        expected = np.array([[math.ldexp(e2m1(c), e - 127) for c in codes] for e in range(256)], dtype=np.float32)
    assert_same_bits(ours, expected)
    assert_same_bits(ours, reference_dequantize(raw, "MXFP4"))
    assert ours[255, 1] == np.float32(2.0**127) and ours[255, 2] == np.inf and not np.isnan(ours).any()


def test_nvfp4_every_scale_byte_and_code_matches_the_definition_and_gguf() -> None:
    # Every scale byte in every one of the four sub-block positions, with all codes.
    scales = np.stack([np.roll(np.arange(256, dtype=np.uint8), 64 * s) for s in range(4)], axis=1)  # [256, 4]
    qs = np.tile(np.array([c | (15 - c) << 4 for c in range(8)] * 2 + [(c + 8) | c << 4 for c in range(8)] * 2,
                          dtype=np.uint8), (256, 1))
    raw = np.concatenate([scales, qs], axis=1)
    ours = ls.dequantize(raw, "NVFP4", (256, 64))
    assert_same_bits(ours, reference_dequantize(raw, "NVFP4"))
    # The definition, for the scale bytes it covers (below 0x7f): element 16s + j of a block
    # is byte 8s + j's low nibble for j < 8, byte 8s + j - 8's high nibble otherwise.
    for b in range(256):
        for s in range(4):
            byte = int(scales[b, s])
            if byte >= 0x7F:
                continue
            group = qs[b, 8 * s:8 * s + 8]
            values = [e2m1(int(q) & 15) for q in group] + [e2m1(int(q) >> 4) for q in group]
            expected = np.array([ue4m3(byte) * v for v in values], dtype=np.float32)
            assert_same_bits(ours[b, 16 * s:16 * s + 16], expected)
    # gguf.quants' rules at the top of the byte range: 0x7f (E4M3's NaN) and 0x80 are scale 0;
    # bit 7 is otherwise ignored, so 0xff is 480, the largest scale.
    decoded_scale = {int(scales[b, 0]): abs(ours[b, :16]).max() / 6 for b in range(256)}  # code 7 is 6
    assert decoded_scale[0x7F] == 0 and decoded_scale[0x80] == 0 and decoded_scale[0xFF] == 480


def test_mxfp4_exact_values_round_trip() -> None:
    # Blocks of values an MXFP4 block holds exactly come back bit for bit, at scales from
    # the smallest (2^-127) to the largest the quantizer picks (2^125) and with the block's
    # maximum anywhere.
    rng = np.random.default_rng(19)
    rows = []
    for e in (1, 2, 60, 120, 126, 127, 128, 140, 200, 252):
        codes = rng.integers(0, 16, 32)
        codes[rng.integers(0, 32)] = 7  # the maximum magnitude 6, which fixes the scale
        rows.append([math.ldexp(e2m1(int(c)), e - 127) for c in codes])
    values = np.array(rows, dtype=np.float32)
    raw = ls.quantize(values, "MXFP4")
    np.testing.assert_array_equal(raw, reference_quantize(values, "MXFP4"))
    ours = ls.dequantize(raw, "MXFP4", values.shape)
    np.testing.assert_array_equal(ours, values)  # -0 may come back +0 (codes 0 and 8 are both zero)


def libm_log2f_agrees_with_numpy(values: np.ndarray) -> bool:
    """lockstep's MXFP4 scale uses the C library's log2f, as numpy's float32 log2 does here."""
    import ctypes
    import ctypes.util

    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.log2f.restype, libm.log2f.argtypes = ctypes.c_float, [ctypes.c_float]
    ours = np.array([libm.log2f(float(v)) for v in values], dtype=np.float32)
    return bool(np.array_equal(ours.view(np.uint32), np.log2(values).view(np.uint32)))


def test_mxfp4_quantize_edge_blocks_match_gguf() -> None:
    # The scale comes from floor(log2(max |x|)): maxima at, just below and just above powers
    # of two (where a float32 log2 rounds up to the integer), subnormal and huge maxima;
    # elements exactly halfway between two codes (the first code wins); NaN/inf elements.
    rng = np.random.default_rng(23)
    base = rng.standard_normal((1, 32)).astype(np.float32) * 0.1
    blocks = []
    for exponent in (-149, -140, -127, -126, -20, -1, 0, 1, 2, 3, 10, 64, 100, 126, 127):
        power = np.float32(2.0**exponent)
        for ulps in (-3, -1, 0, 1, 2):
            bits = int(power.view(np.uint32)) + ulps
            if bits <= 0:
                continue
            block = base[0] * power
            block[5] = -np.array([bits], dtype=np.uint32).view(np.float32)[0]
            blocks.append(block)
    d = np.float32(0.25)  # e = 125: codes are multiples of 0.125 ... 1.5
    halfway = np.array([(E2M1[k] + E2M1[k + 1]) / 2 * 0.25 for k in range(7)] * 4 + [1.5, 0.0, 0.0, 0.0], dtype=np.float32)
    blocks += [halfway, -halfway, halfway + d * 2**-20, halfway - d * 2**-20]
    blocks.append(np.full(32, np.float32(3.4028235e38)))
    blocks.append(np.where(np.arange(32) % 2 == 0, np.float32(3.4028235e38), np.float32(-1e38)))
    blocks.append(np.full(32, np.float32(1e-45)))
    for special in (np.nan, np.inf, -np.inf):
        block = base[0].copy()
        block[7] = special
        blocks.append(block)
    blocks.append(np.full(32, np.nan, dtype=np.float32))
    values = np.stack(blocks).astype(np.float32)
    maxima = np.abs(values).max(axis=1)
    finite = maxima[np.isfinite(maxima) & (maxima > 0)]
    if not libm_log2f_agrees_with_numpy(finite):
        pytest.skip("numpy's float32 log2 here is not the C library's log2f (an AVX-512 numpy build)")
    ours = ls.quantize(values, "MXFP4")
    reference = reference_quantize(values, "MXFP4")
    for i in range(len(values)):
        np.testing.assert_array_equal(ours[i], reference[i], err_msg=f"block {i}: max {maxima[i]!r}")


def test_mxfp4_and_nvfp4_type_facts() -> None:
    assert (ls.ggml_type("mxfp4").id, ls.ggml_type("MXFP4").block_size, ls.ggml_type(39).block_bytes) == (39, 32, 17)
    assert (ls.ggml_type("nvfp4").id, ls.ggml_type("NVFP4").block_size, ls.ggml_type(40).block_bytes) == (40, 64, 36)
