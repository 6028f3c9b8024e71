// Unpacking of the 6-bit sub-block scales that Q3_K, Q4_K and Q5_K pack into 12 bytes.
// Shared by the scalar reference and the SIMD paths, so both read the format the same way.
// Always inlined: these headers are compiled into translation units with different
// instruction sets, and an out-of-line copy built for one could be linked into another.
#pragma once

#include <cstdint>

namespace lockstep::kernels {

// Q3_K: 16 signed scales, one per 16 elements. Scale i has its low 4 bits in byte i % 8
// (low nibble for i < 8, high nibble after) and its high 2 bits in byte 8 + i % 4 at bit
// 2 * (i / 4); the stored value is offset by 32.
[[gnu::always_inline]] inline void unpack_q3_k_scales(const uint8_t raw[12], int8_t scales[16]) {
    for (int i = 0; i < 16; ++i) {
        const int low = i < 8 ? (raw[i] & 0x0f) : (raw[i - 8] >> 4);
        const int high = (raw[8 + i % 4] >> (2 * (i / 4))) & 3;
        scales[i] = static_cast<int8_t>((low | (high << 4)) - 32);
    }
}

// Q4_K / Q5_K: 8 scales and 8 mins of 6 bits, one pair per 32 elements. Pairs 0-3 sit in
// the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); pairs 4-7 keep their low 4 bits in
// the nibbles of bytes 8-11 and their high 2 bits in the top bits of bytes 0-7.
[[gnu::always_inline]] inline void unpack_q4_k_scales(const uint8_t raw[12], uint8_t scales[8], uint8_t mins[8]) {
    for (int j = 0; j < 4; ++j) {
        scales[j] = raw[j] & 63;
        mins[j] = raw[j + 4] & 63;
    }
    for (int j = 4; j < 8; ++j) {
        scales[j] = static_cast<uint8_t>((raw[j + 4] & 0x0f) | ((raw[j - 4] >> 6) << 4));
        mins[j] = static_cast<uint8_t>((raw[j + 4] >> 4) | ((raw[j] >> 6) << 4));
    }
}

}  // namespace lockstep::kernels
