"""The compute kernels: every instruction set this CPU supports against the scalar
reference, and the scalar reference against independent numpy/gguf formulas."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
from gguf import GGMLQuantizationType as QT

from lockstep._core import kernels

SIMD_ISAS = [isa for isa in kernels.supported_isas() if isa != "scalar"]
rng = np.random.default_rng(1234)


def test_the_best_supported_isa_is_used_and_simd_is_available():
    assert kernels.best_isa() == kernels.supported_isas()[-1]
    assert SIMD_ISAS, "no SIMD instruction set compiled in and supported: the SIMD paths go untested"


# --- 16-bit floats ----------------------------------------------------------------------


def test_fp16_to_fp32_is_exact_for_every_half():
    halves = np.arange(1 << 16, dtype=np.uint16)
    ours = kernels.fp16_to_fp32(halves)
    expected = halves.view(np.float16).astype(np.float32)
    assert np.array_equal(ours.view(np.uint32), expected.view(np.uint32))


def test_fp32_to_fp16_rounds_to_nearest_even_like_numpy():
    values = np.concatenate([
        (rng.standard_normal(100_000) * 10.0 ** rng.integers(-8, 5, 100_000)).astype(np.float32),
        # halfway cases, the subnormal boundary, overflow, infinities
        (np.arange(1 << 16, dtype=np.uint32) << 13 | 0x1000).view(np.float32)[:40000],
        np.array([0.0, -0.0, 65504.0, 65519.99, 65520.0, 1e9, -1e9, np.inf, -np.inf, 6.0e-8, 2.9e-8, 3.0e-8],
                 dtype=np.float32),
    ])
    values = values[np.isfinite(values) | np.isinf(values)]
    with np.errstate(over="ignore"):
        expected = values.astype(np.float16).view(np.uint16)
    assert np.array_equal(kernels.fp32_to_fp16(values), expected)
    assert np.isnan(kernels.fp16_to_fp32(kernels.fp32_to_fp16(np.array([np.nan], dtype=np.float32))))[0]


# --- activation quantization ------------------------------------------------------------


def activations(n: int) -> np.ndarray:
    x = rng.standard_normal(n).astype(np.float32)
    x[: n // 8] = 0.0  # an all-zero block
    x[n // 8 : n // 8 + 4] = [3.0, -3.0, 1.5, -1.5]  # ties for the largest magnitude
    x[-32:] *= 1e6
    return x


@pytest.mark.parametrize("isa", SIMD_ISAS)
@pytest.mark.parametrize("fmt", ["q8_0", "q8_1", "q8_k", "i8"])
def test_activation_quantization_is_bit_identical_to_the_reference(isa, fmt):
    x = activations(1024)
    assert np.array_equal(kernels.quantize_activations(isa, fmt, x), kernels.quantize_activations("scalar", fmt, x))


def parse_q8_0(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    blocks = raw.reshape(-1, 34)
    return blocks[:, :2].copy().view(np.float16).astype(np.float32)[:, 0], blocks[:, 2:].view(np.int8)


def test_q8_0_activations_match_gguf_quantization():
    # gguf rounds half away from zero with 1/d, llama.cpp's x86 path half-to-even with
    # 127/amax: the scales agree exactly, a quantized value may differ by one on a tie.
    x = activations(1024)
    ours_d, ours_q = parse_q8_0(kernels.quantize_activations("scalar", "q8_0", x))
    ref_d, ref_q = parse_q8_0(gguf.quants.quantize(x.reshape(1, -1), QT.Q8_0).ravel())
    assert np.array_equal(ours_d, ref_d)
    diff = np.abs(ours_q.astype(int) - ref_q.astype(int))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 2


def test_q8_1_carries_the_scaled_sum():
    x = activations(512)[:256]  # unscaled: a block of 1e6 overflows the f16 sum, in llama.cpp too
    blocks = kernels.quantize_activations("scalar", "q8_1", x).reshape(-1, 36)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)[:, 0]
    s = blocks[:, 2:4].copy().view(np.float16).astype(np.float32)[:, 0]
    q = blocks[:, 4:].view(np.int8).astype(np.float32)
    ref_d, ref_q = parse_q8_0(kernels.quantize_activations("scalar", "q8_0", x))
    assert np.array_equal(d, ref_d) and np.array_equal(q, ref_q)
    np.testing.assert_allclose(s, np.float32(x.reshape(-1, 32).__abs__().max(1) / 127) * q.sum(1), rtol=1e-3)


def parse_q8_k(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    blocks = raw.reshape(-1, 292)
    d = blocks[:, :4].copy().view(np.float32)[:, 0]
    q = blocks[:, 4:260].view(np.int8)
    bsums = blocks[:, 260:].copy().view(np.int16)
    return d, q, bsums


def test_q8_k_scale_sign_rounding_and_partial_sums():
    x = activations(1024)
    d, q, bsums = parse_q8_k(kernels.quantize_activations("scalar", "q8_k", x))
    blocks = x.reshape(-1, 256)
    for b in range(len(blocks)):
        amax_index = np.argmax(np.abs(blocks[b]))
        if blocks[b, amax_index] == 0:
            assert d[b] == 0 and not q[b].any()
            continue
        assert d[b] == np.float32(1) / (np.float32(-127) / blocks[b, amax_index])  # sign follows -max
        assert np.all(np.abs(q[b] * d[b] - blocks[b]) <= abs(d[b]) * 0.5001)
    assert np.array_equal(bsums, q.astype(np.int32).reshape(-1, 16, 16).sum(-1))


def test_i8_rows_use_one_absmax_scale_per_token():
    x = activations(512)
    raw = kernels.quantize_activations("scalar", "i8", x)
    scale = raw[:4].copy().view(np.float32)[0]
    total = raw[4:8].copy().view(np.int32)[0]
    q = raw[32:].view(np.int8)
    assert scale == np.float32(127.0 / max(1e-5, float(np.abs(x).max())))
    # round half away from zero, clamped to int8
    expected = np.clip(np.trunc(x * scale + np.copysign(np.float32(0.5), x)), -128, 127)
    assert np.array_equal(q, expected.astype(np.int8))
    assert total == q.astype(np.int64).sum()
    zero = kernels.quantize_activations("scalar", "i8", np.zeros(128, np.float32))
    assert zero[:4].view(np.float32)[0] == np.float32(127.0 / 1e-5) and not zero[32:].any()


# --- matrix multiplication per weight type ----------------------------------------------

K_QUANT_SCALE_OFFSETS = {  # byte offsets of the f16 scale fields in each super-block
    "Q2_K": (80, 82), "Q3_K": (108,), "Q4_K": (0, 2), "Q5_K": (0, 2), "Q6_K": (208,),
}
ACTIVATION_OF = {
    "F32": "f32", "F16": "f32", "BF16": "f32", "Q4_0": "q8_0", "Q5_0": "q8_0", "Q8_0": "q8_0",
    "Q4_1": "q8_1", "Q5_1": "q8_1", "TQ1_0": "q8_k", "TQ2_0": "q8_k", "I2_S": "i8", "MXFP4": "q8_0",
    **{name: "q8_k" for name in K_QUANT_SCALE_OFFSETS},
}


def random_weights(name: str, rows: int, cols: int) -> np.ndarray:
    """Weight bytes [rows, row_bytes]: quantized by gguf where it can, random blocks with
    sane scales for the K-quants, ternary codes packed per the I2_S layout."""
    w = rng.standard_normal((rows, cols)).astype(np.float32)
    if name == "F32":
        return w.view(np.uint8)
    if name == "F16":
        return w.astype(np.float16).view(np.uint8)
    if name == "BF16":
        return (w.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
    if name == "I2_S":
        return pack_i2_s(rng.integers(-1, 2, (rows, cols)))
    if name in K_QUANT_SCALE_OFFSETS:
        block_size, block_bytes = gguf.GGML_QUANT_SIZES[QT[name]]
        raw = rng.integers(0, 256, (rows, cols // block_size, block_bytes), dtype=np.uint8)
        for offset in K_QUANT_SCALE_OFFSETS[name]:
            scales = rng.uniform(0.001, 0.05, raw.shape[:2]).astype(np.float16)
            raw[:, :, offset : offset + 2] = scales.view(np.uint8).reshape(*raw.shape[:2], 2)
        return raw.reshape(rows, -1)
    return gguf.quants.quantize(w, QT[name])


def pack_i2_s(ternary: np.ndarray) -> np.ndarray:
    """bitnet.cpp's I2_S: per 128 elements, byte k holds elements k, k+32, k+64, k+96 at
    shifts 6, 4, 2, 0 as codes 0/1/2 for -1/0/+1."""
    rows, cols = ternary.shape
    codes = (ternary + 1).astype(np.uint8).reshape(rows, cols // 128, 4, 32)
    packed = codes[:, :, 0] << 6 | codes[:, :, 1] << 4 | codes[:, :, 2] << 2 | codes[:, :, 3]
    return packed.reshape(rows, cols // 4)


def unpack_i2_s(packed: np.ndarray, cols: int) -> np.ndarray:
    rows = packed.shape[0]
    blocks = packed.reshape(rows, cols // 128, 1, 32) >> np.array([6, 4, 2, 0], np.uint8).reshape(1, 1, 4, 1)
    return (blocks & 3).reshape(rows, cols).astype(np.float64) - 1


def dequantized_activations(fmt: str, x: np.ndarray) -> np.ndarray:
    raw = kernels.quantize_activations("scalar", fmt, x)
    if fmt == "f32":
        return x.astype(np.float64)
    if fmt == "q8_0":
        d, q = parse_q8_0(raw)
        return (d[:, None].astype(np.float64) * q).ravel()
    if fmt == "q8_1":
        blocks = raw.reshape(-1, 36)
        d = blocks[:, :2].copy().view(np.float16).astype(np.float64)
        return (d * blocks[:, 4:].view(np.int8)).ravel()
    if fmt == "q8_k":
        d, q, _ = parse_q8_k(raw)
        return (d[:, None].astype(np.float64) * q).ravel()
    scale = raw[:4].copy().view(np.float32)[0]
    return raw[32:].view(np.int8).astype(np.float64) / scale


def dequantized_weights(name: str, raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    if name == "I2_S":
        return unpack_i2_s(raw, cols)
    if name == "BF16":
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(rows, cols).astype(np.float64)
    return gguf.quants.dequantize(raw, QT[name]).reshape(rows, cols).astype(np.float64)


WEIGHT_TYPES = list(ACTIVATION_OF)


@pytest.mark.parametrize("name", WEIGHT_TYPES)
def test_scalar_matmul_matches_dequantized_numpy(name):
    rows, cols, tokens = 6, 512, 3
    weights = random_weights(name, rows, cols)
    x = rng.standard_normal((tokens, cols)).astype(np.float32)
    scale = 0.75 if name == "I2_S" else 1.0
    ours = kernels.matmul("scalar", name, weights.ravel(), rows, cols, x, scale=scale)
    w = dequantized_weights(name, weights, rows, cols)
    for t in range(tokens):
        a = dequantized_activations(ACTIVATION_OF[name], x[t])
        expected = scale * (w @ a)
        magnitude = np.abs(w) @ np.abs(a)
        # Q4_1/Q5_1 carry the activations' sum as an f16: 1e-3 of the magnitude covers it.
        tolerance = 1e-3 if name in ("Q4_1", "Q5_1") else 1e-5
        assert np.all(np.abs(ours[t] - expected) <= tolerance * magnitude + 1e-6), name


@pytest.mark.parametrize("isa", SIMD_ISAS)
@pytest.mark.parametrize("name", WEIGHT_TYPES)
def test_simd_matmul_matches_scalar(isa, name):
    rows, cols, tokens = 37, 768 + (0 if name == "I2_S" else 256), 5
    weights = random_weights(name, rows, cols)
    x = rng.standard_normal((tokens, cols)).astype(np.float32)
    reference = kernels.matmul("scalar", name, weights.ravel(), rows, cols, x)
    ours = kernels.matmul(isa, name, weights.ravel(), rows, cols, x, n_threads=2)
    magnitude = np.abs(reference).max()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=2e-6 * magnitude * np.sqrt(cols))


@pytest.mark.parametrize("isa", kernels.supported_isas())
@pytest.mark.parametrize("name", WEIGHT_TYPES)
def test_batched_matmul_equals_one_token_at_a_time_bit_for_bit(isa, name):
    # Several tokens take the tiled GEMM (src/kernels/simd/quant_gemm.h), one token the dot:
    # they must agree exactly, or a prefill's last row would differ from incremental decode.
    # 37 rows and odd token counts leave rows and tokens over from whole tiles.
    rows, cols = 37, 512
    weights = random_weights(name, rows, cols)
    x = rng.standard_normal((64, cols)).astype(np.float32)
    one_at_a_time = np.stack([kernels.matmul(isa, name, weights.ravel(), rows, cols, x[t : t + 1])[0]
                              for t in range(len(x))])
    for tokens in (1, 3, 7, 17, 64):
        batched = kernels.matmul(isa, name, weights.ravel(), rows, cols, x[:tokens], n_threads=2)
        assert np.array_equal(batched.view(np.uint32), one_at_a_time[:tokens].view(np.uint32)), (isa, name, tokens)


@pytest.mark.parametrize("isa", kernels.supported_isas())
@pytest.mark.parametrize("name", [t for t in WEIGHT_TYPES if t != "I2_S"])
def test_every_matmul_output_is_the_row_dot_bit_for_bit(isa, name):
    # Decode (one token: several rows per pass) and prefill (tiles of rows x tokens) must give
    # each output exactly as the type's dot of that row and token alone (kernels.row_dot).
    rows, cols = 13, 512
    weights = random_weights(name, rows, cols).reshape(rows, -1)
    x = rng.standard_normal((5, cols)).astype(np.float32)
    dots = np.array([[kernels.row_dot(isa, name, weights[r].copy(), x[t]) for r in range(rows)] for t in range(5)],
                    np.float32)
    for tokens in (1, 5):
        y = kernels.matmul(isa, name, weights.ravel(), rows, cols, x[:tokens])
        assert np.array_equal(y.view(np.uint32), dots[:tokens].view(np.uint32)), (isa, name, tokens)


@pytest.mark.parametrize("isa", kernels.supported_isas())
@pytest.mark.parametrize("name", ["F16", "BF16"])
def test_float_gemm_equals_its_dot_at_ragged_widths(isa, name):
    # The 16-bit float GEMM (src/kernels/simd/float_gemm.h) finishes each dot with the same
    # tail as the dot itself: widths off the batch size must still agree bit for bit.
    for cols in (7, 33, 100, 515):
        weights = random_weights(name, 11, cols)
        x = rng.standard_normal((8, cols)).astype(np.float32)
        one_at_a_time = np.stack([kernels.matmul(isa, name, weights.ravel(), 11, cols, x[t : t + 1])[0] for t in range(8)])
        batched = kernels.matmul(isa, name, weights.ravel(), 11, cols, x)
        assert np.array_equal(batched.view(np.uint32), one_at_a_time.view(np.uint32)), (isa, name, cols)
        reference = x.astype(np.float64) @ gguf.quants.dequantize(weights, QT[name]).astype(np.float64).T
        np.testing.assert_allclose(batched, reference, rtol=1e-5, atol=1e-5 * np.abs(reference).max())


@pytest.mark.parametrize("isa", kernels.supported_isas())
def test_attention_kernels_match_numpy_and_their_single_forms(isa):
    # attention_scores takes four keys per pass; each score must be the dot_f32 of its key alone
    # (a decode step scores one query against the same keys a prefill scored in fours).
    for head_dim, count, stride in ((64, 37, 192), (80, 5, 80), (7, 3, 9)):
        query = rng.standard_normal(head_dim).astype(np.float32)
        keys = rng.standard_normal((count, stride)).astype(np.float32)
        scores = kernels.attention_scores(isa, query, keys, 0.125)
        # A one-token F32 matmul is dot_f32 of each row alone.
        rows = np.ascontiguousarray(keys[:, :head_dim])
        singles = kernels.matmul(isa, "F32", rows.view(np.uint8).ravel(), count, head_dim, query[None])[0] * np.float32(0.125)
        assert np.array_equal(scores.view(np.uint32), singles.view(np.uint32)), (isa, head_dim, count)
        np.testing.assert_allclose(scores, keys[:, :head_dim].astype(np.float64) @ query * 0.125, rtol=1e-5, atol=1e-5)

        weights = rng.random(count).astype(np.float32)
        out = kernels.attention_values(isa, weights, keys, head_dim)
        np.testing.assert_allclose(out, weights.astype(np.float64) @ keys[:, :head_dim], rtol=1e-5, atol=1e-5)
        # One chain of fused multiply-adds per element in key order: a prefix of the keys gives
        # what the same chain held after that many steps, whatever the batch width.
        axpy = np.zeros(head_dim, np.float32)
        for j in range(count):
            axpy = kernels.axpy(isa, float(weights[j]), keys[j, :head_dim].copy(), axpy)
        assert np.array_equal(out.view(np.uint32), axpy.view(np.uint32)), (isa, head_dim, count)


def test_f32_matmul_with_a_ragged_width():
    # Widths that are not a multiple of any batch take the tail loops.
    for cols in (1, 7, 33, 100):
        w = rng.standard_normal((3, cols)).astype(np.float32)
        x = rng.standard_normal((2, cols)).astype(np.float32)
        for isa in kernels.supported_isas():
            np.testing.assert_allclose(kernels.matmul(isa, "F32", w.view(np.uint8).ravel(), 3, cols, x), x @ w.T,
                                       rtol=1e-5, atol=1e-5)


def test_matmul_rejects_inconsistent_shapes():
    with pytest.raises(ValueError, match="multiple of the block size"):
        kernels.matmul("scalar", "Q8_0", np.zeros(34, np.uint8), 1, 40, np.zeros((1, 40), np.float32))
    with pytest.raises(ValueError, match="fewer bytes"):
        kernels.matmul("scalar", "Q8_0", np.zeros(33, np.uint8), 1, 32, np.zeros((1, 32), np.float32))


# --- element-wise kernels ---------------------------------------------------------------

N_ODD = 1000 + 3  # not a multiple of any batch width


def rope_reference(head: np.ndarray, cos: np.ndarray, sin: np.ndarray, n_rot: int, layout: str) -> np.ndarray:
    out = head.astype(np.float64).copy()
    half = n_rot // 2
    i = np.arange(half)
    a, b = (2 * i, 2 * i + 1) if layout == "interleaved" else (i, i + half)
    out[a] = head[a] * cos - head[b] * sin
    out[b] = head[b] * cos + head[a] * sin
    return out


@pytest.mark.parametrize("isa", kernels.supported_isas())
def test_elementwise_kernels_match_numpy(isa):
    x = rng.standard_normal(N_ODD).astype(np.float32) * 3
    w = rng.standard_normal(N_ODD).astype(np.float32)
    x64 = x.astype(np.float64)

    expected = x64 / np.sqrt(np.mean(x64**2) + 1e-5) * w
    np.testing.assert_allclose(kernels.rms_norm(isa, x, w, 1e-5), expected, rtol=2e-6, atol=1e-6)

    e = np.exp(x64 - x64.max())
    np.testing.assert_allclose(kernels.softmax(isa, x), e / e.sum(), rtol=2e-6, atol=1e-9)
    masked = np.array([0.5, -np.inf, 2.0, -np.inf], np.float32)  # causal masking writes -inf
    np.testing.assert_allclose(kernels.softmax(isa, masked), [1 / (1 + np.e**1.5), 0, 1 / (1 + np.e**-1.5), 0], rtol=1e-6)

    np.testing.assert_allclose(kernels.silu_mul(isa, x, w), x64 / (1 + np.exp(-x64)) * w, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(kernels.relu2_mul(isa, x, w), np.maximum(x64, 0) ** 2 * w, rtol=1e-6, atol=1e-6)
    gelu = 0.5 * x64 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64**3)))
    np.testing.assert_allclose(kernels.gelu_tanh_mul(isa, x, w), gelu * w, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(kernels.axpy(isa, 0.5, x, w), 0.5 * x64 + w, rtol=1e-6, atol=1e-6)

    for head_dim, n_rot in ((128, 128), (64, 64), (80, 48), (6, 6)):
        head = rng.standard_normal(head_dim).astype(np.float32)
        theta = rng.uniform(-50, 50, n_rot // 2)
        cos, sin = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
        for layout in ("interleaved", "neox"):
            np.testing.assert_allclose(kernels.rope(isa, head, cos, sin, n_rot, layout),
                                       rope_reference(head, cos, sin, n_rot, layout), rtol=1e-6, atol=1e-6)


def test_unknown_isa_is_a_clear_error():
    with pytest.raises(ValueError, match="not compiled"):
        kernels.softmax("neon", np.ones(3, np.float32))


# --- MXFP4 ------------------------------------------------------------------------------


def mxfp4_extreme_weights(rows: int, cols: int) -> np.ndarray:
    """Random MXFP4 blocks (every code) whose scale bytes span the whole range where a
    block's dot product with unit-sized activations stays finite: 2^-127 up to 2^100."""
    raw = rng.integers(0, 256, (rows, cols // 32, 17), dtype=np.uint8)
    raw[:, :, 0] = rng.integers(0, 228, raw.shape[:2])
    raw[0, :, 0] = np.arange(cols // 32) % 3  # the subnormal half scales
    return raw.reshape(rows, -1)


@pytest.mark.parametrize("isa", kernels.supported_isas())
def test_mxfp4_matmul_over_the_scale_range_matches_llama_cpp_arithmetic(isa):
    # llama.cpp's ggml_vec_dot_mxfp4_q8_0: per block, the integer sum of the doubled E2M1
    # codes times the int8 activations, times fp16(d_act) * 2^(e - 128), summed in float.
    # Recomputed here in float64 from gguf's dequantization of the weights; SIMD tables may
    # sum the blocks in another order, hence the relative tolerance.
    rows, cols = 9, 1024
    weights = mxfp4_extreme_weights(rows, cols)
    x = rng.standard_normal((3, cols)).astype(np.float32)
    ours = kernels.matmul(isa, "MXFP4", weights.ravel(), rows, cols, x)
    w = gguf.quants.dequantize(weights, QT.MXFP4).reshape(rows, cols).astype(np.float64)
    for t in range(len(x)):
        a = dequantized_activations("q8_0", x[t])
        expected = (w.reshape(rows, -1, 32) * a.reshape(-1, 32)).sum(-1)  # [rows, blocks]
        magnitude = np.abs(w) @ np.abs(a)
        assert np.all(np.abs(ours[t] - expected.sum(-1)) <= 1e-6 * magnitude), (isa, t)
    assert np.isfinite(ours).all() and (np.abs(ours) > 1e20).any()  # the large scales took part
