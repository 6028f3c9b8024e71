// The ggml tensor types: ids, block sizes and block byte sizes as the GGUF format defines
// them (cross-checked in tests against the gguf package's GGML_QUANT_SIZES).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lockstep {

enum class GGMLType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35,
    // bitnet.cpp's ternary type. Upstream ggml retired id 36, Microsoft's fork reuses it, so
    // whether 36 means I2_S depends on the file (see resolve_type_id).
    I2_S = 36,
    MXFP4 = 39, NVFP4 = 40,
};

struct TypeTraits {
    GGMLType type;
    std::string_view name;
    uint32_t block_size;   // elements per block
    uint32_t block_bytes;  // bytes per block
};

// nullopt for an id that no file we read can contain.
std::optional<TypeTraits> type_traits(uint32_t id);
// Case-insensitive lookup by name ("q4_1", "Q4_1").
std::optional<TypeTraits> type_traits_by_name(std::string_view name);

// I2_S is not block-structured like the others: 2 bits per element, packed in groups of
// 128, followed by one float32 scale for the whole tensor (padded to 32 bytes). bitnet.cpp's
// ggml declares it with block 1 and size 1 and special-cases ggml_nbytes to n / 4 + 32 (0
// for an empty tensor); the 128/32 block here gives the same sizes for rows of whole blocks.
constexpr uint64_t kI2SBlock = 128;
constexpr uint64_t kI2SScaleBytes = 32;

// Bytes taken by a tensor of `n_elements` whose innermost dimension is `row_length`.
// nullopt when the row length is not a multiple of the block size or the size overflows.
std::optional<uint64_t> tensor_bytes(const TypeTraits& t, uint64_t n_elements, uint64_t row_length);

}  // namespace lockstep
