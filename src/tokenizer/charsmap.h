// SentencePiece's precompiled normalization rules (the "precompiled_charsmap" of a Unigram
// vocabulary, e.g. T5's or XLM-R's NFKC rules): a trie stored as darts-clone's compact
// double array whose leaves name NUL-terminated replacement strings.
// Layout: uint32 (little-endian) byte size of the array, the array's uint32 units, then
// the replacement strings. Each unit packs BASE in bits 10-30 (shifted left by 8 when bit 9
// is set), a LABEL in bits 0-7 (bit 31 set on value units), a LEAF flag in bit 8; a value
// unit holds a replacement's offset in bits 0-30.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lockstep::tokenizer {

class PrecompiledCharsmap {
public:
    PrecompiledCharsmap() = default;  // no rules
    // Throws std::invalid_argument when the sizes in the blob do not fit.
    explicit PrecompiledCharsmap(std::string_view blob);

    bool empty() const { return units_.empty(); }
    // The length of the longest prefix of `text` that has a rule (0 if none), with its
    // replacement. Throws std::invalid_argument for a rule pointing outside the strings.
    size_t longest_match(std::string_view text, std::string_view& replacement) const;

private:
    uint32_t unit(size_t index) const { return index < units_.size() ? units_[index] : 0; }

    std::vector<uint32_t> units_;
    std::string replacements_;
};

}  // namespace lockstep::tokenizer
