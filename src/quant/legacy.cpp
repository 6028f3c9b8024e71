// The 32-element block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
//
// Within a block the low nibbles (qs[j] & 0x0f) hold elements 0..15 and the high nibbles
// elements 16..31. Q5_* keep each element's fifth bit in qh, a little-endian uint32 whose
// bit j belongs to element j. Symmetric types decode x = d * (q - offset), asymmetric ones
// x = d * q + m, with d and m float16.
//
// The quantizers follow gguf.quants (itself the bit-exact twin of ggml's reference
// quantizers): symmetric types take the signed value of largest magnitude (the first one)
// as the scale's anchor, asymmetric ones the block's min and max; quants are truncated
// from x * (1/d) plus an offset and clipped; Q8_0 rounds half away from zero.
#include <algorithm>
#include <cstddef>

#include "quant/block_io.h"
#include "quant/blocks.h"
#include "quant/numpy_semantics.h"
#include "quant/rows.h"

namespace lockstep::rows {

namespace ns = numpy_semantics;

void dequantize_q4_0(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK4_0; ++b, src += sizeof(BlockQ4_0), dst += QK4_0) {
        const float d = load_f16(src + offsetof(BlockQ4_0, d));
        const uint8_t* qs = src + offsetof(BlockQ4_0, qs);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            dst[j] = d * static_cast<float>((qs[j] & 0x0f) - 8);
            dst[j + QK4_0 / 2] = d * static_cast<float>((qs[j] >> 4) - 8);
        }
    }
}

void dequantize_q4_1(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK4_1; ++b, src += sizeof(BlockQ4_1), dst += QK4_1) {
        const float d = load_f16(src + offsetof(BlockQ4_1, d));
        const float m = load_f16(src + offsetof(BlockQ4_1, m));
        const uint8_t* qs = src + offsetof(BlockQ4_1, qs);
        for (int j = 0; j < QK4_1 / 2; ++j) {
            dst[j] = ns::add(d * static_cast<float>(qs[j] & 0x0f), m);
            dst[j + QK4_1 / 2] = ns::add(d * static_cast<float>(qs[j] >> 4), m);
        }
    }
}

void dequantize_q5_0(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK5_0; ++b, src += sizeof(BlockQ5_0), dst += QK5_0) {
        const float d = load_f16(src + offsetof(BlockQ5_0, d));
        const uint32_t qh = load_u32(src + offsetof(BlockQ5_0, qh));
        const uint8_t* qs = src + offsetof(BlockQ5_0, qs);
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int lo = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + QK5_0 / 2)) & 1u) << 4);
            dst[j] = d * static_cast<float>(lo - 16);
            dst[j + QK5_0 / 2] = d * static_cast<float>(hi - 16);
        }
    }
}

void dequantize_q5_1(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK5_1; ++b, src += sizeof(BlockQ5_1), dst += QK5_1) {
        const float d = load_f16(src + offsetof(BlockQ5_1, d));
        const float m = load_f16(src + offsetof(BlockQ5_1, m));
        const uint32_t qh = load_u32(src + offsetof(BlockQ5_1, qh));
        const uint8_t* qs = src + offsetof(BlockQ5_1, qs);
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int lo = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + QK5_1 / 2)) & 1u) << 4);
            dst[j] = ns::add(d * static_cast<float>(lo), m);
            dst[j + QK5_1 / 2] = ns::add(d * static_cast<float>(hi), m);
        }
    }
}

void dequantize_q8_0(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK8_0; ++b, src += sizeof(BlockQ8_0), dst += QK8_0) {
        const float d = load_f16(src + offsetof(BlockQ8_0, d));
        const auto* qs = reinterpret_cast<const int8_t*>(src + offsetof(BlockQ8_0, qs));
        for (int j = 0; j < QK8_0; ++j) dst[j] = static_cast<float>(qs[j]) * d;
    }
}

namespace {

// Packs 32 quants of up to 4 bits: element j in the low nibble of byte j, element j + 16
// in the high nibble (bits above the nibble shift out, as in numpy's uint8 arithmetic).
void pack_nibbles(const uint8_t* q, uint8_t* qs) {
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0x0f) | (q[j + 16] << 4));
}

