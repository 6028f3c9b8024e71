// UTF-8 validation for strings read from model files. GGUF declares its strings UTF-8;
// checking once at read time means every consumer (Python str, tokenizers) can trust them.
#pragma once

#include <cstddef>
#include <string_view>

namespace lockstep {

// Index of the first byte of `s` that does not begin or continue a well-formed UTF-8
// sequence, or std::string_view::npos when all of `s` is well-formed. Well-formed as in
// Unicode table 3-7 (and Python's strict decoder): no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence at the end.
size_t first_invalid_utf8(std::string_view s);

}  // namespace lockstep
