// Block layouts of the quantized ggml types, byte for byte as they sit in a GGUF file.
// Each struct's size is checked against the type table (static_assert below); the
// meaning of each field is documented next to the code that decodes it (quant/*.cpp).
#pragma once

#include <cstdint>

namespace lockstep {

using f16_bits = uint16_t;  // IEEE half, stored as raw bits

constexpr int QK4_0 = 32, QK4_1 = 32, QK5_0 = 32, QK5_1 = 32, QK8_0 = 32, QK_K = 256;
constexpr int QK_MXFP4 = 32, QK_NVFP4 = 64, QK_NVFP4_SUB = 16;

#pragma pack(push, 1)
struct BlockQ4_0 { f16_bits d; uint8_t qs[QK4_0 / 2]; };                      // x = d * (q - 8)
struct BlockQ4_1 { f16_bits d; f16_bits m; uint8_t qs[QK4_1 / 2]; };         // x = d * q + m
struct BlockQ5_0 { f16_bits d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; };      // x = d * (q - 16)
struct BlockQ5_1 { f16_bits d; f16_bits m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; };
struct BlockQ8_0 { f16_bits d; int8_t qs[QK8_0]; };                           // x = d * q
struct BlockQ2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; f16_bits d; f16_bits dmin; };
struct BlockQ3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; f16_bits d; };
struct BlockQ4_K { f16_bits d; f16_bits dmin; uint8_t scales[12]; uint8_t qs[QK_K / 2]; };
struct BlockQ5_K { f16_bits d; f16_bits dmin; uint8_t scales[12]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
struct BlockQ6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; f16_bits d; };
struct BlockQ8_K { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; };     // activations for K-quant dots
struct BlockTQ1_0 { uint8_t qs[(QK_K - 4 * QK_K / 64) / 5]; uint8_t qh[QK_K / 64]; f16_bits d; };
struct BlockTQ2_0 { uint8_t qs[QK_K / 4]; f16_bits d; };
// The 4-bit float (E2M1) types; quant/fp4.h decodes the codes and scales.
struct BlockMXFP4 { uint8_t e; uint8_t qs[QK_MXFP4 / 2]; };                   // x = 2^(e-127) * e2m1(q)
struct BlockNVFP4 { uint8_t d[QK_NVFP4 / QK_NVFP4_SUB]; uint8_t qs[QK_NVFP4 / 2]; };  // x = ue4m3(d[s]) * e2m1(q)
#pragma pack(pop)

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockTQ1_0) == 54 && sizeof(BlockTQ2_0) == 66);
static_assert(sizeof(BlockMXFP4) == 17 && sizeof(BlockNVFP4) == 36);

}  // namespace lockstep
