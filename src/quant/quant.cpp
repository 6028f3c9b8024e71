// Dispatch from a ggml type to its row codec, and the size checks of the public entry points.
#include "quant/quant.h"

#include <stdexcept>
#include <string>

#include "quant/rows.h"

namespace lockstep {
namespace {

using DequantizeFn = void (*)(const uint8_t*, float*, int64_t);
using QuantizeFn = void (*)(const float*, uint8_t*, int64_t);

DequantizeFn dequantizer(GGMLType type) {
    switch (type) {
        case GGMLType::F32: return rows::dequantize_f32;
        case GGMLType::F16: return rows::dequantize_f16;
        case GGMLType::BF16: return rows::dequantize_bf16;
        case GGMLType::Q4_0: return rows::dequantize_q4_0;
        case GGMLType::Q4_1: return rows::dequantize_q4_1;
        case GGMLType::Q5_0: return rows::dequantize_q5_0;
        case GGMLType::Q5_1: return rows::dequantize_q5_1;
        case GGMLType::Q8_0: return rows::dequantize_q8_0;
        case GGMLType::Q2_K: return rows::dequantize_q2_k;
        case GGMLType::Q3_K: return rows::dequantize_q3_k;
        case GGMLType::Q4_K: return rows::dequantize_q4_k;
        case GGMLType::Q5_K: return rows::dequantize_q5_k;
        case GGMLType::Q6_K: return rows::dequantize_q6_k;
        case GGMLType::TQ1_0: return rows::dequantize_tq1_0;
        case GGMLType::TQ2_0: return rows::dequantize_tq2_0;
        case GGMLType::MXFP4: return rows::dequantize_mxfp4;
        case GGMLType::NVFP4: return rows::dequantize_nvfp4;
        default: return nullptr;
    }
}

QuantizeFn quantizer(GGMLType type) {
    switch (type) {
        case GGMLType::F32: return rows::quantize_f32;
        case GGMLType::F16: return rows::quantize_f16;
        case GGMLType::BF16: return rows::quantize_bf16;
        case GGMLType::Q4_0: return rows::quantize_q4_0;
        case GGMLType::Q4_1: return rows::quantize_q4_1;
        case GGMLType::Q5_0: return rows::quantize_q5_0;
        case GGMLType::Q5_1: return rows::quantize_q5_1;
        case GGMLType::Q8_0: return rows::quantize_q8_0;
        case GGMLType::TQ1_0: return rows::quantize_tq1_0;
        case GGMLType::TQ2_0: return rows::quantize_tq2_0;
        case GGMLType::MXFP4: return rows::quantize_mxfp4;
        default: return nullptr;
    }
}

std::string type_name(GGMLType type) {
    const auto traits = type_traits(static_cast<uint32_t>(type));
    return traits ? std::string(traits->name) : "type " + std::to_string(static_cast<uint32_t>(type));
}

TypeTraits traits_of(GGMLType type) {
    const auto traits = type_traits(static_cast<uint32_t>(type));
    if (!traits) throw std::invalid_argument("unknown ggml " + type_name(type));
    return *traits;
}

void check_row(GGMLType type, int64_t n, bool supported, const char* direction) {
    if (type == GGMLType::I2_S)
        throw std::invalid_argument("I2_S rows share their tensor's scale: use dequantize_row_i2s / quantize_i2s");
    if (!supported) throw std::invalid_argument("cannot " + std::string(direction) + " " + type_name(type) + " rows");
    const uint32_t block = traits_of(type).block_size;
    if (n < 0 || n % block != 0)
        throw std::invalid_argument(type_name(type) + " rows hold a multiple of " + std::to_string(block) +
                                    " elements, not " + std::to_string(n));
}

}  // namespace

uint64_t tensor_bytes_checked(GGMLType type, uint64_t n_elements, int64_t row_length) {
    const TypeTraits traits = traits_of(type);
    const std::string name(traits.name);
    // An empty tensor takes no bytes (bitnet.cpp's ggml_nbytes gives I2_S no trailer then).
    const bool rows_fit = n_elements == 0 ? row_length >= 0
                                          : row_length > 0 && n_elements % static_cast<uint64_t>(row_length) == 0;
    if (!rows_fit)
        throw std::invalid_argument(name + " tensor of " + std::to_string(n_elements) + " elements cannot have rows of " +
                                    std::to_string(row_length));
    if (row_length % traits.block_size != 0)
        throw std::invalid_argument(name + " rows must be a multiple of " + std::to_string(traits.block_size) +
                                    " elements, not " + std::to_string(row_length));
    if (n_elements == 0) return 0;
    const auto bytes = tensor_bytes(traits, n_elements, static_cast<uint64_t>(row_length));
    if (!bytes) throw std::invalid_argument(name + " tensor of " + std::to_string(n_elements) + " elements is too large");
    return *bytes;
}

void check_tensor_bytes(GGMLType type, uint64_t n_elements, int64_t row_length, uint64_t bytes) {
    const uint64_t expected = tensor_bytes_checked(type, n_elements, row_length);
    if (bytes != expected)
        throw std::invalid_argument(type_name(type) + " data for " + std::to_string(n_elements) + " elements in rows of " +
                                    std::to_string(row_length) + " must be " + std::to_string(expected) + " bytes, got " +
                                    std::to_string(bytes));
}

bool can_dequantize(GGMLType type) { return type == GGMLType::I2_S || dequantizer(type) != nullptr; }

bool can_quantize(GGMLType type) { return type == GGMLType::I2_S || quantizer(type) != nullptr; }

void dequantize_row(GGMLType type, const uint8_t* src, float* dst, int64_t n) {
    const DequantizeFn fn = dequantizer(type);
    check_row(type, n, fn != nullptr, "row-wise dequantize");
    fn(src, dst, n);
}

void quantize_row(GGMLType type, const float* src, uint8_t* dst, int64_t n) {
    const QuantizeFn fn = quantizer(type);
    check_row(type, n, fn != nullptr, "row-wise quantize");
    fn(src, dst, n);
}

void dequantize_tensor(GGMLType type, std::span<const uint8_t> src, std::span<float> dst, int64_t row_length) {
    if (!can_dequantize(type)) throw std::invalid_argument("cannot dequantize " + type_name(type));
    check_tensor_bytes(type, dst.size(), row_length, src.size());
    const auto n = static_cast<int64_t>(dst.size());
    if (n == 0) return;  // an empty I2_S tensor has no scale either
    if (type == GGMLType::I2_S)
        dequantize_row_i2s(src.data(), i2s_tensor_scale(src.data(), n), dst.data(), n);
    else
        dequantizer(type)(src.data(), dst.data(), n);
}

void quantize_tensor(GGMLType type, std::span<const float> src, std::span<uint8_t> dst, int64_t row_length) {
    if (!can_quantize(type)) throw std::invalid_argument("cannot quantize to " + type_name(type));
    check_tensor_bytes(type, src.size(), row_length, dst.size());
    const auto n = static_cast<int64_t>(src.size());
    if (n == 0) return;
    if (type == GGMLType::I2_S)
        quantize_i2s(src.data(), dst.data(), n);
    else
        quantizer(type)(src.data(), dst.data(), n);
}

}  // namespace lockstep
