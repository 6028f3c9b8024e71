// SIMD float kernels on xsimd batches, written once for every instruction set. Loops run
// whole batches and finish the tail element by element.
#pragma once

#include <cmath>
#include <cstdint>

#include <immintrin.h>
#include <xsimd/xsimd.hpp>

#include "kernels/fp16.h"
#include "kernels/kernel_table.h"

namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE {

// Loading 16-bit floats as float32 batches. F16C (with AVX2 and AVX-512) converts in one
// instruction; SSE4.2 has none, so there the half is rebuilt from its bits: shifting
// exponent and mantissa into float position and multiplying by 2^112 rebiases the
// exponent and handles subnormals exactly; inf/nan get their exponent set explicitly.
#if defined(__AVX512F__)
inline xsimd::batch<float, xsimd::avx512bw> load_f16(const uint16_t* p, xsimd::avx512bw) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline xsimd::batch<float, xsimd::avx512bw> load_bf16(const uint16_t* p, xsimd::avx512bw) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
#endif
#if defined(__AVX2__) && defined(__F16C__)
inline xsimd::batch<float, xsimd::fma3<xsimd::avx2>> load_f16(const uint16_t* p, xsimd::fma3<xsimd::avx2>) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline xsimd::batch<float, xsimd::fma3<xsimd::avx2>> load_bf16(const uint16_t* p, xsimd::fma3<xsimd::avx2>) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
#endif
#if defined(__SSE4_2__)
inline xsimd::batch<float, xsimd::sse4_2> load_f16(const uint16_t* p, xsimd::sse4_2) {
    using U = xsimd::batch<uint32_t, xsimd::sse4_2>;
    const U h = _mm_cvtepu16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    const U sign = (h & U(0x8000u)) << 16;
    const U magnitude_bits = (h & U(0x7fffu)) << 13;
    auto magnitude = xsimd::bitwise_cast<float>(magnitude_bits) * xsimd::batch<float, xsimd::sse4_2>(0x1p112f);
    const auto is_special = (h & U(0x7c00u)) == U(0x7c00u);  // inf or nan
    const U special = magnitude_bits | U(0x7f800000u);
    magnitude = xsimd::select(xsimd::batch_bool_cast<float>(is_special), xsimd::bitwise_cast<float>(special), magnitude);
    return xsimd::bitwise_cast<float>(xsimd::bitwise_cast<uint32_t>(magnitude) | sign);
}
inline xsimd::batch<float, xsimd::sse4_2> load_bf16(const uint16_t* p, xsimd::sse4_2) {
    const __m128i wide = _mm_cvtepu16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    return _mm_castsi128_ps(_mm_slli_epi32(wide, 16));
}
#endif

// K dots of one vector a with K vectors b[k]: dot_f32's arithmetic for each, with a's
// batches loaded once for all K. dot_f32 is the case K = 1, so a score computed K at a time
// (attention_scores) is the same float as one computed alone.
template <class Arch, int K>
void dot_f32_many(const float* a, const float* const (&b)[K], int64_t n, float (&out)[K]) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    B acc[K][4];  // four independent chains per dot hide FMA latency
    for (int k = 0; k < K; ++k) acc[k][0] = acc[k][1] = acc[k][2] = acc[k][3] = B(0.0f);
    int64_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W)
        for (int c = 0; c < 4; ++c) {
            const B av = B::load_unaligned(a + i + c * W);
            for (int k = 0; k < K; ++k) acc[k][c] = xsimd::fma(av, B::load_unaligned(b[k] + i + c * W), acc[k][c]);
        }
    for (; i + W <= n; i += W) {
        const B av = B::load_unaligned(a + i);
        for (int k = 0; k < K; ++k) acc[k][0] = xsimd::fma(av, B::load_unaligned(b[k] + i), acc[k][0]);
    }
    for (int k = 0; k < K; ++k) {
        float sum = xsimd::reduce_add((acc[k][0] + acc[k][1]) + (acc[k][2] + acc[k][3]));
        for (int64_t j = i; j < n; ++j) sum += a[j] * b[k][j];
        out[k] = sum;
    }
}

template <class Arch>
float dot_f32(const float* a, const float* b, int64_t n) {
    const float* const rows[1] = {b};
    float out[1];
    dot_f32_many<Arch, 1>(a, rows, n, out);
    return out[0];
}

