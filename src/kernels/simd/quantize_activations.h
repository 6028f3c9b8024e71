// SIMD activation quantization. The scales come from the same float operations as the
// scalar reference (max is exact in any order), and rounding uses the same mode, so the
// quantized bytes are identical to the reference's.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include <xsimd/xsimd.hpp>

#include "kernels/activation_formats.h"
#include "kernels/fp16.h"

namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE {

// max |x| over a whole number of batches (the 32- and 256-element blocks).
template <class Arch, int N>
float max_abs_block(const float* x) {
    using B = xsimd::batch<float, Arch>;
    static_assert(N % B::size == 0);
    B acc(0.0f);
    for (int i = 0; i < N; i += static_cast<int>(B::size)) acc = xsimd::max(acc, xsimd::abs(B::load_unaligned(x + i)));
    return xsimd::reduce_max(acc);
}

template <class Arch>
float max_abs(const float* x, int64_t n) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    B acc(0.0f);
    int64_t i = 0;
    for (; i + W <= n; i += W) acc = xsimd::max(acc, xsimd::abs(B::load_unaligned(x + i)));
    float amax = xsimd::reduce_max(acc);
    for (; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    return amax;
}

// q[j] = round_half_even(x[j] * scale) for a multiple of the batch width, via int32.
template <class Arch>
void scale_round_even(const float* x, float scale, int32_t* q, int64_t n) {
    using B = xsimd::batch<float, Arch>;
    for (int64_t i = 0; i < n; i += B::size)
        xsimd::batch_cast<int32_t>(xsimd::nearbyint(B::load_unaligned(x + i) * B(scale))).store_unaligned(q + i);
}

template <class Arch>
float quantize_block32(const float* x, int8_t out[QK8_0], int32_t* sum) {
    const float amax = max_abs_block<Arch, QK8_0>(x);
    const float inverse = amax != 0.0f ? 127.0f / amax : 0.0f;
    alignas(64) int32_t q[QK8_0];
    scale_round_even<Arch>(x, inverse, q, QK8_0);
    int32_t s = 0;
    for (int j = 0; j < QK8_0; ++j) {
        out[j] = static_cast<int8_t>(q[j]);
        s += q[j];
    }
    *sum = s;
    return amax / 127.0f;
}

template <class Arch>
void quantize_q8_0(const float* x, void* out, int64_t n) {
    auto* blocks = static_cast<BlockQ8_0*>(out);
    int32_t sum;
    for (int64_t b = 0; b < n / QK8_0; ++b) blocks[b].d = fp32_to_fp16(quantize_block32<Arch>(x + b * QK8_0, blocks[b].qs, &sum));
}

template <class Arch>
void quantize_q8_1(const float* x, void* out, int64_t n) {
    auto* blocks = static_cast<BlockQ8_1*>(out);
    for (int64_t b = 0; b < n / QK8_0; ++b) {
        int32_t sum;
        const float d = quantize_block32<Arch>(x + b * QK8_0, blocks[b].qs, &sum);
        blocks[b].d = fp32_to_fp16(d);
        blocks[b].s = fp32_to_fp16(d * static_cast<float>(sum));
    }
}

template <class Arch>
void quantize_q8_k(const float* x, void* out, int64_t n) {
    using B = xsimd::batch<float, Arch>;
    auto* blocks = static_cast<BlockQ8_K*>(out);
    for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
        BlockQ8_K& block = blocks[b];
        const float amax = max_abs_block<Arch, QK_K>(x);
        if (amax == 0.0f) {
            std::memset(&block, 0, sizeof block);
            continue;
        }
        int j = 0;
        while (std::fabs(x[j]) != amax) ++j;  // the first element of largest magnitude
        const float scale = -127.0f / x[j];
        alignas(64) int32_t q[QK_K];
        for (int i = 0; i < QK_K; i += static_cast<int>(B::size)) {
            const auto r = xsimd::min(xsimd::nearbyint(B::load_unaligned(x + i) * B(scale)), B(127.0f));
            xsimd::batch_cast<int32_t>(r).store_unaligned(q + i);
        }
        for (int g = 0; g < QK_K / 16; ++g) {
            int32_t sum = 0;
            for (int l = 0; l < 16; ++l) {
                block.qs[16 * g + l] = static_cast<int8_t>(q[16 * g + l]);
                sum += q[16 * g + l];
            }
            block.bsums[g] = static_cast<int16_t>(sum);
        }
        block.d = 1.0f / scale;
    }
}

template <class Arch>
void quantize_i8(const float* x, void* out, int64_t n) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    auto* header = static_cast<I8RowHeader*>(out);
    auto* q = static_cast<int8_t*>(out) + sizeof(I8RowHeader);
    const double max = std::fmax(1e-5, static_cast<double>(max_abs<Arch>(x, n)));
    const auto scale = static_cast<float>(127.0 / max);
    int32_t sum = 0;
    int64_t i = 0;
    alignas(64) int32_t chunk[W];
    for (; i + W <= n; i += W) {
        // Half away from zero, like C's round() in the reference.
        const auto r = xsimd::clip(xsimd::round(B::load_unaligned(x + i) * B(scale)), B(-128.0f), B(127.0f));
        xsimd::batch_cast<int32_t>(r).store_unaligned(chunk);
        for (int64_t l = 0; l < W; ++l) {
            q[i + l] = static_cast<int8_t>(chunk[l]);
            sum += chunk[l];
        }
    }
    for (; i < n; ++i) {
        q[i] = static_cast<int8_t>(std::fmin(127.0f, std::fmax(-128.0f, std::round(x[i] * scale))));
        sum += q[i];
    }
    *header = I8RowHeader{scale, sum, {}};
}

}  // namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE
