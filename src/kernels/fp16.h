// Scalar conversions between float32 and the 16-bit float formats the weights and block
// scales are stored in. Exact (bit-level) so that the scalar reference and every SIMD path
// agree on block scales; round-to-nearest-even like the F16C instruction llama.cpp uses.
// Always inlined because SIMD translation units with other -m flags include this too.
#pragma once

#include <bit>
#include <cstdint>

namespace lockstep::kernels {

[[gnu::always_inline]] inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    const uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf, nan
    if (exponent == 0) {
        // Zero or subnormal: mantissa * 2^-24, exact in float32.
        const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
        return sign ? -magnitude : magnitude;
    }
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

[[gnu::always_inline]] inline uint16_t fp32_to_fp16(float f) {
    uint32_t x = std::bit_cast<uint32_t>(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) return sign | 0x7c00u | (x > 0x7f800000u ? 0x200u : 0u);  // inf, quiet nan
    if (x >= 0x477ff000u) return sign | 0x7c00u;  // rounds past the largest half (65504): inf
    if (x < 0x38800000u) {
        // Below the smallest normal half: adding 0.5 puts the value on a grid of 2^-24
        // (the half subnormal spacing), so the float adder does the even rounding for us.
        const float shifted = std::bit_cast<float>(x) + 0.5f;
        return sign | static_cast<uint16_t>(std::bit_cast<uint32_t>(shifted) - 0x3f000000u);
    }
    // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to
    // nearest, ties to even (0xfff plus the lowest kept bit).
    const uint32_t lowest_kept = (x >> 13) & 1u;
    x += 0xc8000fffu + lowest_kept;
    return sign | static_cast<uint16_t>(x >> 13);
}

[[gnu::always_inline]] inline float bf16_to_fp32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

}  // namespace lockstep::kernels