// Attention scores of one query: scores[j] = dot_f32(query, keys + j * key_stride, n) * scale
// for j < count, four keys per pass over the query.
template <class Arch>
void attention_scores(const float* query, const float* keys, int64_t key_stride, int64_t count, int64_t n, float scale,
                      float* scores) {
    constexpr int K = 4;
    int64_t j = 0;
    for (; j + K <= count; j += K) {
        const float* const rows[K] = {keys + j * key_stride, keys + (j + 1) * key_stride, keys + (j + 2) * key_stride,
                                      keys + (j + 3) * key_stride};
        float out[K];
        dot_f32_many<Arch, K>(query, rows, n, out);
        for (int k = 0; k < K; ++k) scores[j + k] = out[k] * scale;
    }
    for (; j < count; ++j) scores[j] = dot_f32<Arch>(query, keys + j * key_stride, n) * scale;
}

// The attention output of one query: out = sum over j < count of weights[j] * values[j]
// (values[j] at values + j * value_stride), each element one chain of fused multiply-adds in
// j order from zero, as axpy would build it, but kept in registers across all j: up to
// four batches of out at a time.
template <class Arch>
void attention_values(const float* weights, const float* values, int64_t value_stride, int64_t count, int64_t n,
                      float* out) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    int64_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        B acc[4] = {B(0.0f), B(0.0f), B(0.0f), B(0.0f)};
        for (int64_t j = 0; j < count; ++j) {
            const float* v = values + j * value_stride + i;
            const B s(weights[j]);
            for (int c = 0; c < 4; ++c) acc[c] = xsimd::fma(s, B::load_unaligned(v + c * W), acc[c]);
        }
        for (int c = 0; c < 4; ++c) acc[c].store_unaligned(out + i + c * W);
    }
    for (; i + W <= n; i += W) {
        B acc(0.0f);
        for (int64_t j = 0; j < count; ++j) acc = xsimd::fma(B(weights[j]), B::load_unaligned(values + j * value_stride + i), acc);
        acc.store_unaligned(out + i);
    }
    for (; i < n; ++i) {
        float acc = 0.0f;
        for (int64_t j = 0; j < count; ++j) acc += weights[j] * values[j * value_stride + i];
        out[i] = acc;
    }
}

// The elements past the last whole batch, added one by one to the reduced sum. One function
// for dot_16bit and the tiled GEMM (float_gemm.h), so both compile to the same arithmetic.
template <class Scalar>
inline float finish_16bit(float sum, const uint16_t* weight, const float* x, int64_t i, int64_t n, Scalar scalar) {
    for (; i < n; ++i) sum += scalar(weight[i]) * x[i];
    return sum;
}

// Shared by F16 and BF16: `load` turns W 16-bit values into a float batch.
template <class Arch, class Load>
float dot_16bit(const uint16_t* weight, const float* x, int64_t n, Load load, float (*scalar)(uint16_t)) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    B acc0(0.0f), acc1(0.0f);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        acc0 = xsimd::fma(load(weight + i), B::load_unaligned(x + i), acc0);
        acc1 = xsimd::fma(load(weight + i + W), B::load_unaligned(x + i + W), acc1);
    }
    for (; i + W <= n; i += W) acc0 = xsimd::fma(load(weight + i), B::load_unaligned(x + i), acc0);
    return finish_16bit(xsimd::reduce_add(acc0 + acc1), weight, x, i, n, scalar);
}

template <class Arch>
float dot_f16(const uint16_t* weight, const float* x, int64_t n) {
    return dot_16bit<Arch>(weight, x, n, [](const uint16_t* p) { return load_f16(p, Arch{}); },
                           [](uint16_t h) { return fp16_to_fp32(h); });
}

template <class Arch>
float dot_bf16(const uint16_t* weight, const float* x, int64_t n) {
    return dot_16bit<Arch>(weight, x, n, [](const uint16_t* p) { return load_bf16(p, Arch{}); },
                           [](uint16_t h) { return bf16_to_fp32(h); });
}

template <class Arch>
void rms_norm(const float* x, const float* weight, float eps, float* out, int64_t n) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    B acc(0.0f);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const B v = B::load_unaligned(x + i);
        acc = xsimd::fma(v, v, acc);
    }
    double sum_squares = xsimd::reduce_add(acc);
    for (; i < n; ++i) sum_squares += static_cast<double>(x[i]) * x[i];
    const auto inverse_rms = static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(n) + eps));
    const B scale(inverse_rms);
    for (i = 0; i + W <= n; i += W)
        ((B::load_unaligned(x + i) * scale) * B::load_unaligned(weight + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = x[i] * inverse_rms * weight[i];
}

template <class Arch>
void softmax(float* x, int64_t n) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    B max_batch(-INFINITY);
    int64_t i = 0;
    for (; i + W <= n; i += W) max_batch = xsimd::max(max_batch, B::load_unaligned(x + i));
    float max = xsimd::reduce_max(max_batch);
    for (; i < n; ++i) max = std::fmax(max, x[i]);
    B sum_batch(0.0f);
    for (i = 0; i + W <= n; i += W) {
        const B e = xsimd::exp(B::load_unaligned(x + i) - B(max));
        e.store_unaligned(x + i);
        sum_batch += e;
    }
    double sum = xsimd::reduce_add(sum_batch);
    for (; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += x[i];
    }
    const auto inverse = static_cast<float>(1.0 / sum);
    for (i = 0; i + W <= n; i += W) (B::load_unaligned(x + i) * B(inverse)).store_unaligned(x + i);
    for (; i < n; ++i) x[i] *= inverse;
}

