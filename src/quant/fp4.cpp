// The 4-bit float types (layouts and scale encodings in quant/fp4.h).
//
// MXFP4, 32 elements in 17 bytes: the E8M0 scale byte, then 16 bytes whose low nibbles
// hold elements 0..15 and high nibbles elements 16..31 (as Q4_0).
// NVFP4, 64 elements in 36 bytes: four UE4M3 scale bytes, then 32 bytes in four groups of
// 8, one per 16-element sub-block s: the low nibbles of bytes 8s..8s+7 hold elements
// 16s..16s+7, their high nibbles elements 16s+8..16s+15.
// Both decode as x = (scale / 2) * doubled code in float32, an exact product for every scale
// (a doubled code has at most 2 significant bits, a half scale at most 4).
//
// The MXFP4 quantizer follows gguf.quants: amax = max |x|; e = floor(log2(amax)) - 2 + 127
// (0 when amax is not positive, NaN included), cast to a byte the numpy way; each element
// takes the first code whose value d * k is nearest (|d * k - x| in float32; a NaN element
// takes code 0). log2 is the C library's log2f, which is what numpy calls for float32 on
// x86 builds without AVX-512 (its AVX-512 builds use their own, which can differ in the last
// place just below a power of two). gguf.quants has no NVFP4 quantizer, nor does lockstep.
#include <cmath>
#include <cstddef>

#include "quant/blocks.h"
#include "quant/fp4.h"
#include "quant/numpy_semantics.h"
#include "quant/rows.h"

namespace lockstep::rows {

namespace ns = numpy_semantics;

void dequantize_mxfp4(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_MXFP4; ++b, src += sizeof(BlockMXFP4), dst += QK_MXFP4) {
        const float d = e8m0_to_f32_half(src[offsetof(BlockMXFP4, e)]);
        const uint8_t* qs = src + offsetof(BlockMXFP4, qs);
        for (int j = 0; j < QK_MXFP4 / 2; ++j) {
            dst[j] = d * static_cast<float>(kE2M1Doubled[qs[j] & 0x0f]);
            dst[j + QK_MXFP4 / 2] = d * static_cast<float>(kE2M1Doubled[qs[j] >> 4]);
        }
    }
}

void dequantize_nvfp4(const uint8_t* src, float* dst, int64_t n) {
    constexpr int kSub = QK_NVFP4_SUB;
    for (int64_t b = 0; b < n / QK_NVFP4; ++b, src += sizeof(BlockNVFP4), dst += QK_NVFP4) {
        const uint8_t* scales = src + offsetof(BlockNVFP4, d);
        const uint8_t* qs = src + offsetof(BlockNVFP4, qs);
        for (int s = 0; s < QK_NVFP4 / kSub; ++s) {
            const float d = ue4m3_to_f32_half(scales[s]);
            for (int j = 0; j < kSub / 2; ++j) {
                const uint8_t byte = qs[s * kSub / 2 + j];
                dst[s * kSub + j] = d * static_cast<float>(kE2M1Doubled[byte & 0x0f]);
                dst[s * kSub + kSub / 2 + j] = d * static_cast<float>(kE2M1Doubled[byte >> 4]);
            }
        }
    }
}

void quantize_mxfp4(const float* src, uint8_t* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_MXFP4; ++b, src += QK_MXFP4, dst += sizeof(BlockMXFP4)) {
        const float amax = ns::max_abs(src, QK_MXFP4);
        const uint8_t e = amax > 0.0f ? ns::cast_to_byte(std::floor(std::log2(amax)) - 2.0f + 127.0f) : 0;
        const float d = e8m0_to_f32_half(e);
        uint8_t q[QK_MXFP4];
        for (int j = 0; j < QK_MXFP4; ++j) {
            float error[16];
            for (int k = 0; k < 16; ++k) error[k] = std::fabs(d * static_cast<float>(kE2M1Doubled[k]) - src[j]);
            q[j] = static_cast<uint8_t>(ns::argmin(error, 16));
        }
        dst[offsetof(BlockMXFP4, e)] = e;
        uint8_t* qs = dst + offsetof(BlockMXFP4, qs);
        for (int j = 0; j < QK_MXFP4 / 2; ++j) qs[j] = static_cast<uint8_t>(q[j] | (q[j + QK_MXFP4 / 2] << 4));
    }
}

}  // namespace lockstep::rows
