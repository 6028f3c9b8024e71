// The 256-element "K" super-blocks (Q2_K..Q6_K) against Q8_K activations. Each function
// decodes a super-block into its integer values and sub-block scales, sums the integer
// products exactly, and scales once per super-block. The activation block's `bsums`
// (sums of 16 consecutive int8) turn the per-sub-block minimums into one short sum.
#include "kernels/fp16.h"
#include "kernels/kquant_scales.h"
#include "kernels/scalar/scalar_kernels.h"
#include "quant/blocks.h"

namespace lockstep::kernels::scalar {
namespace {

// sum over the 16 sub-blocks of 16 elements of scale[g] * sum(q * a)
int32_t scaled_sum16(const int8_t* q, const int8_t* a, const int32_t scales[16]) {
    int32_t total = 0;
    for (int g = 0; g < 16; ++g) {
        int32_t s = 0;
        for (int l = 0; l < 16; ++l) s += q[16 * g + l] * a[16 * g + l];
        total += scales[g] * s;
    }
    return total;
}

}  // namespace

// Q2_K: element 128k + 32j + l is bits 2j..2j+1 of qs[32k + l]; x = d * sc * q - dmin * m
// with 4-bit sc (low nibble) and m (high nibble) per 16 elements.
float dot_q2_k(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ2_K*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        int8_t q[QK_K];
        for (int k = 0; k < 2; ++k)
            for (int j = 0; j < 4; ++j)
                for (int l = 0; l < 32; ++l) q[128 * k + 32 * j + l] = (wb[b].qs[32 * k + l] >> (2 * j)) & 3;
        int32_t scales[16];
        int32_t min_sum = 0;
        for (int g = 0; g < 16; ++g) {
            scales[g] = wb[b].scales[g] & 0x0f;
            min_sum += ab[b].bsums[g] * (wb[b].scales[g] >> 4);
        }
        const int32_t isum = scaled_sum16(q, ab[b].qs, scales);
        sum += ab[b].d * fp16_to_fp32(wb[b].d) * static_cast<float>(isum) -
               ab[b].d * fp16_to_fp32(wb[b].dmin) * static_cast<float>(min_sum);
    }
    return sum;
}

// Q3_K: element 128k + 32j + l is bits 2j..2j+1 of qs[32k + l], minus 4 unless bit
// 4k + j of hmask[l] is set; x = d * (sc - 32) * q with 16 six-bit scales.
float dot_q3_k(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ3_K*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        int8_t q[QK_K];
        for (int k = 0; k < 2; ++k)
            for (int j = 0; j < 4; ++j)
                for (int l = 0; l < 32; ++l) {
                    const int low = (wb[b].qs[32 * k + l] >> (2 * j)) & 3;
                    const bool high = (wb[b].hmask[l] >> (4 * k + j)) & 1;
                    q[128 * k + 32 * j + l] = static_cast<int8_t>(low - (high ? 0 : 4));
                }
        int8_t packed[16];
        unpack_q3_k_scales(wb[b].scales, packed);
        int32_t scales[16];
        for (int g = 0; g < 16; ++g) scales[g] = packed[g];
        const int32_t isum = scaled_sum16(q, ab[b].qs, scales);
        sum += ab[b].d * fp16_to_fp32(wb[b].d) * static_cast<float>(isum);
    }
    return sum;
}

namespace {

// Q4_K and Q5_K share everything but the fifth bit: element 64j + l is the low nibble of
// qs[32j + l], element 64j + 32 + l its high nibble; x = d * sc * q - dmin * m with one
// six-bit (sc, m) pair per 32 elements.
float dot_q4_k_or_q5_k(const uint8_t* qs, const uint8_t* qh, const uint8_t* raw_scales, float d, float dmin,
                       const BlockQ8_K& act) {
    int8_t q[QK_K];
    for (int j = 0; j < 4; ++j)
        for (int l = 0; l < 32; ++l) {
            int lo = qs[32 * j + l] & 0x0f, hi = qs[32 * j + l] >> 4;
            if (qh) {
                lo |= ((qh[l] >> (2 * j)) & 1) << 4;
                hi |= ((qh[l] >> (2 * j + 1)) & 1) << 4;
            }
            q[64 * j + l] = static_cast<int8_t>(lo);
            q[64 * j + 32 + l] = static_cast<int8_t>(hi);
        }
    uint8_t sc[8], m[8];
    unpack_q4_k_scales(raw_scales, sc, m);
    int32_t scales[16];
    int32_t min_sum = 0;
    for (int g = 0; g < 16; ++g) {
        scales[g] = sc[g / 2];
        min_sum += act.bsums[g] * m[g / 2];
    }
    const int32_t isum = scaled_sum16(q, act.qs, scales);
    return act.d * d * static_cast<float>(isum) - act.d * dmin * static_cast<float>(min_sum);
}

}  // namespace

float dot_q4_k(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ4_K*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b)
        sum += dot_q4_k_or_q5_k(wb[b].qs, nullptr, wb[b].scales, fp16_to_fp32(wb[b].d), fp16_to_fp32(wb[b].dmin), ab[b]);
    return sum;
}

float dot_q5_k(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ5_K*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b)
        sum += dot_q4_k_or_q5_k(wb[b].qs, wb[b].qh, wb[b].scales, fp16_to_fp32(wb[b].d), fp16_to_fp32(wb[b].dmin), ab[b]);
    return sum;
}

// Q6_K: per 128 elements (half h), element 128h + 32r + l takes a nibble of ql (low
// nibbles for r < 2, high after; from ql[64h + 32(r % 2) + l]) and 2 bits of qh[32h + l]
// at shift 2r; x = d * sc * (q - 32) with one int8 scale per 16 elements.
float dot_q6_k(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ6_K*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        int8_t q[QK_K];
        for (int h = 0; h < 2; ++h)
            for (int r = 0; r < 4; ++r)
                for (int l = 0; l < 32; ++l) {
                    const uint8_t low_byte = wb[b].ql[64 * h + 32 * (r % 2) + l];
                    const int nibble = r < 2 ? (low_byte & 0x0f) : (low_byte >> 4);
                    const int high = (wb[b].qh[32 * h + l] >> (2 * r)) & 3;
                    q[128 * h + 32 * r + l] = static_cast<int8_t>((nibble | (high << 4)) - 32);
                }
        int32_t scales[16];
        for (int g = 0; g < 16; ++g) scales[g] = wb[b].scales[g];
        const int32_t isum = scaled_sum16(q, ab[b].qs, scales);
        sum += ab[b].d * fp16_to_fp32(wb[b].d) * static_cast<float>(isum);
    }
    return sum;
}

}  // namespace lockstep::kernels::scalar
