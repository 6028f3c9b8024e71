// F32, F16 and BF16: one element per "block", little-endian.
#include <cstring>

#include "quant/block_io.h"
#include "quant/float_bits.h"
#include "quant/rows.h"

namespace lockstep::rows {

void dequantize_f32(const uint8_t* src, float* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }

void quantize_f32(const float* src, uint8_t* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }

void dequantize_f16(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load_u16(src + 2 * i));
}

void quantize_f16(const float* src, uint8_t* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_f16(src[i]));
}

void dequantize_bf16(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_u16(src + 2 * i));
}

void quantize_bf16(const float* src, uint8_t* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_bf16(src[i]));
}

}  // namespace lockstep::rows
