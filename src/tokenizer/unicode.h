// Code point properties and UTF-8 for the tokenizers: general categories and White_Space
// (what the pre-tokenizer regexes test), lowercase and canonical decomposition (what the
// WordPiece normalizer needs). Tables come from scripts/gen_unicode_tables.py.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lockstep::tokenizer {

// Flag bits of a code point. Major categories (\p{L} ...), White_Space (\s) and the
// subcategories the regexes and normalizers name.
namespace cp {
constexpr uint16_t kLetter = 1 << 0;       // L
constexpr uint16_t kNumber = 1 << 1;       // N
constexpr uint16_t kPunctuation = 1 << 2;  // P
constexpr uint16_t kSymbol = 1 << 3;       // S
constexpr uint16_t kMark = 1 << 4;         // M
constexpr uint16_t kSeparator = 1 << 5;    // Z
constexpr uint16_t kOther = 1 << 6;        // C (including unassigned)
constexpr uint16_t kWhiteSpace = 1 << 7;   // the White_Space property
constexpr uint16_t kUppercase = 1 << 8;    // Lu
constexpr uint16_t kLowercase = 1 << 9;    // Ll
constexpr uint16_t kTitlecase = 1 << 10;   // Lt
constexpr uint16_t kModifier = 1 << 11;    // Lm
constexpr uint16_t kOtherLetter = 1 << 12; // Lo
constexpr uint16_t kDecimal = 1 << 13;     // Nd
constexpr uint16_t kNonspacing = 1 << 14;  // Mn
constexpr uint16_t kControl = 1 << 15;     // Cc
}  // namespace cp

constexpr uint32_t kMaxCodepoint = 0x10FFFF;

namespace detail {
// Two-level table: block index of cp >> 8, then 256 flags per distinct block.
extern const uint16_t* flag_blocks_index;
extern const uint16_t* flag_blocks;
}  // namespace detail

inline uint16_t codepoint_flags(uint32_t c) {
    if (c > kMaxCodepoint) return cp::kOther;
    return detail::flag_blocks[(static_cast<uint32_t>(detail::flag_blocks_index[c >> 8]) << 8) | (c & 0xFF)];
}

const char* unicode_version();

// Full lowercase mapping (U+0130 becomes two code points), appended to `out`.
void append_lowercase(uint32_t c, std::u32string& out);
// Full canonical decomposition (NFD of one code point, Hangul included), appended to `out`.
// Canonical reordering of combining marks across code points is not applied.
void append_decomposition(uint32_t c, std::u32string& out);

// UTF-8. The input of decode_utf8 must be valid (check with first_invalid_utf8 first).
size_t utf8_length_from_lead(uint8_t lead);
uint32_t decode_utf8_at(std::string_view s, size_t& pos);
void append_utf8(uint32_t c, std::string& out);
std::u32string decode_utf8(std::string_view s);
std::string encode_utf8(std::u32string_view s);

}  // namespace lockstep::tokenizer
