// Prefill's products with 16-bit float weights (F16, BF16) and float32 activations: a tile of
// kFloatGemmRows weight rows x kFloatGemmTokens tokens at a time, so that each weight vector
// is loaded and widened to float32 once per tile instead of once per token, and each
// activation vector serves every row of the tile.
//
// Bit-identical to dot_16bit (float_kernels.h) by construction: every (row, token) pair has
// the same two accumulator chains, fed the same products in the same order, reduced and
// finished by the same tail. So the last row of a prefill equals incremental decode, bit for bit, for
// any batch size. Rows and tokens left over from whole tiles take the dot itself.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/simd/float_kernels.h"
#include "kernels/simd/quant_gemm.h"

namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE {

// Registers per tile (tile_16bit keeps one chain of accumulators at a time): one accumulator
// per pair plus one widened weight batch per row and one activation batch: 3 x 4 + 3 + 1 =
// 16 of AVX2's (and SSE's) 16, 4 x 6 + 4 + 1 = 29 of AVX-512's 32.
#if defined(__AVX512F__)
inline constexpr int kFloatGemmRows = 4, kFloatGemmTokens = 6;
#else
inline constexpr int kFloatGemmRows = 3, kFloatGemmTokens = 4;
#endif

// dot_16bit for R rows x T tokens, w and x strides in elements; its two chains (even and odd
// batches) run by chains_by_chunk (quant_gemm.h), which leaves registers for a larger tile.
template <class Arch, int R, int T, class Load, class Scalar>
void tile_16bit(const uint16_t* w, size_t w_stride, const float* x, size_t x_stride, int64_t n, float* y,
                int64_t y_stride, Load load, Scalar scalar) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    B parked[2][R][T];
    for (int h = 0; h < 2; ++h)
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) parked[h][r][t] = B(0.0f);
    chains_by_chunk<64>(n / W, [&](int h, int64_t first, int64_t end) {
        B acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = parked[h][r][t];
        for (int64_t i = first * W; i < end * W; i += 2 * W) {
            B wv[R];
            for (int r = 0; r < R; ++r) wv[r] = load(w + w_stride * static_cast<size_t>(r) + i);
            for (int t = 0; t < T; ++t) {
                const B xv = B::load_unaligned(x + x_stride * static_cast<size_t>(t) + i);
                for (int r = 0; r < R; ++r) acc[r][t] = xsimd::fma(wv[r], xv, acc[r][t]);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) parked[h][r][t] = acc[r][t];
    });
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t)
            y[t * y_stride + r] = finish_16bit(xsimd::reduce_add(parked[0][r][t] + parked[1][r][t]),
                                               w + w_stride * static_cast<size_t>(r),
                                               x + x_stride * static_cast<size_t>(t), n / W * W, n, scalar);
}

template <class Arch, class Load, class Scalar>
void gemm_16bit(const void* w, size_t w_stride, const void* a, size_t a_stride, int64_t n, int64_t rows,
                int64_t tokens, float* y, int64_t y_stride, Load load, Scalar scalar) {
    const auto* wp = static_cast<const uint16_t*>(w);
    const auto* xp = static_cast<const float*>(a);
    const size_t ws = w_stride / sizeof(uint16_t), xs = a_stride / sizeof(float);
    gemm_tiles<kFloatGemmRows, kFloatGemmTokens>(
        rows, tokens, w_stride, a_stride, y, y_stride,
        [&](int64_t r, int64_t t) {
            tile_16bit<Arch, kFloatGemmRows, kFloatGemmTokens>(wp + ws * static_cast<size_t>(r), ws,
                                                               xp + xs * static_cast<size_t>(t), xs, n,
                                                               y + t * y_stride + r, y_stride, load, scalar);
        },
        [&](int64_t r, int64_t t) {
            return dot_16bit<Arch>(wp + ws * static_cast<size_t>(r), xp + xs * static_cast<size_t>(t), n, load, scalar);
        });
}

// --- The KernelTable entries (QuantGemmFn: strides in bytes, activations float32).

template <class Arch>
void gemm_f16(const void* w, size_t w_stride, const void* a, size_t a_stride, int64_t n, int64_t rows, int64_t tokens,
              float* y, int64_t y_stride) {
    gemm_16bit<Arch>(w, w_stride, a, a_stride, n, rows, tokens, y, y_stride,
                     [](const uint16_t* p) { return load_f16(p, Arch{}); }, [](uint16_t h) { return fp16_to_fp32(h); });
}

template <class Arch>
void gemm_bf16(const void* w, size_t w_stride, const void* a, size_t a_stride, int64_t n, int64_t rows, int64_t tokens,
               float* y, int64_t y_stride) {
    gemm_16bit<Arch>(w, w_stride, a, a_stride, n, rows, tokens, y, y_stride,
                     [](const uint16_t* p) { return load_bf16(p, Arch{}); }, [](uint16_t h) { return bf16_to_fp32(h); });
}

}  // namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE
