// Vectors of 32 int8 — one quantized block — and the few operations the quantized dot
// products need. xsimd has no widening int8 multiply-add, which is the whole point of
// these kernels, so this is the one place that speaks x86 intrinsics: SSSE3/SSE4.2 (two
// 16-byte halves) and AVX2 (one 32-byte register; the AVX-512 build uses it too, since
// quantized blocks are 32 bytes). Results are handed back as xsimd batches. Block scales
// (float16) are read with F16C where the instruction set has it.
//
// The multiply is _mm_maddubs_epi16 (unsigned x signed bytes, pairs summed to int16): the
// weight's sign is moved onto the activation first. No pair can saturate: weights are
// within [-128, 127] and activations within [-127, 127] (absmax quantization never makes
// -128), so a pair is at most 2 * 128 * 127 = 32512.
#pragma once

#include <cstdint>

#include <immintrin.h>
#include <xsimd/xsimd.hpp>

#include "kernels/fp16.h"

namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE {

#if defined(__AVX2__)
struct Avx2Int8 {
    using FloatArch = xsimd::fma3<xsimd::avx2>;
    using Floats = xsimd::batch<float, FloatArch>;
    using Ints = xsimd::batch<int32_t, FloatArch>;
    using Vec = __m256i;

    static float half(uint16_t h) { return _cvtsh_ss(h); }  // F16C
    static Vec load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
    static Vec splat(int8_t v) { return _mm256_set1_epi8(v); }
    // 16 bytes -> their 16 low nibbles, then their 16 high nibbles (the Q4 element order).
    static Vec nibbles(const uint8_t* p) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m256i both = _mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes);
        return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
    }
    // Byte i becomes 0xff when bit i of `bits` is set, else 0.
    static Vec bits_to_bytes(uint32_t bits) {
        // Give byte i a copy of the source byte i / 8, keep only bit i % 8, compare.
        const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                                                   _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                                     0x0101010101010101, 0x0000000000000000));
        const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
        return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    }
    // (x >> shift) & mask on each unsigned byte (the 16-bit shift's spill-over is masked).
    static Vec shift_right_and(Vec x, int shift, uint8_t mask) {
        return _mm256_and_si256(_mm256_srl_epi16(x, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8(static_cast<char>(mask)));
    }
    // x << shift for byte values that stay below 256 (no spill into the next byte).
    static Vec shift_left_small(Vec x, int shift) { return _mm256_sll_epi16(x, _mm_cvtsi32_si128(shift)); }
    static Vec bit_and(Vec a, Vec b) { return _mm256_and_si256(a, b); }
    static Vec bit_or(Vec a, Vec b) { return _mm256_or_si256(a, b); }
    static Vec sub(Vec a, Vec b) { return _mm256_sub_epi8(a, b); }
    // Byte i becomes table[index[i]], for indices 0..15 (a 16-entry lookup, as for MXFP4's codes).
    static Vec lookup16(const int8_t table[16], Vec index) {
        const __m256i entries = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table)));
        return _mm256_shuffle_epi8(entries, index);
    }

    // Float lanes whose sum is exactly sum(w[i] * a[i]) over the 32 bytes.
    static Floats dot(Vec w, Vec a) {
        const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
        return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
    }
    // Integer lanes summing to s0 * sum(w*a over bytes 0..15) + s1 * sum(over 16..31).
    static Ints dot_scaled16(Vec w, Vec a, int16_t s0, int16_t s1) {
        const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
        return _mm256_madd_epi16(pairs, _mm256_set_m128i(_mm_set1_epi16(s1), _mm_set1_epi16(s0)));
    }
};
#endif

#if defined(__SSE4_2__)
struct Sse42Int8 {
    using FloatArch = xsimd::sse4_2;
    using Floats = xsimd::batch<float, FloatArch>;
    using Ints = xsimd::batch<int32_t, FloatArch>;
    struct Vec {
        __m128i lo, hi;  // bytes 0..15 and 16..31
    };

    static float half(uint16_t h) { return fp16_to_fp32(h); }
    static Vec load(const void* p) {
        const auto* q = static_cast<const __m128i*>(p);
        return {_mm_loadu_si128(q), _mm_loadu_si128(q + 1)};
    }
    static Vec splat(int8_t v) { return {_mm_set1_epi8(v), _mm_set1_epi8(v)}; }
    static Vec nibbles(const uint8_t* p) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i mask = _mm_set1_epi8(0x0f);
        return {_mm_and_si128(bytes, mask), _mm_and_si128(_mm_srli_epi16(bytes, 4), mask)};
    }
    static Vec bits_to_bytes(uint32_t bits) {
        const __m128i word = _mm_set1_epi32(static_cast<int>(bits));
        const __m128i bit = _mm_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
        const __m128i lo = _mm_shuffle_epi8(word, _mm_set_epi64x(0x0101010101010101, 0x0000000000000000));
        const __m128i hi = _mm_shuffle_epi8(word, _mm_set_epi64x(0x0303030303030303, 0x0202020202020202));
        return {_mm_cmpeq_epi8(_mm_and_si128(lo, bit), bit), _mm_cmpeq_epi8(_mm_and_si128(hi, bit), bit)};
    }
    static Vec shift_right_and(Vec x, int shift, uint8_t mask) {
        const __m128i count = _mm_cvtsi32_si128(shift);
        const __m128i m = _mm_set1_epi8(static_cast<char>(mask));
        return {_mm_and_si128(_mm_srl_epi16(x.lo, count), m), _mm_and_si128(_mm_srl_epi16(x.hi, count), m)};
    }
    static Vec shift_left_small(Vec x, int shift) {
        const __m128i count = _mm_cvtsi32_si128(shift);
        return {_mm_sll_epi16(x.lo, count), _mm_sll_epi16(x.hi, count)};
    }
    static Vec bit_and(Vec a, Vec b) { return {_mm_and_si128(a.lo, b.lo), _mm_and_si128(a.hi, b.hi)}; }
    static Vec bit_or(Vec a, Vec b) { return {_mm_or_si128(a.lo, b.lo), _mm_or_si128(a.hi, b.hi)}; }
    static Vec sub(Vec a, Vec b) { return {_mm_sub_epi8(a.lo, b.lo), _mm_sub_epi8(a.hi, b.hi)}; }
    static Vec lookup16(const int8_t table[16], Vec index) {
        const __m128i entries = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table));
        return {_mm_shuffle_epi8(entries, index.lo), _mm_shuffle_epi8(entries, index.hi)};
    }

    static __m128i pair_sums(__m128i w, __m128i a) {
        return _mm_maddubs_epi16(_mm_sign_epi8(w, w), _mm_sign_epi8(a, w));
    }
    static Floats dot(Vec w, Vec a) {
        const __m128i ones = _mm_set1_epi16(1);
        const __m128i sum = _mm_add_epi32(_mm_madd_epi16(pair_sums(w.lo, a.lo), ones),
                                          _mm_madd_epi16(pair_sums(w.hi, a.hi), ones));
        return _mm_cvtepi32_ps(sum);
    }
    static Ints dot_scaled16(Vec w, Vec a, int16_t s0, int16_t s1) {
        return _mm_add_epi32(_mm_madd_epi16(pair_sums(w.lo, a.lo), _mm_set1_epi16(s0)),
                             _mm_madd_epi16(pair_sums(w.hi, a.hi), _mm_set1_epi16(s1)));
    }
};
#endif

}  // namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE
