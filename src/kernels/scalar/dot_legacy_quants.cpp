// The 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, MXFP4) against Q8_0 / Q8_1
// activations. Each block's integer dot product is exact; only the per-block scaling is
// floating point.
#include <cstring>

#include "kernels/activation_formats.h"
#include "kernels/fp16.h"
#include "kernels/scalar/scalar_kernels.h"
#include "quant/fp4.h"

namespace lockstep::kernels::scalar {
namespace {

// Q5 blocks keep the fifth bit of element j in bit j of a 32-bit little-endian word.
uint32_t high_bits(const uint8_t qh[4]) {
    uint32_t bits;
    std::memcpy(&bits, qh, 4);
    return bits;
}

}  // namespace

// Q4_0: x = d * (q - 8); byte j holds element j (low nibble) and element j + 16 (high).
float dot_q4_0(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ4_0*>(w);
    const auto* ab = static_cast<const BlockQ8_0*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK4_0; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK4_0 / 2; ++j) {
            isum += ((wb[b].qs[j] & 0x0f) - 8) * ab[b].qs[j];
            isum += ((wb[b].qs[j] >> 4) - 8) * ab[b].qs[j + QK4_0 / 2];
        }
        sum += static_cast<float>(isum) * (fp16_to_fp32(wb[b].d) * fp16_to_fp32(ab[b].d));
    }
    return sum;
}

// Q4_1: x = d * q + m, so sum(x * a) = d * da * sum(q * qa) + m * (da * sum(qa)), and the
// Q8_1 activation block carries da * sum(qa) as `s`.
float dot_q4_1(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ4_1*>(w);
    const auto* ab = static_cast<const BlockQ8_1*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK4_1; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK4_1 / 2; ++j) {
            isum += (wb[b].qs[j] & 0x0f) * ab[b].qs[j];
            isum += (wb[b].qs[j] >> 4) * ab[b].qs[j + QK4_1 / 2];
        }
        sum += static_cast<float>(isum) * (fp16_to_fp32(wb[b].d) * fp16_to_fp32(ab[b].d)) +
               fp16_to_fp32(wb[b].m) * fp16_to_fp32(ab[b].s);
    }
    return sum;
}

// Q5_0: x = d * (q - 16) with q = nibble | fifth bit << 4.
float dot_q5_0(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ5_0*>(w);
    const auto* ab = static_cast<const BlockQ8_0*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK5_0; ++b) {
        const uint32_t qh = high_bits(wb[b].qh);
        int32_t isum = 0;
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int lo = (wb[b].qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (wb[b].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
            isum += (lo - 16) * ab[b].qs[j] + (hi - 16) * ab[b].qs[j + QK5_0 / 2];
        }
        sum += static_cast<float>(isum) * (fp16_to_fp32(wb[b].d) * fp16_to_fp32(ab[b].d));
    }
    return sum;
}

// Q5_1: x = d * q + m with q = nibble | fifth bit << 4.
float dot_q5_1(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ5_1*>(w);
    const auto* ab = static_cast<const BlockQ8_1*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK5_1; ++b) {
        const uint32_t qh = high_bits(wb[b].qh);
        int32_t isum = 0;
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int lo = (wb[b].qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (wb[b].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
            isum += lo * ab[b].qs[j] + hi * ab[b].qs[j + QK5_1 / 2];
        }
        sum += static_cast<float>(isum) * (fp16_to_fp32(wb[b].d) * fp16_to_fp32(ab[b].d)) +
               fp16_to_fp32(wb[b].m) * fp16_to_fp32(ab[b].s);
    }
    return sum;
}

float dot_q8_0(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockQ8_0*>(w);
    const auto* ab = static_cast<const BlockQ8_0*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK8_0; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK8_0; ++j) isum += wb[b].qs[j] * ab[b].qs[j];
        sum += static_cast<float>(isum) * (fp16_to_fp32(wb[b].d) * fp16_to_fp32(ab[b].d));
    }
    return sum;
}

// MXFP4: x = 2^(e - 127) * e2m1(q), taken as (half the scale) * (the doubled code) so that
// the block's products with the int8 activations are integers; nibbles ordered as Q4_0's.
float dot_mxfp4(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockMXFP4*>(w);
    const auto* ab = static_cast<const BlockQ8_0*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_MXFP4; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK_MXFP4 / 2; ++j) {
            isum += kE2M1Doubled[wb[b].qs[j] & 0x0f] * ab[b].qs[j];
            isum += kE2M1Doubled[wb[b].qs[j] >> 4] * ab[b].qs[j + QK_MXFP4 / 2];
        }
        sum += static_cast<float>(isum) * (e8m0_to_f32_half(wb[b].e) * fp16_to_fp32(ab[b].d));
    }
    return sum;
}

}  // namespace lockstep::kernels::scalar