// The fifth bits of 32 quants of up to 5 bits, as Q5_*'s little-endian qh word.
void pack_fifth_bits(const uint8_t* q, uint8_t* qh) {
    uint32_t bits = 0;
    for (int j = 0; j < 32; ++j) bits |= static_cast<uint32_t>((q[j] >> 4) != 0) << j;
    std::memcpy(qh, &bits, sizeof bits);
}

// Symmetric 4/5-bit quants: q = min(trunc(x * id + offset + 0.5), max_q); the byte cast
// truncates, so no separate trunc is needed.
template <int kOffset, int kMaxQ>
void quantize_symmetric(const float* x, float id, uint8_t* q) {
    for (int j = 0; j < 32; ++j)
        q[j] = std::min<uint8_t>(ns::cast_to_byte(x[j] * id + (static_cast<float>(kOffset) + 0.5f)), kMaxQ);
}

// Asymmetric 4/5-bit quants: q = min(trunc((x - min) * id + 0.5), max_q).
template <int kMaxQ>
void quantize_asymmetric(const float* x, float min, float id, uint8_t* q) {
    for (int j = 0; j < 32; ++j) q[j] = std::min<uint8_t>(ns::cast_to_byte((x[j] - min) * id + 0.5f), kMaxQ);
}

}  // namespace

void quantize_q4_0(const float* src, uint8_t* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK4_0; ++b, src += QK4_0, dst += sizeof(BlockQ4_0)) {
        const float max = src[ns::argmax_abs(src, QK4_0)];
        const float d = max / -8.0f;
        uint8_t q[QK4_0];
        quantize_symmetric<8, 15>(src, ns::reciprocal_or_zero(d), q);
        store_f16(dst + offsetof(BlockQ4_0, d), d);
        pack_nibbles(q, dst + offsetof(BlockQ4_0, qs));
    }
}

void quantize_q4_1(const float* src, uint8_t* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK4_1; ++b, src += QK4_1, dst += sizeof(BlockQ4_1)) {
        const float max = ns::reduce_block32<true>(src);
        const float min = ns::reduce_block32<false>(src);
        const float d = (max - min) / 15.0f;
        uint8_t q[QK4_1];
        quantize_asymmetric<15>(src, min, ns::reciprocal_or_zero(d), q);
        store_f16(dst + offsetof(BlockQ4_1, d), d);
        store_f16(dst + offsetof(BlockQ4_1, m), min);
        pack_nibbles(q, dst + offsetof(BlockQ4_1, qs));
    }
}

void quantize_q5_0(const float* src, uint8_t* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK5_0; ++b, src += QK5_0, dst += sizeof(BlockQ5_0)) {
        const float max = src[ns::argmax_abs(src, QK5_0)];
        const float d = max / -16.0f;
        uint8_t q[QK5_0];
        quantize_symmetric<16, 31>(src, ns::reciprocal_or_zero(d), q);
        store_f16(dst + offsetof(BlockQ5_0, d), d);
        pack_fifth_bits(q, dst + offsetof(BlockQ5_0, qh));
        pack_nibbles(q, dst + offsetof(BlockQ5_0, qs));
    }
}

void quantize_q5_1(const float* src, uint8_t* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK5_1; ++b, src += QK5_1, dst += sizeof(BlockQ5_1)) {
        const float max = ns::reduce_block32<true>(src);
        const float min = ns::reduce_block32<false>(src);
        const float d = (max - min) / 31.0f;
        uint8_t q[QK5_1];
        quantize_asymmetric<31>(src, min, ns::reciprocal_or_zero(d), q);
        store_f16(dst + offsetof(BlockQ5_1, d), d);
        store_f16(dst + offsetof(BlockQ5_1, m), min);
        pack_fifth_bits(q, dst + offsetof(BlockQ5_1, qh));
        pack_nibbles(q, dst + offsetof(BlockQ5_1, qs));
    }
}

void quantize_q8_0(const float* src, uint8_t* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK8_0; ++b, src += QK8_0, dst += sizeof(BlockQ8_0)) {
        const float d = ns::max_abs(src, QK8_0) / 127.0f;
        const float id = ns::reciprocal_or_zero(d);
        store_f16(dst + offsetof(BlockQ8_0, d), d);
        uint8_t* qs = dst + offsetof(BlockQ8_0, qs);
        for (int j = 0; j < QK8_0; ++j) qs[j] = ns::cast_to_byte(ns::round_half_away(src[j] * id));
    }
}

}  // namespace lockstep::rows
