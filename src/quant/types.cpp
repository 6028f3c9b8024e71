#include "quant/types.h"

#include <array>
#include <cctype>

namespace lockstep {
namespace {

constexpr std::array kTypes = {
    TypeTraits{GGMLType::F32, "F32", 1, 4},          TypeTraits{GGMLType::F16, "F16", 1, 2},
    TypeTraits{GGMLType::Q4_0, "Q4_0", 32, 18},      TypeTraits{GGMLType::Q4_1, "Q4_1", 32, 20},
    TypeTraits{GGMLType::Q5_0, "Q5_0", 32, 22},      TypeTraits{GGMLType::Q5_1, "Q5_1", 32, 24},
    TypeTraits{GGMLType::Q8_0, "Q8_0", 32, 34},      TypeTraits{GGMLType::Q8_1, "Q8_1", 32, 40},
    TypeTraits{GGMLType::Q2_K, "Q2_K", 256, 84},     TypeTraits{GGMLType::Q3_K, "Q3_K", 256, 110},
    TypeTraits{GGMLType::Q4_K, "Q4_K", 256, 144},    TypeTraits{GGMLType::Q5_K, "Q5_K", 256, 176},
    TypeTraits{GGMLType::Q6_K, "Q6_K", 256, 210},    TypeTraits{GGMLType::Q8_K, "Q8_K", 256, 292},
    TypeTraits{GGMLType::IQ2_XXS, "IQ2_XXS", 256, 66}, TypeTraits{GGMLType::IQ2_XS, "IQ2_XS", 256, 74},
    TypeTraits{GGMLType::IQ3_XXS, "IQ3_XXS", 256, 98}, TypeTraits{GGMLType::IQ1_S, "IQ1_S", 256, 50},
    TypeTraits{GGMLType::IQ4_NL, "IQ4_NL", 32, 18},  TypeTraits{GGMLType::IQ3_S, "IQ3_S", 256, 110},
    TypeTraits{GGMLType::IQ2_S, "IQ2_S", 256, 82},   TypeTraits{GGMLType::IQ4_XS, "IQ4_XS", 256, 136},
    TypeTraits{GGMLType::I8, "I8", 1, 1},            TypeTraits{GGMLType::I16, "I16", 1, 2},
    TypeTraits{GGMLType::I32, "I32", 1, 4},          TypeTraits{GGMLType::I64, "I64", 1, 8},
    TypeTraits{GGMLType::F64, "F64", 1, 8},          TypeTraits{GGMLType::IQ1_M, "IQ1_M", 256, 56},
    TypeTraits{GGMLType::BF16, "BF16", 1, 2},        TypeTraits{GGMLType::TQ1_0, "TQ1_0", 256, 54},
    TypeTraits{GGMLType::TQ2_0, "TQ2_0", 256, 66},
    // I2_S: block of 128 elements in 32 bytes; the trailing scale is added by tensor_bytes.
    TypeTraits{GGMLType::I2_S, "I2_S", 128, 32},
    TypeTraits{GGMLType::MXFP4, "MXFP4", 32, 17},    TypeTraits{GGMLType::NVFP4, "NVFP4", 64, 36},
};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

}  // namespace

std::optional<TypeTraits> type_traits(uint32_t id) {
    for (const auto& t : kTypes)
        if (static_cast<uint32_t>(t.type) == id) return t;
    return std::nullopt;
}

std::optional<TypeTraits> type_traits_by_name(std::string_view name) {
    for (const auto& t : kTypes)
        if (iequals(t.name, name)) return t;
    return std::nullopt;
}

std::optional<uint64_t> tensor_bytes(const TypeTraits& t, uint64_t n_elements, uint64_t row_length) {
    if (row_length == 0 || row_length % t.block_size != 0 || n_elements % t.block_size != 0) return std::nullopt;
    const uint64_t blocks = n_elements / t.block_size;
    if (blocks > UINT64_MAX / t.block_bytes) return std::nullopt;
    uint64_t bytes = blocks * t.block_bytes;
    if (t.type == GGMLType::I2_S && blocks > 0) bytes += kI2SScaleBytes;
    return bytes;
}

}  // namespace lockstep
