// Conversions between float32 and the 16-bit float formats stored in model files, bit for bit
// as numpy performs them (gguf.quants stores every block scale through numpy's float16):
// - f16 -> f32 is exact; a NaN keeps its payload and stays signalling (numpy converts in
//   software; the F16C instruction would set the quiet bit, so it is not used here).
// - f32 -> f16 rounds to nearest, ties to even; values from 65520 up become infinity; a NaN
//   keeps the top 10 payload bits and becomes 0x7c01 (with its sign) when those are all zero.
// - bf16 is the top half of a float32; f32 -> bf16 rounds to nearest even and quiets NaNs
//   (ggml's rule, which gguf.quants reproduces).
// Integer-only where the floating-point unit would alter NaNs, so results never depend on
// the rounding mode or on flush-to-zero.
#pragma once

#include <bit>
#include <cstdint>

namespace lockstep {

inline float f32_from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }
inline uint32_t bits_from_f32(float value) { return std::bit_cast<uint32_t>(value); }

inline float f16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    const uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return f32_from_bits(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
    if (exponent != 0) return f32_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
    // Zero or subnormal: mantissa * 2^-24 is exact in float32.
    return f32_from_bits(sign | bits_from_f32(static_cast<float>(mantissa) * 0x1p-24f));
}

inline uint16_t f32_to_f16(float value) {
    const uint32_t x = bits_from_f32(value);
    const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t magnitude = x & 0x7fffffffu;
    if (magnitude > 0x7f800000u) {  // NaN
        const auto payload = static_cast<uint16_t>((magnitude >> 13) & 0x3ffu);
        return sign | 0x7c00u | (payload ? payload : 1u);
    }
    if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 (a tie above 65504): infinity
    if (magnitude >= 0x38800000u) {                       // a normal half (>= 2^-14)
        // Re-bias the exponent (127 -> 15), then round the 13 dropped bits to nearest even;
        // a carry out of the mantissa correctly bumps the exponent.
        const uint32_t odd = (magnitude >> 13) & 1u;
        return sign | static_cast<uint16_t>((magnitude - (112u << 23) + 0xfffu + odd) >> 13);
    }
    if (magnitude <= 0x33000000u) return sign;  // <= 2^-25 (the tie rounds to even: zero)
    // A half subnormal: count units of 2^-24. The float's 24-bit significand times
    // 2^(exponent - 150) is significand >> (126 - exponent) units, rounded to nearest even.
    const uint32_t exponent = magnitude >> 23;  // 102..112
    const uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exponent;  // 14..24
    uint32_t units = significand >> shift;
    const uint32_t rest = significand & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (units & 1u))) ++units;
    return sign | static_cast<uint16_t>(units);
}

inline float bf16_to_f32(uint16_t h) { return f32_from_bits(static_cast<uint32_t>(h) << 16); }

inline uint16_t f32_to_bf16(float value) {
    uint32_t x = bits_from_f32(value);
    if ((x & 0x7fffffffu) > 0x7f800000u) x = (x & 0xffff0000u) | 0x00400000u;  // quiet NaN
    const uint64_t rounded = (static_cast<uint64_t>(x) + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    return static_cast<uint16_t>(rounded);
}

}  // namespace lockstep
