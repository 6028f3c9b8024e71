// SIMD dot products of quantized weight rows with quantized activation rows, written once
// over an Int8 operation set (int8_ops.h). Each mirrors its scalar reference in
// kernels/scalar/: the integer part is exact, and the K-quant and ternary kernels even
// scale and accumulate in the same order, so they match the reference bit for bit.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/activation_formats.h"
#include "kernels/kquant_scales.h"
#include "kernels/simd/int8_ops.h"
#include "kernels/ternary_decode.h"
#include "quant/blocks.h"
#include "quant/fp4.h"

namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE {

// The float scale of a 32-element weight block: its float16 d, or MXFP4's halved E8M0
// exponent (the scalar reference's order: weight scale times activation scale).
template <class Ops, class Block>
[[gnu::always_inline]] inline float weight_scale(const Block& b) {
    if constexpr (std::is_same_v<Block, BlockMXFP4>) return e8m0_to_f32_half(b.e);
    else return Ops::half(b.d);
}

// The 32-element block types: two blocks per iteration into two accumulators, so that
// consecutive fused multiply-adds do not wait on each other. For Q4_1/Q5_1 (`with_min`)
// each block also adds m * (da * sum(qa)), the share of the block's minimum.
template <class Ops, bool with_min, class Block, class ActBlock, class Decode>
float dot_blocks32(const void* w, const void* a, int64_t n, Decode decode) {
    const auto* wb = static_cast<const Block*>(w);
    const auto* ab = static_cast<const ActBlock*>(a);
    using Floats = typename Ops::Floats;
    Floats acc0(0.0f), acc1(0.0f);
    float min0 = 0.0f, min1 = 0.0f;
    auto block = [&](int64_t b, Floats& acc, float& min_sum) {
        const float d = weight_scale<Ops>(wb[b]) * Ops::half(ab[b].d);
        acc = xsimd::fma(Ops::dot(decode(wb[b]), Ops::load(ab[b].qs)), Floats(d), acc);
        if constexpr (with_min) min_sum += Ops::half(wb[b].m) * Ops::half(ab[b].s);
    };
    const int64_t blocks = n / QK8_0;
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
        block(b, acc0, min0);
        block(b + 1, acc1, min1);
    }
    if (b < blocks) block(b, acc0, min0);
    return xsimd::reduce_add(acc0 + acc1) + (min0 + min1);
}

// The fifth bit of each Q5 element, as 0x10 in its byte.
template <class Ops>
typename Ops::Vec q5_high_bits(const uint8_t qh[4]) {
    uint32_t bits;
    std::memcpy(&bits, qh, 4);
    return Ops::bit_and(Ops::bits_to_bytes(bits), Ops::splat(0x10));
}

template <class Ops>
float dot_q8_0(const void* w, const void* a, int64_t n) {
    return dot_blocks32<Ops, false, BlockQ8_0, BlockQ8_0>(w, a, n, [](const BlockQ8_0& b) { return Ops::load(b.qs); });
}

template <class Ops>
float dot_q4_0(const void* w, const void* a, int64_t n) {
    return dot_blocks32<Ops, false, BlockQ4_0, BlockQ8_0>(
        w, a, n, [](const BlockQ4_0& b) { return Ops::sub(Ops::nibbles(b.qs), Ops::splat(8)); });
}

template <class Ops>
float dot_q4_1(const void* w, const void* a, int64_t n) {
    return dot_blocks32<Ops, true, BlockQ4_1, BlockQ8_1>(w, a, n, [](const BlockQ4_1& b) { return Ops::nibbles(b.qs); });
}

template <class Ops>
float dot_q5_0(const void* w, const void* a, int64_t n) {
    return dot_blocks32<Ops, false, BlockQ5_0, BlockQ8_0>(w, a, n, [](const BlockQ5_0& b) {
        return Ops::sub(Ops::bit_or(Ops::nibbles(b.qs), q5_high_bits<Ops>(b.qh)), Ops::splat(16));
    });
}

template <class Ops>
float dot_q5_1(const void* w, const void* a, int64_t n) {
    return dot_blocks32<Ops, true, BlockQ5_1, BlockQ8_1>(
        w, a, n, [](const BlockQ5_1& b) { return Ops::bit_or(Ops::nibbles(b.qs), q5_high_bits<Ops>(b.qh)); });
}

// MXFP4: the nibbles index the doubled E2M1 values (int8 within [-12, 12]).
template <class Ops>
[[gnu::always_inline]] inline typename Ops::Vec mxfp4_values(const BlockMXFP4& b) {
    return Ops::lookup16(kE2M1Doubled, Ops::nibbles(b.qs));
}

