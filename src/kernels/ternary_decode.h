// Decoding of the ternary weight types into values -1/0/+1. Shared by the scalar
// reference and the SIMD paths (always inlined, see kquant_scales.h for why).
#pragma once

#include <cstdint>

#include "quant/blocks.h"

namespace lockstep::kernels {

// TQ1_0 packs 5 trits per byte (4 in qh) as a fixed-point fraction: the byte is
// ceil(v * 256 / 243) for v the base-3 number, so multiplying by 3^l (mod 256) brings trit
// l to the top and (x * 3) >> 8 reads it. Element order: qs[0..32) give elements
// 32l + m, qs[32..48) give 160 + 16l + m, qh[0..4) give 240 + 4l + m.
[[gnu::always_inline]] inline int tq1_trit(uint8_t byte, int l) {
    constexpr uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const auto shifted = static_cast<uint8_t>(byte * pow3[l]);
    return ((static_cast<uint16_t>(shifted) * 3) >> 8) - 1;
}

[[gnu::always_inline]] inline void decode_tq1_0(const BlockTQ1_0& block, int8_t out[QK_K]) {
    for (int l = 0; l < 5; ++l)
        for (int m = 0; m < 32; ++m) out[32 * l + m] = static_cast<int8_t>(tq1_trit(block.qs[m], l));
    for (int l = 0; l < 5; ++l)
        for (int m = 0; m < 16; ++m) out[160 + 16 * l + m] = static_cast<int8_t>(tq1_trit(block.qs[32 + m], l));
    for (int l = 0; l < 4; ++l)
        for (int m = 0; m < 4; ++m) out[240 + 4 * l + m] = static_cast<int8_t>(tq1_trit(block.qh[m], l));
}

}  // namespace lockstep::kernels
