// The per-type row codecs behind quant.h's dispatch, one family per source file. Every
// function converts n elements (a multiple of the type's block size; the caller checks)
// and allocates nothing. The arithmetic follows gguf.quants step for step in float32, so
// results are bit-identical to it; src/quant is compiled without floating-point
// contraction (CMakeLists.txt) because a fused multiply-add would round differently.
#pragma once

#include <cstdint>

namespace lockstep::rows {

// float.cpp: F32 (a copy), F16, BF16.
void dequantize_f32(const uint8_t* src, float* dst, int64_t n);
void quantize_f32(const float* src, uint8_t* dst, int64_t n);
void dequantize_f16(const uint8_t* src, float* dst, int64_t n);
void quantize_f16(const float* src, uint8_t* dst, int64_t n);
void dequantize_bf16(const uint8_t* src, float* dst, int64_t n);
void quantize_bf16(const float* src, uint8_t* dst, int64_t n);

// legacy.cpp: the 32-element block types.
void dequantize_q4_0(const uint8_t* src, float* dst, int64_t n);
void dequantize_q4_1(const uint8_t* src, float* dst, int64_t n);
void dequantize_q5_0(const uint8_t* src, float* dst, int64_t n);
void dequantize_q5_1(const uint8_t* src, float* dst, int64_t n);
void dequantize_q8_0(const uint8_t* src, float* dst, int64_t n);
void quantize_q4_0(const float* src, uint8_t* dst, int64_t n);
void quantize_q4_1(const float* src, uint8_t* dst, int64_t n);
void quantize_q5_0(const float* src, uint8_t* dst, int64_t n);
void quantize_q5_1(const float* src, uint8_t* dst, int64_t n);
void quantize_q8_0(const float* src, uint8_t* dst, int64_t n);

// kquants.cpp: the 256-element super-block types (dequantization only, as in gguf.quants).
void dequantize_q2_k(const uint8_t* src, float* dst, int64_t n);
void dequantize_q3_k(const uint8_t* src, float* dst, int64_t n);
void dequantize_q4_k(const uint8_t* src, float* dst, int64_t n);
void dequantize_q5_k(const uint8_t* src, float* dst, int64_t n);
void dequantize_q6_k(const uint8_t* src, float* dst, int64_t n);

// ternary.cpp: TQ1_0 and TQ2_0 (I2_S, whose scale is per tensor, is declared in quant.h).
void dequantize_tq1_0(const uint8_t* src, float* dst, int64_t n);
void dequantize_tq2_0(const uint8_t* src, float* dst, int64_t n);
void quantize_tq1_0(const float* src, uint8_t* dst, int64_t n);
void quantize_tq2_0(const float* src, uint8_t* dst, int64_t n);

// fp4.cpp: MXFP4 and NVFP4 (NVFP4 dequantization only, as in gguf.quants).
void dequantize_mxfp4(const uint8_t* src, float* dst, int64_t n);
void quantize_mxfp4(const float* src, uint8_t* dst, int64_t n);
void dequantize_nvfp4(const uint8_t* src, float* dst, int64_t n);

}  // namespace lockstep::rows