template <class Ops>
float dot_mxfp4(const void* w, const void* a, int64_t n) {
    return dot_blocks32<Ops, false, BlockMXFP4, BlockQ8_0>(
        w, a, n, [](const BlockMXFP4& b) { return mxfp4_values<Ops>(b); });
}

// --- K-quants: 8 chunks of 32 elements per super-block, two 16-element scales each.

// Each K-quant dot is a float sum over super-blocks of one per-block term (the kblock_*
// functions), which quant_gemm.h evaluates for a tile of rows x tokens in the same order.
template <class Ops>
[[gnu::always_inline]] inline float kblock_q2_k(const BlockQ2_K& wb, const BlockQ8_K& ab) {
    typename Ops::Ints acc(0);
    for (int c = 0; c < 8; ++c) {
        const auto q = Ops::shift_right_and(Ops::load(wb.qs + 32 * (c / 4)), 2 * (c % 4), 3);
        acc += Ops::dot_scaled16(q, Ops::load(ab.qs + 32 * c), wb.scales[2 * c] & 0x0f, wb.scales[2 * c + 1] & 0x0f);
    }
    int32_t min_sum = 0;
    for (int g = 0; g < 16; ++g) min_sum += ab.bsums[g] * (wb.scales[g] >> 4);
    return ab.d * Ops::half(wb.d) * static_cast<float>(xsimd::reduce_add(acc)) -
           ab.d * Ops::half(wb.dmin) * static_cast<float>(min_sum);
}

template <class Ops>
float dot_q2_k(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ2_K*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) sum += kblock_q2_k<Ops>(wb[b], ab[b]);
    return sum;
}

template <class Ops>
[[gnu::always_inline]] inline float kblock_q3_k(const BlockQ3_K& wb, const BlockQ8_K& ab) {
    const auto four = Ops::splat(4);
    int8_t scales[16];
    unpack_q3_k_scales(wb.scales, scales);
    const auto hmask = Ops::load(wb.hmask);
    typename Ops::Ints acc(0);
    for (int c = 0; c < 8; ++c) {
        const auto low = Ops::shift_right_and(Ops::load(wb.qs + 32 * (c / 4)), 2 * (c % 4), 3);
        const auto high = Ops::shift_left_small(Ops::shift_right_and(hmask, c, 1), 2);
        const auto q = Ops::sub(Ops::bit_or(low, high), four);  // low - 4 unless the high bit is set
        acc += Ops::dot_scaled16(q, Ops::load(ab.qs + 32 * c), scales[2 * c], scales[2 * c + 1]);
    }
    return ab.d * Ops::half(wb.d) * static_cast<float>(xsimd::reduce_add(acc));
}

template <class Ops>
float dot_q3_k(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ3_K*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) sum += kblock_q3_k<Ops>(wb[b], ab[b]);
    return sum;
}

template <class Ops>
[[gnu::always_inline]] inline float dot_q4_k_or_q5_k(const uint8_t* qs, const uint8_t* qh, const uint8_t* raw_scales,
                                                     float d, float dmin, const BlockQ8_K& act) {
    uint8_t sc[8], m[8];
    unpack_q4_k_scales(raw_scales, sc, m);
    const auto high_bits = qh ? Ops::load(qh) : Ops::splat(0);
    typename Ops::Ints acc(0);
    for (int j = 0; j < 4; ++j) {
        const auto raw = Ops::load(qs + 32 * j);
        auto lo = Ops::bit_and(raw, Ops::splat(0x0f));
        auto hi = Ops::shift_right_and(raw, 4, 0x0f);
        if (qh) {
            lo = Ops::bit_or(lo, Ops::shift_left_small(Ops::shift_right_and(high_bits, 2 * j, 1), 4));
            hi = Ops::bit_or(hi, Ops::shift_left_small(Ops::shift_right_and(high_bits, 2 * j + 1, 1), 4));
        }
        acc += Ops::dot_scaled16(lo, Ops::load(act.qs + 64 * j), sc[2 * j], sc[2 * j]);
        acc += Ops::dot_scaled16(hi, Ops::load(act.qs + 64 * j + 32), sc[2 * j + 1], sc[2 * j + 1]);
    }
    int32_t min_sum = 0;
    for (int g = 0; g < 16; ++g) min_sum += act.bsums[g] * m[g / 2];
    return act.d * d * static_cast<float>(xsimd::reduce_add(acc)) - act.d * dmin * static_cast<float>(min_sum);
}

