#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/unicode.h"

namespace lockstep::tokenizer {

namespace {

struct ByteMap {
    std::array<char32_t, 256> to_cp{};
    std::array<uint8_t, 68> from_shifted{};  // byte of U+0100 + k
    ByteMap() {
        // Printable Latin-1 bytes stand for themselves; the others, in order, for U+0100 on.
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            if (!printable) from_shifted[next - 256] = static_cast<uint8_t>(b);
            to_cp[b] = printable ? static_cast<char32_t>(b) : next++;
        }
    }
};

const ByteMap& byte_map() {
    static const ByteMap m;
    return m;
}

}  // namespace

char32_t byte_to_codepoint(uint8_t byte) { return byte_map().to_cp[byte]; }

std::optional<uint8_t> codepoint_to_byte(char32_t c) {
    if ((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)) return static_cast<uint8_t>(c);
    if (c < 256 || c >= 256 + 68) return std::nullopt;
    return byte_map().from_shifted[c - 256];
}

std::optional<std::string> unmap_bytes(std::string_view token_text) {
    std::string out;
    out.reserve(token_text.size());
    size_t pos = 0;
    while (pos < token_text.size()) {
        const auto b = codepoint_to_byte(decode_utf8_at(token_text, pos));
        if (!b) return std::nullopt;
        out.push_back(static_cast<char>(*b));
    }
    return out;
}

}  // namespace lockstep::tokenizer
