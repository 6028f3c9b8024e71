#include "tokenizer/charsmap.h"

#include <cstring>
#include <stdexcept>

namespace lockstep::tokenizer {

namespace {

uint32_t base_of(uint32_t unit) { return (unit >> 10) << ((unit & (1U << 9)) >> 6); }
uint32_t label_of(uint32_t unit) { return unit & ((1U << 31) | 0xFF); }
bool has_leaf(uint32_t unit) { return (unit >> 8) & 1; }
uint32_t value_of(uint32_t unit) { return unit & ((1U << 31) - 1); }

}  // namespace

PrecompiledCharsmap::PrecompiledCharsmap(std::string_view blob) {
    if (blob.size() < 4) throw std::invalid_argument("the precompiled charsmap is shorter than its 4-byte header");
    const auto* b = reinterpret_cast<const unsigned char*>(blob.data());
    const uint64_t array_bytes = b[0] | (b[1] << 8) | (b[2] << 16) | (uint64_t(b[3]) << 24);
    if (array_bytes % 4 != 0 || array_bytes > blob.size() - 4)
        throw std::invalid_argument("the precompiled charsmap's array of " + std::to_string(array_bytes) +
                                    " bytes does not fit in its " + std::to_string(blob.size()) + " bytes");
    units_.resize(array_bytes / 4);
    for (size_t i = 0; i < units_.size(); ++i) {
        const unsigned char* u = b + 4 + 4 * i;
        units_[i] = u[0] | (u[1] << 8) | (u[2] << 16) | (uint32_t(u[3]) << 24);
    }
    replacements_.assign(blob.substr(4 + array_bytes));
}

size_t PrecompiledCharsmap::longest_match(std::string_view text, std::string_view& replacement) const {
    if (units_.empty()) return 0;
    size_t matched = 0;
    uint32_t value = 0;
    // An index past the array (only in a damaged file) reads as unit 0, whose label never
    // equals a non-zero byte: the walk stops there.
    size_t node = base_of(unit(0));
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == 0) break;
        node ^= c;
        const uint32_t u = unit(node);
        if (label_of(u) != c) break;
        node ^= base_of(u);
        if (has_leaf(u)) {
            matched = i + 1;
            value = value_of(unit(node));
        }
    }
    if (matched == 0) return 0;
    if (value >= replacements_.size())
        throw std::invalid_argument("a precompiled charsmap rule points at byte " + std::to_string(value) +
                                    " of its " + std::to_string(replacements_.size()) + " bytes of replacements");
    const size_t end = replacements_.find('\0', value);
    if (end == std::string::npos) throw std::invalid_argument("a precompiled charsmap replacement is not NUL-terminated");
    replacement = std::string_view(replacements_).substr(value, end - value);
    return matched;
}

}  // namespace lockstep::tokenizer
