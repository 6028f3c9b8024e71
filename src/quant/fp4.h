// The 4-bit float types MXFP4 and NVFP4: their element codes and block scales, as ggml
// stores them (ggml-common.h) and gguf.quants decodes them. Shared by the row codecs
// (quant/fp4.cpp) and the matmul kernels, hence header-only and always inlined (SIMD
// translation units with other -m flags include it too).
//
// Elements are OCP E2M1 codes: bit 3 the sign, bits 0..2 the magnitudes 0, 0.5, 1, 1.5, 2,
// 3, 4, 6. ggml keeps them doubled, as the int8 values of kE2M1Doubled, so that a block's dot
// product with int8 activations stays an exact integer, and halves the block scale instead:
// - MXFP4, 32 elements: one E8M0 byte e, the scale 2^(e - 127); halved, 2^(e - 128), a float32
//   subnormal for e < 2. E8M0's NaN (e = 255) is not special: it is 2^127 like any exponent
//   (ggml_e8m0_to_fp32_half).
// - NVFP4, 64 elements: four UE4M3 scale bytes, one per 16 elements: exponent bits 3..6 with
//   bias 7, mantissa bits 0..2, subnormal at exponent 0. The bytes 0x00 and 0x7f (E4M3's NaN)
//   are scale 0; bit 7 (an unsigned format has no sign) is ignored by the decoding, so 0xff
//   is the largest scale, 480: the NaN test compares whole bytes (ggml_ue4m3_to_fp32 in
//   ggml-impl.h and gguf.quants' ue4m3_to_fp32 alike).
#pragma once

#include <bit>
#include <cstdint>

namespace lockstep {

inline constexpr int8_t kE2M1Doubled[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e - 128): half the MXFP4 block scale, exactly.
[[gnu::always_inline]] inline float e8m0_to_f32_half(uint8_t e) {
    const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
    return std::bit_cast<float>(bits);
}

// Half the NVFP4 sub-block scale, exactly: m * 2^-10 at exponent 0, else (1 + m/8) * 2^(exp - 8).
[[gnu::always_inline]] inline float ue4m3_to_f32_half(uint8_t x) {
    if (x == 0x00 || x == 0x7f) return 0.0f;
    const uint32_t exponent = (x >> 3) & 0x0fu, mantissa = x & 0x07u;
    if (exponent == 0) return static_cast<float>(mantissa) * 0x1p-10f;
    return std::bit_cast<float>(((exponent + 119u) << 23) | (mantissa << 20));
}

}  // namespace lockstep
