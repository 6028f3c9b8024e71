// The ternary types, whose weights are -1, 0 or +1 times a scale.
//
// TQ1_0 (ggml): 256 elements in 48 + 4 bytes of base-3 digits plus a float16 d. A byte
// holds 5 trits (4 in qh) as a fixed-point fraction: byte = ceil(value * 256 / 243), where
// value = sum of trit_i * 3^(4-i); trit i comes back as the top bits of byte * 3^i
// (mod 256) times 3, i.e. ((uint8(byte * 3^i) * 3) >> 8). Trit i of qs[j] (j < 32) is
// element 32i + j; of qs[32 + j] (j < 16) element 160 + 16i + j; of qh[j] element 240 + 4i + j.
//
// TQ2_0 (ggml): 256 elements as 2-bit codes (value + 1) plus a float16 d; bits 2s..2s+1 of
// qs[32g + j] are element 128g + 32s + j.
//
// I2_S (Microsoft's bitnet.cpp, x86 layout): 2-bit codes 0/1/2 for -1/0/+1, blocks of 128
// elements in 32 bytes, byte k of a block holding elements k, k+32, k+64, k+96 at bit
// shifts 6, 4, 2, 0; then one float32 scale for the whole tensor, in a 32-byte trailer
// (n/4 + 32 bytes in all, ggml_nbytes in bitnet.cpp's ggml). Code 3 never occurs in files
// bitnet.cpp writes; we decode it as +2 (code - 1), which is what bitnet.cpp's kernels
// compute (they multiply the raw code and subtract the activation sum).
#include <cmath>
#include <cstddef>
#include <cstring>

#include "quant/block_io.h"
#include "quant/blocks.h"
#include "quant/numpy_semantics.h"
#include "quant/quant.h"
#include "quant/rows.h"

namespace lockstep {

namespace ns = numpy_semantics;

namespace {

constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};

// The trit that byte * 3^i (mod 256) carries in its top bits, as -1, 0 or +1.
inline int tq1_trit(uint8_t byte, int i) {
    const auto shifted = static_cast<uint8_t>(byte * kPow3[i]);
    return ((shifted * 3) >> 8) - 1;
}

// gguf.quants' ternary code of x: round(x / amax) in int8 arithmetic, plus one, as a byte.
inline uint8_t ternary_code(float x, float id) {
    return static_cast<uint8_t>(ns::cast_to_byte(ns::round_half_away(x * id)) + 1);
}

// Five (or four) codes as one TQ1_0 byte; the sum and the fixed-point step wrap exactly as
// gguf.quants' uint8/uint16 arithmetic does (which only matters for codes above 2).
inline uint8_t tq1_pack(const uint8_t* codes, int stride, int count) {
    uint64_t sum = 0;
    for (int i = 0; i < count; ++i) sum += static_cast<uint8_t>(codes[i * stride] * kPow3[4 - i]);
    const auto scaled = static_cast<uint16_t>(static_cast<uint16_t>(static_cast<uint16_t>(sum) * 256u) + 242u);
    return static_cast<uint8_t>(scaled / 243u);
}

constexpr uint64_t kI2SGroup = kI2SBlock / 4;  // 32 bytes per block, one per 4 elements

}  // namespace

namespace rows {

void dequantize_tq1_0(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, src += sizeof(BlockTQ1_0), dst += QK_K) {
        const float d = load_f16(src + offsetof(BlockTQ1_0, d));
        const uint8_t* qs = src + offsetof(BlockTQ1_0, qs);
        const uint8_t* qh = src + offsetof(BlockTQ1_0, qh);
        for (int i = 0; i < 5; ++i)
            for (int j = 0; j < 32; ++j) dst[32 * i + j] = d * static_cast<float>(tq1_trit(qs[j], i));
        for (int i = 0; i < 5; ++i)
            for (int j = 0; j < 16; ++j) dst[160 + 16 * i + j] = d * static_cast<float>(tq1_trit(qs[32 + j], i));
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) dst[240 + 4 * i + j] = d * static_cast<float>(tq1_trit(qh[j], i));
    }
}