template <class Ops>
[[gnu::always_inline]] inline float kblock_q4_k(const BlockQ4_K& wb, const BlockQ8_K& ab) {
    return dot_q4_k_or_q5_k<Ops>(wb.qs, nullptr, wb.scales, Ops::half(wb.d), Ops::half(wb.dmin), ab);
}

template <class Ops>
[[gnu::always_inline]] inline float kblock_q5_k(const BlockQ5_K& wb, const BlockQ8_K& ab) {
    return dot_q4_k_or_q5_k<Ops>(wb.qs, wb.qh, wb.scales, Ops::half(wb.d), Ops::half(wb.dmin), ab);
}

template <class Ops>
float dot_q4_k(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ4_K*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) sum += kblock_q4_k<Ops>(wb[b], ab[b]);
    return sum;
}

template <class Ops>
float dot_q5_k(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ5_K*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) sum += kblock_q5_k<Ops>(wb[b], ab[b]);
    return sum;
}

template <class Ops>
[[gnu::always_inline]] inline float kblock_q6_k(const BlockQ6_K& wb, const BlockQ8_K& ab) {
    const auto thirty_two = Ops::splat(32);
    typename Ops::Ints acc(0);
    for (int c = 0; c < 8; ++c) {
        const int h = c / 4, r = c % 4;
        const auto low_bytes = Ops::load(wb.ql + 64 * h + 32 * (r % 2));
        const auto nibble = r < 2 ? Ops::bit_and(low_bytes, Ops::splat(0x0f)) : Ops::shift_right_and(low_bytes, 4, 0x0f);
        const auto high = Ops::shift_right_and(Ops::load(wb.qh + 32 * h), 2 * r, 3);
        const auto q = Ops::sub(Ops::bit_or(nibble, Ops::shift_left_small(high, 4)), thirty_two);
        acc += Ops::dot_scaled16(q, Ops::load(ab.qs + 32 * c), wb.scales[2 * c], wb.scales[2 * c + 1]);
    }
    return ab.d * Ops::half(wb.d) * static_cast<float>(xsimd::reduce_add(acc));
}

template <class Ops>
float dot_q6_k(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ6_K*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) sum += kblock_q6_k<Ops>(wb[b], ab[b]);
    return sum;
}

// --- Ternary weights.

template <class Ops>
float dot_tq1_0(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockTQ1_0*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        // Base-3 digits do not unpack with shifts; decode to bytes, then multiply in SIMD.
        alignas(32) int8_t q[QK_K];
        decode_tq1_0(wb[b], q);
        typename Ops::Ints acc(0);
        for (int c = 0; c < 8; ++c) acc += Ops::dot_scaled16(Ops::load(q + 32 * c), Ops::load(ab[b].qs + 32 * c), 1, 1);
        sum += static_cast<float>(xsimd::reduce_add(acc)) * (Ops::half(wb[b].d) * ab[b].d);
    }
    return sum;
}

template <class Ops>
float dot_tq2_0(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockTQ2_0*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    const auto one = Ops::splat(1);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        typename Ops::Ints acc(0);
        for (int c = 0; c < 8; ++c) {
            const auto q = Ops::sub(Ops::shift_right_and(Ops::load(wb[b].qs + 32 * (c / 4)), 2 * (c % 4), 3), one);
            acc += Ops::dot_scaled16(q, Ops::load(ab[b].qs + 32 * c), 1, 1);
        }
        sum += static_cast<float>(xsimd::reduce_add(acc)) * (Ops::half(wb[b].d) * ab[b].d);
    }
    return sum;
}

template <class Ops>
float dot_i2_s(const void* w, const void* a, int64_t n) {
    const auto* packed = static_cast<const uint8_t*>(w);
    const auto& header = *static_cast<const I8RowHeader*>(a);
    const auto* q = static_cast<const int8_t*>(a) + sizeof(I8RowHeader);
    typename Ops::Ints acc(0);
    for (int64_t block = 0; block < n / 128; ++block) {
        const auto bytes = Ops::load(packed + 32 * block);
        for (int group = 0; group < 4; ++group) {
            const auto codes = Ops::shift_right_and(bytes, 6 - 2 * group, 3);
            acc += Ops::dot_scaled16(codes, Ops::load(q + 128 * block + 32 * group), 1, 1);
        }
    }
    return static_cast<float>(xsimd::reduce_add(acc) - header.sum) / header.scale;
}

}  // namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE
