// The formats activations are quantized into before a dot product with quantized weights,
// chosen per weight type the way llama.cpp (and bitnet.cpp for I2_S) pair them:
//   Q4_0, Q5_0, Q8_0, MXFP4 x Q8_0   (32 int8 + f16 scale)
//   Q4_1, Q5_1              x Q8_1   (32 int8 + f16 scale + f16 scale*sum, for the weight offset)
//   Q2_K..Q6_K, TQ1_0/TQ2_0 x Q8_K   (256 int8 + f32 scale + 16 partial sums)
//   I2_S                    x I8 row (one int8 per element + one scale and sum per token)
//   F32, F16, BF16          x F32    (activations stay float)
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/blocks.h"
#include "quant/types.h"

namespace lockstep::kernels {

#pragma pack(push, 1)
struct BlockQ8_1 { f16_bits d; f16_bits s; int8_t qs[QK8_0]; };  // s = d * sum(qs)
#pragma pack(pop)
static_assert(sizeof(BlockQ8_1) == 36);

// A token's activations for an I2_S matmul: per-token absmax int8 (bitnet.cpp's
// quantize_row_i8_s). The header is padded to 32 bytes so the int8 data stays aligned.
struct I8RowHeader {
    float scale;  // 127 / max|x|: q = round(x * scale)
    int32_t sum;  // sum of q, which turns the 0/1/2 weight codes into -1/0/+1
    uint8_t pad[24];
};
static_assert(sizeof(I8RowHeader) == 32);

enum class ActivationFormat { F32, Q8_0, Q8_1, Q8_K, I8 };

// The activation format a weight type is multiplied with; nullopt-like F32 for float weights.
ActivationFormat activation_format_for(GGMLType weight_type);

// Bytes of one quantized activation row of n elements (n a multiple of the block size).
size_t activation_row_bytes(ActivationFormat format, int64_t n);

}  // namespace lockstep::kernels
