"""MXFP4 and NVFP4 against ggml's own C code, called through the libggml that llama-cpp-python
ships: its dequantizers (ggml_get_type_traits()->to_float), its reference quantizers
(ggml_quantize_chunk) and its CPU dot product of MXFP4 weights with Q8_0 activations
(ggml_get_type_traits_cpu()->vec_dot, the kernel llama.cpp's matmul runs)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

import lockstep as ls
from lockstep._core import kernels

llama_cpp = pytest.importorskip("llama_cpp")

MXFP4, NVFP4, Q8_0 = 39, 40, 8  # enum ggml_type

ToFloat = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
FromFloat = ToFloat
VecDot = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                          ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


class TypeTraits(ctypes.Structure):  # struct ggml_type_traits (ggml.h)
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64), ("blck_size_interleave", ctypes.c_int64),
                ("type_size", ctypes.c_size_t), ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                ("from_float_ref", ctypes.c_void_p)]


class CpuTypeTraits(ctypes.Structure):  # struct ggml_type_traits_cpu (ggml-cpu.h)
    _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p), ("vec_dot_type", ctypes.c_int),
                ("nrows", ctypes.c_int64)]


def _library(stem: str) -> ctypes.CDLL:
    folder = Path(llama_cpp.__file__).parent / "lib"
    candidates = sorted(folder.glob(f"{stem}.so*"))
    if not candidates:
        pytest.skip(f"no {stem}.so in {folder}")
    return ctypes.CDLL(str(candidates[0]), mode=ctypes.RTLD_GLOBAL)


@pytest.fixture(scope="module")
def ggml():
    base, cpu = _library("libggml-base"), _library("libggml-cpu")
    base.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
    base.ggml_quantize_chunk.restype = ctypes.c_size_t
    base.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                         ctypes.c_int64, ctypes.c_void_p]
    cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(CpuTypeTraits)
    cpu.ggml_cpu_init()
    for type_id, name, block, size in ((MXFP4, b"mxfp4", 32, 17), (NVFP4, b"nvfp4", 64, 36)):
        traits = base.ggml_get_type_traits(type_id).contents
        assert (traits.type_name, traits.blck_size, traits.type_size) == (name, block, size)
    return base, cpu


def ggml_dequantize(ggml, type_id: int, raw: np.ndarray, n: int) -> np.ndarray:
    base, _ = ggml
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    out = np.empty(n, dtype=np.float32)
    ToFloat(base.ggml_get_type_traits(type_id).contents.to_float)(raw.ctypes.data, out.ctypes.data, n)
    return out


def ggml_quantize(ggml, type_id: int, x: np.ndarray) -> np.ndarray:
    base, _ = ggml
    x = np.ascontiguousarray(x, dtype=np.float32)
    traits = base.ggml_get_type_traits(type_id).contents
    rows, cols = x.shape
    out = np.zeros((rows, cols // traits.blck_size * traits.type_size), dtype=np.uint8)
    assert base.ggml_quantize_chunk(type_id, x.ctypes.data, out.ctypes.data, 0, rows, cols, None) == out.size
    return out


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.view(np.uint32), b.view(np.uint32)))


@pytest.mark.parametrize(("name", "type_id", "block", "size"), [("MXFP4", MXFP4, 32, 17), ("NVFP4", NVFP4, 64, 36)])
def test_dequantize_matches_ggml_on_every_scale_byte(ggml, name, type_id, block, size):
    # Random blocks, each scale byte position holding every value 0..255 (NaN-like and
    # subnormal encodings included).
    rng = np.random.default_rng(type_id)
    raw = rng.integers(0, 256, (256, size), dtype=np.uint8)
    n_scales = 1 if name == "MXFP4" else 4
    for s in range(n_scales):
        raw[:, s] = np.roll(np.arange(256, dtype=np.uint8), 37 * s)
    ours = ls.dequantize(raw, name, (256, block))
    assert same_bits(ours.reshape(-1), ggml_dequantize(ggml, type_id, raw, 256 * block))


def test_mxfp4_quantize_matches_ggml_reference_quantizer(ggml):
    # ggml's quantize_row_mxfp4_ref and gguf.quants choose the same scale and codes for finite
    # data (they differ for NaN elements: ggml's running max skips them, numpy's propagates).
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((64, 256)) * np.float32(10.0) ** rng.integers(-6, 6, (64, 1))).astype(np.float32)
    x[0, :5] = [0.0, -0.0, 1.0, 2.0, 3.0]  # block values on the code grid, ties between codes
    x[1] = 0.0
    assert np.array_equal(ls.quantize(x, "MXFP4"), ggml_quantize(ggml, MXFP4, x))


def test_nvfp4_written_by_ggml_dequantizes_like_ggml(ggml):
    # NVFP4 files come from ggml's quantizer (gguf.quants and lockstep have none): its bytes for
    # data at many scales, decoded by lockstep, by gguf.quants and by ggml alike.
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize as gguf_dequantize

    rng = np.random.default_rng(5)
    x = (rng.standard_normal((32, 512)) * np.float32(10.0) ** rng.integers(-4, 3, (32, 1))).astype(np.float32)
    raw = ggml_quantize(ggml, NVFP4, x)
    ours = ls.dequantize(raw, "NVFP4", x.shape)
    assert same_bits(ours.reshape(-1), ggml_dequantize(ggml, NVFP4, raw, x.size))
    assert same_bits(ours, gguf_dequantize(raw, GGMLQuantizationType.NVFP4))
    assert np.abs(ours - x).max() <= 0.2 * np.abs(x).max()  # and it is x, roughly


@pytest.mark.parametrize("isa", kernels.supported_isas())
def test_mxfp4_dot_matches_ggml_vec_dot(ggml, isa):
    # The same Q8_0 activation bytes on both sides; the dots then differ only by the order in
    # which each kernel adds its blocks' float products.
    _, cpu = ggml
    traits = cpu.ggml_get_type_traits_cpu(MXFP4).contents
    assert traits.vec_dot_type == Q8_0
    quantize_q8_0 = FromFloat(cpu.ggml_get_type_traits_cpu(Q8_0).contents.from_float)
    vec_dot = VecDot(traits.vec_dot)
    rng = np.random.default_rng(7)
    rows, cols = 19, 1024
    weights = ls.quantize(rng.standard_normal((rows, cols)).astype(np.float32), "MXFP4")
    x = rng.standard_normal((3, cols)).astype(np.float32)
    ours = kernels.matmul(isa, "MXFP4", weights.ravel(), rows, cols, x)
    for t in range(len(x)):
        activations = np.zeros(cols // 32 * 34, dtype=np.uint8)
        quantize_q8_0(x[t].ctypes.data, activations.ctypes.data, cols)
        assert np.array_equal(activations, kernels.quantize_activations("scalar", "q8_0", x[t]))
        theirs = np.zeros(rows, dtype=np.float32)
        for r in range(rows):
            row = np.ascontiguousarray(weights[r])
            vec_dot(cols, theirs[r:].ctypes.data, 0, row.ctypes.data, 0, activations.ctypes.data, 0, 1)
        np.testing.assert_allclose(ours[t], theirs, rtol=0, atol=1e-6 * np.abs(theirs).max())
