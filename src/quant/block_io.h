// Reading and writing the 16-bit scales inside quantized blocks. Blocks sit at any byte
// offset in a memory-mapped file, so every multi-byte field goes through memcpy (one
// unaligned load) instead of a cast to a block struct. GGUF data is little-endian, as is
// every machine lockstep builds for.
#pragma once

#include <cstdint>
#include <cstring>

#include "quant/float_bits.h"

namespace lockstep {

inline uint16_t load_u16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline float load_f16(const uint8_t* p) { return f16_to_f32(load_u16(p)); }

inline void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, sizeof v); }

inline void store_f16(uint8_t* p, float v) { store_u16(p, f32_to_f16(v)); }

}  // namespace lockstep
