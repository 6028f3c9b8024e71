#include "formats/utf8_validate.h"

#include <cstdint>
#include <cstring>

namespace lockstep {

size_t first_invalid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        // Vocabularies are mostly ASCII: skip eight ASCII bytes at a time.
        if (i + 8 <= n) {
            uint64_t chunk;
            std::memcpy(&chunk, p + i, 8);
            if ((chunk & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        const uint8_t b0 = p[i];
        if (b0 < 0x80) {
            ++i;
            continue;
        }
        // Length of the sequence and the allowed range of its second byte, which is where
        // overlong forms, surrogates and code points above U+10FFFF are excluded.
        size_t len;
        uint8_t lo = 0x80, hi = 0xBF;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            len = 2;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            len = 3;
            if (b0 == 0xE0) lo = 0xA0;       // overlong below U+0800
            else if (b0 == 0xED) hi = 0x9F;  // surrogates
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            len = 4;
            if (b0 == 0xF0) lo = 0x90;       // overlong below U+10000
            else if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
        } else {
            return i;  // a continuation byte without a lead, an overlong C0/C1 lead, or F5..FF
        }
        if (i + 1 >= n || p[i + 1] < lo || p[i + 1] > hi) return i;
        for (size_t k = 2; k < len; ++k)
            if (i + k >= n || (p[i + k] & 0xC0) != 0x80) return i;
        i += len;
    }
    return std::string_view::npos;
}

}  // namespace lockstep
