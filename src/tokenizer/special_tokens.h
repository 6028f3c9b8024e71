// Cuts text at special tokens before segmentation, as llama.cpp does: the longest special
// tokens claim their occurrences first, each scanning left to right; control and unknown
// tokens only when parsing special tokens is on, user-defined tokens always.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

struct Fragment {
    size_t begin, end;  // bytes of the text; for a token, what it covers (with stripped spaces)
    TokenId token;      // kNoToken for text to segment
};

class SpecialTokenSplitter {
public:
    explicit SpecialTokenSplitter(const Vocab& vocab);
    std::vector<Fragment> split(std::string_view text, bool parse_special) const;

private:
    struct Node {
        std::vector<std::pair<uint8_t, int>> children;  // sorted by byte
        TokenId token = kNoToken;
    };
    int child(int node, uint8_t byte) const;

    std::vector<Node> trie_;
    std::vector<uint32_t> rank_;      // per token: order in which it claims (longest first)
    std::vector<uint8_t> always_;     // user-defined: split even without parse_special
    std::vector<uint8_t> lstrip_, rstrip_;
    bool first_byte_[256] = {};
    bool empty_ = true;
};

}  // namespace lockstep::tokenizer
