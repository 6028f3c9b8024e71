// The k-quants: 256-element super-blocks of 16 or 8 sub-blocks, each sub-block with its own
// small integer scale (and for Q2_K, Q4_K, Q5_K its own min) relative to the float16 d and
// dmin of the super-block. Element e of a super-block is split over the packed arrays as
// the comments below say; every formula is the one gguf.quants evaluates, in float32 and in
// the same order (d * scale first, then times the quant, then minus the min).
#include <cstddef>

#include "quant/block_io.h"
#include "quant/blocks.h"
#include "quant/rows.h"

namespace lockstep::rows {

void dequantize_q2_k(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, src += sizeof(BlockQ2_K), dst += QK_K) {
        const float d = load_f16(src + offsetof(BlockQ2_K, d));
        const float dmin = load_f16(src + offsetof(BlockQ2_K, dmin));
        const uint8_t* scales = src + offsetof(BlockQ2_K, scales);  // 16 x (min << 4 | scale)
        const uint8_t* qs = src + offsetof(BlockQ2_K, qs);
        // Element g*128 + s*32 + j is bits 2s..2s+1 of qs[g*32 + j]; sub-block = element / 16.
        for (int g = 0; g < 2; ++g)
            for (int s = 0; s < 4; ++s)
                for (int half = 0; half < 2; ++half) {
                    const int sub = g * 8 + s * 2 + half;
                    const float dl = d * static_cast<float>(scales[sub] & 0x0f);
                    const float ml = dmin * static_cast<float>(scales[sub] >> 4);
                    for (int j = half * 16; j < half * 16 + 16; ++j)
                        dst[g * 128 + s * 32 + j] = dl * static_cast<float>((qs[g * 32 + j] >> (2 * s)) & 3) - ml;
                }
    }
}

namespace {

// Q3_K's 16 six-bit sub-block scales, stored with an offset of 32: the low 4 bits of scale
// k are nibble k/8 of byte k%8, the high 2 bits are bits 2*(k/4).. of byte 8 + k%4.
void unpack_q3_k_scales(const uint8_t* packed, int* scales) {
    for (int k = 0; k < 16; ++k) {
        const int low = (packed[k % 8] >> (4 * (k / 8))) & 0x0f;
        const int high = (packed[8 + k % 4] >> (2 * (k / 4))) & 0x03;
        scales[k] = (low | (high << 4)) - 32;
    }
}

// Q4_K/Q5_K's 8 six-bit scales and mins in 12 bytes: sub-blocks 0..3 in the low 6 bits of
// bytes 0..3 (scales) and 4..7 (mins); sub-blocks 4..7 take their low 4 bits from the
// nibbles of bytes 8..11 and their high 2 bits from the top of bytes 0..3 / 4..7.
void unpack_k_scales_mins(const uint8_t* packed, int* scales, int* mins) {
    for (int k = 0; k < 4; ++k) {
        scales[k] = packed[k] & 0x3f;
        mins[k] = packed[k + 4] & 0x3f;
        scales[k + 4] = (packed[k + 8] & 0x0f) | ((packed[k] >> 2) & 0x30);
        mins[k + 4] = (packed[k + 8] >> 4) | ((packed[k + 4] >> 2) & 0x30);
    }
}

}  // namespace

void dequantize_q3_k(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, src += sizeof(BlockQ3_K), dst += QK_K) {
        const float d = load_f16(src + offsetof(BlockQ3_K, d));
        const uint8_t* hmask = src + offsetof(BlockQ3_K, hmask);
        const uint8_t* qs = src + offsetof(BlockQ3_K, qs);
        int scales[16];
        unpack_q3_k_scales(src + offsetof(BlockQ3_K, scales), scales);
        // Element g*128 + s*32 + j: low 2 bits from bits 2s.. of qs[g*32 + j]; element e's
        // mask bit is bit e/32 of hmask[e%32], and a clear bit subtracts 4.
        for (int g = 0; g < 2; ++g)
            for (int s = 0; s < 4; ++s)
                for (int half = 0; half < 2; ++half) {
                    const int sub = g * 8 + s * 2 + half;
                    const float dl = d * static_cast<float>(scales[sub]);
                    const int row = g * 4 + s;  // e / 32
                    for (int j = half * 16; j < half * 16 + 16; ++j) {
                        const int low = (qs[g * 32 + j] >> (2 * s)) & 3;
                        const int minus = ((hmask[j] >> row) & 1) ? 0 : 4;
                        dst[row * 32 + j] = dl * static_cast<float>(low - minus);
                    }
                }
    }
}

