// GPT-2's reversible byte-to-unicode mapping: vocabularies of byte-level BPE store tokens
// as text where each byte is a printable code point (0x20 ' ' becomes U+0120 'Ġ', ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lockstep::tokenizer {

// The code point that stands for `byte`.
char32_t byte_to_codepoint(uint8_t byte);
// The byte a mapped code point stands for; nullopt for other code points.
std::optional<uint8_t> codepoint_to_byte(char32_t c);
// A stored token's raw bytes; nullopt when it holds a code point outside the mapping.
std::optional<std::string> unmap_bytes(std::string_view token_text);

}  // namespace lockstep::tokenizer
