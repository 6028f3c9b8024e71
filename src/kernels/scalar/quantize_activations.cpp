// Activation quantization, row by row, as llama.cpp's x86 build does it for Q8_0/Q8_1
// (scale 127 / absmax, round half to even) and Q8_K, and as bitnet.cpp does it for I2_S
// (one scale per token, round half away from zero).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/activation_formats.h"
#include "kernels/fp16.h"
#include "kernels/scalar/scalar_kernels.h"

namespace lockstep::kernels::scalar {
namespace {

// Shared by Q8_0 and Q8_1; returns the float scale d before its f16 rounding.
float quantize_block32(const float* x, int8_t q[QK8_0]) {
    float amax = 0.0f;
    for (int j = 0; j < QK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float inverse = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int j = 0; j < QK8_0; ++j) q[j] = static_cast<int8_t>(std::nearbyint(x[j] * inverse));
    return d;
}

}  // namespace

void quantize_q8_0(const float* x, void* out, int64_t n) {
    auto* blocks = static_cast<BlockQ8_0*>(out);
    for (int64_t b = 0; b < n / QK8_0; ++b) blocks[b].d = fp32_to_fp16(quantize_block32(x + b * QK8_0, blocks[b].qs));
}

void quantize_q8_1(const float* x, void* out, int64_t n) {
    auto* blocks = static_cast<BlockQ8_1*>(out);
    for (int64_t b = 0; b < n / QK8_0; ++b) {
        const float d = quantize_block32(x + b * QK8_0, blocks[b].qs);
        int32_t sum = 0;
        for (int j = 0; j < QK8_0; ++j) sum += blocks[b].qs[j];
        blocks[b].d = fp32_to_fp16(d);
        blocks[b].s = fp32_to_fp16(d * static_cast<float>(sum));
    }
}

// Q8_K: the scale comes from the signed element of largest magnitude (the first one on
// ties), as -127 / that value, and d = 1 / scale keeps the sign.
void quantize_q8_k(const float* x, void* out, int64_t n) {
    auto* blocks = static_cast<BlockQ8_K*>(out);
    for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
        BlockQ8_K& block = blocks[b];
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK_K; ++j)
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        if (amax == 0.0f) {
            std::memset(&block, 0, sizeof block);
            continue;
        }
        const float scale = -127.0f / max;
        for (int j = 0; j < QK_K; ++j)
            block.qs[j] = static_cast<int8_t>(std::min(127.0f, std::nearbyint(scale * x[j])));
        for (int g = 0; g < QK_K / 16; ++g) {
            int32_t sum = 0;
            for (int l = 0; l < 16; ++l) sum += block.qs[16 * g + l];
            block.bsums[g] = static_cast<int16_t>(sum);
        }
        block.d = 1.0f / scale;
    }
}

// bitnet.cpp's quantize_row_i8_s: max |x| in double with a floor of 1e-5, scale
// 127 / max rounded to float, q = round(x * scale) clamped to int8.
void quantize_i8(const float* x, void* out, int64_t n) {
    auto* header = static_cast<I8RowHeader*>(out);
    auto* q = static_cast<int8_t*>(out) + sizeof(I8RowHeader);
    double max = 1e-5;
    for (int64_t i = 0; i < n; ++i) max = std::max(max, std::fabs(static_cast<double>(x[i])));
    const auto scale = static_cast<float>(127.0 / max);
    int32_t sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double v = std::clamp(std::round(static_cast<double>(x[i] * scale)), -128.0, 127.0);
        q[i] = static_cast<int8_t>(v);
        sum += q[i];
    }
    *header = I8RowHeader{scale, sum, {}};
}

}  // namespace lockstep::kernels::scalar