template <class Arch>
void axpy(float a, const float* x, float* y, int64_t n) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    int64_t i = 0;
    for (; i + W <= n; i += W) xsimd::fma(B(a), B::load_unaligned(x + i), B::load_unaligned(y + i)).store_unaligned(y + i);
    for (; i < n; ++i) y[i] += a * x[i];
}

template <class Arch>
void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const B g = B::load_unaligned(gate + i);
        (g / (B(1.0f) + xsimd::exp(-g)) * B::load_unaligned(up + i)).store_unaligned(out + i);
    }
    for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

template <class Arch>
void relu2_mul(const float* gate, const float* up, float* out, int64_t n) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const B r = xsimd::max(B::load_unaligned(gate + i), B(0.0f));
        (r * r * B::load_unaligned(up + i)).store_unaligned(out + i);
    }
    for (; i < n; ++i) {
        const float r = std::fmax(gate[i], 0.0f);
        out[i] = r * r * up[i];
    }
}

// The scalar reference's formula lane by lane, xsimd::tanh for std::tanh.
template <class Arch>
void gelu_tanh_mul(const float* gate, const float* up, float* out, int64_t n) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const B x = B::load_unaligned(gate + i);
        const B inner = B(kSqrt2OverPi) * (x + B(0.044715f) * x * x * x);
        (B(0.5f) * x * (B(1.0f) + xsimd::tanh(inner)) * B::load_unaligned(up + i)).store_unaligned(out + i);
    }
    for (; i < n; ++i) {
        const float x = gate[i];
        out[i] = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x))) * up[i];
    }
}

// Swaps neighbouring lanes: (x0, x1, x2, x3, ...) -> (x1, x0, x3, x2, ...).
struct SwapPairs {
    static constexpr uint32_t get(uint32_t i, uint32_t) { return i ^ 1u; }
};

template <class Arch>
void rope(float* head, const float* cos, const float* sin, int64_t n_rot, RopeLayout layout) {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t W = B::size;
    const int64_t half = n_rot / 2;
    int64_t i = 0;
    if (layout == RopeLayout::Neox) {
        // Pairs (x[i], x[i + half]): both halves are contiguous runs.
        for (; i + W <= half; i += W) {
            const B c = B::load_unaligned(cos + i), s = B::load_unaligned(sin + i);
            const B a = B::load_unaligned(head + i), b = B::load_unaligned(head + half + i);
            (a * c - b * s).store_unaligned(head + i);
            (b * c + a * s).store_unaligned(head + half + i);
        }
        for (; i < half; ++i) {
            const float a = head[i], b = head[i + half];
            head[i] = a * cos[i] - b * sin[i];
            head[i + half] = b * cos[i] + a * sin[i];
        }
        return;
    }
    // Pairs (x[2i], x[2i+1]): x' = x * (c0, c0, c1, c1, ...) + swap(x) * (-s0, s0, -s1, s1, ...).
    constexpr auto swap = xsimd::make_batch_constant<uint32_t, Arch, SwapPairs>();
    for (; i + W <= half; i += W) {
        const B c = B::load_unaligned(cos + i), s = B::load_unaligned(sin + i);
        for (int part = 0; part < 2; ++part) {
            const B cc = part == 0 ? xsimd::zip_lo(c, c) : xsimd::zip_hi(c, c);
            const B ss = part == 0 ? xsimd::zip_lo(-s, s) : xsimd::zip_hi(-s, s);
            float* x = head + 2 * i + part * W;
            const B v = B::load_unaligned(x);
            (v * cc + xsimd::swizzle(v, swap) * ss).store_unaligned(x);
        }
    }
    for (; i < half; ++i) {
        const float a = head[2 * i], b = head[2 * i + 1];
        head[2 * i] = a * cos[i] - b * sin[i];
        head[2 * i + 1] = b * cos[i] + a * sin[i];
    }
}

}  // namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE
