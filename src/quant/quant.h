// Quantization and dequantization of ggml tensor data, bit-identical to the gguf package's
// numpy implementation (gguf.quants) for every type it implements, and to Microsoft's
// bitnet.cpp for I2_S (see ternary.cpp for the layouts).
//
// Scales are used as stored: a zero, subnormal, infinite or NaN float16 scale gives what
// IEEE float32 arithmetic gives (0 * inf = NaN, NaN * q = NaN, ...), exactly as numpy does.
#pragma once

#include <cstdint>
#include <span>

#include "quant/types.h"

namespace lockstep {

bool can_dequantize(GGMLType type);
bool can_quantize(GGMLType type);

// A run of n elements (n a multiple of the type's block size): from/to
// n / block_size * block_bytes bytes. Allocation-free, for the engine's weight loops.
// Throws std::invalid_argument for an unsupported type, for a bad n, and for I2_S, whose
// scale belongs to the whole tensor (use dequantize_row_i2s).
void dequantize_row(GGMLType type, const uint8_t* src, float* dst, int64_t n);
void quantize_row(GGMLType type, const float* src, uint8_t* dst, int64_t n);

// I2_S: the tensor-wide scale stored after the packed data of a non-empty n_elements
// tensor, and the decoding of n elements (a multiple of 128) of packed data with that scale.
float i2s_tensor_scale(const uint8_t* tensor, int64_t n_elements);
void dequantize_row_i2s(const uint8_t* packed, float scale, float* dst, int64_t n);
// Writes all n / 4 + 32 bytes of an I2_S tensor (n a multiple of 128; nothing for n = 0):
// packed codes, then the scale and zero padding.
void quantize_i2s(const float* src, uint8_t* dst, int64_t n);

// The byte size of a tensor of n_elements in rows of row_length (tensor_bytes), or
// std::invalid_argument naming the type and saying what is wrong with the shape.
uint64_t tensor_bytes_checked(GGMLType type, uint64_t n_elements, int64_t row_length);
// Throws std::invalid_argument, naming the type and the sizes, unless `bytes` is exactly the
// size of that tensor. Check before allocating anything sized by n_elements.
void check_tensor_bytes(GGMLType type, uint64_t n_elements, int64_t row_length, uint64_t bytes);

// Whole tensors as stored in a GGUF file (I2_S included): dst.size() (resp. src.size())
// elements in rows of row_length; the byte span is checked with check_tensor_bytes.
void dequantize_tensor(GGMLType type, std::span<const uint8_t> src, std::span<float> dst, int64_t row_length);
void quantize_tensor(GGMLType type, std::span<const float> src, std::span<uint8_t> dst, int64_t row_length);

}  // namespace lockstep