void dequantize_q4_k(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, src += sizeof(BlockQ4_K), dst += QK_K) {
        const float d = load_f16(src + offsetof(BlockQ4_K, d));
        const float dmin = load_f16(src + offsetof(BlockQ4_K, dmin));
        const uint8_t* qs = src + offsetof(BlockQ4_K, qs);
        int scales[8], mins[8];
        unpack_k_scales_mins(src + offsetof(BlockQ4_K, scales), scales, mins);
        // Sub-block 2g + h (32 elements) is nibble h of qs[g*32 .. g*32 + 31].
        for (int sub = 0; sub < 8; ++sub) {
            const float dl = d * static_cast<float>(scales[sub]);
            const float ml = dmin * static_cast<float>(mins[sub]);
            const uint8_t* q = qs + (sub / 2) * 32;
            const int shift = 4 * (sub % 2);
            for (int j = 0; j < 32; ++j) dst[sub * 32 + j] = dl * static_cast<float>((q[j] >> shift) & 0x0f) - ml;
        }
    }
}

void dequantize_q5_k(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, src += sizeof(BlockQ5_K), dst += QK_K) {
        const float d = load_f16(src + offsetof(BlockQ5_K, d));
        const float dmin = load_f16(src + offsetof(BlockQ5_K, dmin));
        const uint8_t* qh = src + offsetof(BlockQ5_K, qh);
        const uint8_t* qs = src + offsetof(BlockQ5_K, qs);
        int scales[8], mins[8];
        unpack_k_scales_mins(src + offsetof(BlockQ5_K, scales), scales, mins);
        // As Q4_K, plus a fifth bit: bit `sub` of qh[j].
        for (int sub = 0; sub < 8; ++sub) {
            const float dl = d * static_cast<float>(scales[sub]);
            const float ml = dmin * static_cast<float>(mins[sub]);
            const uint8_t* q = qs + (sub / 2) * 32;
            const int shift = 4 * (sub % 2);
            for (int j = 0; j < 32; ++j) {
                const int v = ((q[j] >> shift) & 0x0f) | (((qh[j] >> sub) & 1) << 4);
                dst[sub * 32 + j] = dl * static_cast<float>(v) - ml;
            }
        }
    }
}

void dequantize_q6_k(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, src += sizeof(BlockQ6_K), dst += QK_K) {
        const float d = load_f16(src + offsetof(BlockQ6_K, d));
        const uint8_t* ql = src + offsetof(BlockQ6_K, ql);
        const uint8_t* qh = src + offsetof(BlockQ6_K, qh);
        const auto* scales = reinterpret_cast<const int8_t*>(src + offsetof(BlockQ6_K, scales));
        // Element g*128 + s*32 + j: low 4 bits are nibble s/2 of ql[g*64 + (s%2)*32 + j], high
        // 2 bits are bits 2s..2s+1 of qh[g*32 + j]; stored with an offset of 32.
        for (int g = 0; g < 2; ++g)
            for (int s = 0; s < 4; ++s) {
                const uint8_t* low = ql + g * 64 + (s % 2) * 32;
                const uint8_t* high = qh + g * 32;
                const int low_shift = 4 * (s / 2);
                for (int half = 0; half < 2; ++half) {
                    const float dl = d * static_cast<float>(scales[g * 8 + s * 2 + half]);
                    for (int j = half * 16; j < half * 16 + 16; ++j) {
                        const int q = ((low[j] >> low_shift) & 0x0f) | (((high[j] >> (2 * s)) & 0x03) << 4);
                        dst[g * 128 + s * 32 + j] = dl * static_cast<float>(q - 32);
                    }
                }
            }
    }
}

}  // namespace lockstep::rows
