// Ternary weights: TQ1_0 and TQ2_0 (llama.cpp, against Q8_K activations) and bitnet.cpp's
// I2_S (against per-token int8 activations).
#include "kernels/activation_formats.h"
#include "kernels/fp16.h"
#include "kernels/scalar/scalar_kernels.h"
#include "kernels/ternary_decode.h"

namespace lockstep::kernels::scalar {

float dot_tq1_0(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockTQ1_0*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        int8_t q[QK_K];
        decode_tq1_0(wb[b], q);
        int32_t isum = 0;
        for (int i = 0; i < QK_K; ++i) isum += q[i] * ab[b].qs[i];
        sum += static_cast<float>(isum) * (fp16_to_fp32(wb[b].d) * ab[b].d);
    }
    return sum;
}

// TQ2_0: element 128k + 32l + m is bits 2l..2l+1 of qs[32k + m], stored as trit + 1.
float dot_tq2_0(const void* w, const void* a, int64_t n) {
    const auto* wb = static_cast<const BlockTQ2_0*>(w);
    const auto* ab = static_cast<const BlockQ8_K*>(a);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        int32_t isum = 0;
        for (int k = 0; k < 2; ++k)
            for (int l = 0; l < 4; ++l)
                for (int m = 0; m < 32; ++m)
                    isum += (((wb[b].qs[32 * k + m] >> (2 * l)) & 3) - 1) * ab[b].qs[128 * k + 32 * l + m];
        sum += static_cast<float>(isum) * (fp16_to_fp32(wb[b].d) * ab[b].d);
    }
    return sum;
}

// I2_S: blocks of 128 elements in 32 bytes; byte k holds elements k, k+32, k+64, k+96 at
// bit shifts 6, 4, 2, 0 as codes 0/1/2 for -1/0/+1. bitnet.cpp sums code * q and
// subtracts sum(q) afterwards; the result is then divided by the activation scale.
float dot_i2_s(const void* w, const void* a, int64_t n) {
    const auto* packed = static_cast<const uint8_t*>(w);
    const auto& header = *static_cast<const I8RowHeader*>(a);
    const auto* q = static_cast<const int8_t*>(a) + sizeof(I8RowHeader);
    int32_t isum = 0;
    for (int64_t block = 0; block < n / 128; ++block)
        for (int k = 0; k < 32; ++k) {
            const uint8_t byte = packed[32 * block + k];
            for (int group = 0; group < 4; ++group)
                isum += ((byte >> (6 - 2 * group)) & 3) * q[128 * block + 32 * group + k];
        }
    return static_cast<float>(isum - header.sum) / header.scale;
}

}  // namespace lockstep::kernels::scalar