void quantize_tq1_0(const float* src, uint8_t* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, src += QK_K, dst += sizeof(BlockTQ1_0)) {
        const float d = ns::max_abs(src, QK_K);
        const float id = ns::reciprocal_or_zero(d);
        uint8_t codes[QK_K];
        for (int e = 0; e < QK_K; ++e) codes[e] = ternary_code(src[e], id);
        uint8_t* qs = dst + offsetof(BlockTQ1_0, qs);
        uint8_t* qh = dst + offsetof(BlockTQ1_0, qh);
        for (int j = 0; j < 32; ++j) qs[j] = tq1_pack(codes + j, 32, 5);
        for (int j = 0; j < 16; ++j) qs[32 + j] = tq1_pack(codes + 160 + j, 16, 5);
        for (int j = 0; j < 4; ++j) qh[j] = tq1_pack(codes + 240 + j, 4, 4);
        store_f16(dst + offsetof(BlockTQ1_0, d), d);
    }
}

void dequantize_tq2_0(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, src += sizeof(BlockTQ2_0), dst += QK_K) {
        const float d = load_f16(src + offsetof(BlockTQ2_0, d));
        const uint8_t* qs = src + offsetof(BlockTQ2_0, qs);
        for (int g = 0; g < 2; ++g)
            for (int s = 0; s < 4; ++s)
                for (int j = 0; j < 32; ++j)
                    dst[128 * g + 32 * s + j] = d * static_cast<float>(((qs[32 * g + j] >> (2 * s)) & 3) - 1);
    }
}

void quantize_tq2_0(const float* src, uint8_t* dst, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, src += QK_K, dst += sizeof(BlockTQ2_0)) {
        const float d = ns::max_abs(src, QK_K);
        const float id = ns::reciprocal_or_zero(d);
        uint8_t* qs = dst + offsetof(BlockTQ2_0, qs);
        for (int g = 0; g < 2; ++g)
            for (int j = 0; j < 32; ++j) {
                uint8_t byte = 0;
                for (int s = 0; s < 4; ++s)
                    byte |= static_cast<uint8_t>(ternary_code(src[128 * g + 32 * s + j], id) << (2 * s));
                qs[32 * g + j] = byte;
            }
        store_f16(dst + offsetof(BlockTQ2_0, d), d);
    }
}

}  // namespace rows

float i2s_tensor_scale(const uint8_t* tensor, int64_t n_elements) {
    float scale;
    std::memcpy(&scale, tensor + n_elements / 4, sizeof scale);
    return scale;
}

void dequantize_row_i2s(const uint8_t* packed, float scale, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / static_cast<int64_t>(kI2SBlock); ++b, packed += kI2SGroup, dst += kI2SBlock)
        for (uint64_t k = 0; k < kI2SGroup; ++k) {
            const uint8_t byte = packed[k];
            dst[k] = static_cast<float>(((byte >> 6) & 3) - 1) * scale;
            dst[k + 32] = static_cast<float>(((byte >> 4) & 3) - 1) * scale;
            dst[k + 64] = static_cast<float>(((byte >> 2) & 3) - 1) * scale;
            dst[k + 96] = static_cast<float>((byte & 3) - 1) * scale;
        }
}

void quantize_i2s(const float* src, uint8_t* dst, int64_t n) {
    // bitnet.cpp's quantize_i2_s: the scale is the largest magnitude (in double; fmax skips
    // NaNs), and each weight keeps only its sign: |x| < 1e-6 is 0, otherwise x * scale > 0
    // is +1 and anything else (negative, or NaN) is -1. No rounding against the scale.
    if (n == 0) return;  // an empty tensor has no trailer
    double max = 0;
    for (int64_t i = 0; i < n; ++i) max = std::fmax(max, std::fabs(static_cast<double>(src[i])));
    auto code = [max](float x) -> uint8_t {
        if (std::fabs(static_cast<double>(x)) < 1e-6) return 1;
        return static_cast<double>(x) * max > 0 ? 2 : 0;
    };
    for (int64_t b = 0; b < n / static_cast<int64_t>(kI2SBlock); ++b, src += kI2SBlock, dst += kI2SGroup)
        for (uint64_t k = 0; k < kI2SGroup; ++k)
            dst[k] = static_cast<uint8_t>(code(src[k]) << 6 | code(src[k + 32]) << 4 | code(src[k + 64]) << 2 |
                                          code(src[k + 96]));
    // dst now points just past the packed data: the trailer is the scale, then zeros.
    std::memset(dst, 0, kI2SScaleBytes);
    const auto scale = static_cast<float>(max);
    std::memcpy(dst, &scale, sizeof scale);
}

}  // namespace lockstep
