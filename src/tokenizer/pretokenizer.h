// Splits text into the pieces the segmentation model sees, by a sequence of Split rules
// (vocab.h), each applied to every piece the previous one produced, as Hugging Face's
// Sequence of Split pre-tokenizers does. A pattern sees one piece as its whole input.
#pragma once

#include <cstdint>
#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

struct Span {
    uint32_t begin;  // code point index
    uint32_t end;
};

class PreTokenizer {
public:
    // Throws std::invalid_argument when a pattern is not supported (regex.h).
    explicit PreTokenizer(const std::vector<SplitRule>& rules);

    // Replaces `pieces` (spans of `text`) by their split; empty pieces are dropped.
    void split(const CodepointText& text, std::vector<Span>& pieces) const;

private:
    struct Rule {
        Regex regex;
        SplitBehavior behavior;
        bool invert;
    };
    void apply(const Rule& rule, const CodepointText& text, Span piece, std::vector<Span>& out) const;

    std::vector<Rule> rules_;
};

}  // namespace lockstep::tokenizer
