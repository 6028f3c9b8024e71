// A trie of token texts over bytes, flattened into arrays: the children of a node are
// contiguous and sorted by byte, so a step is a binary search. Used where every token
// starting at a position matters (Unigram's lattice), not just one lookup.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

class ByteTrie {
public:
    ByteTrie() = default;
    // (text, id) pairs; when a text repeats, the last id wins.
    explicit ByteTrie(std::vector<std::pair<std::string_view, TokenId>> entries);

    // Calls fn(length, id) for every token that is a prefix of `text`, shortest first.
    template <typename Fn>
    void for_each_prefix(std::string_view text, Fn&& fn) const {
        uint32_t node = 0;
        for (size_t i = 0; i < text.size(); ++i) {
            node = child(node, static_cast<uint8_t>(text[i]));
            if (node == kNone) return;
            if (nodes_[node].id != kNoToken) fn(i + 1, nodes_[node].id);
        }
    }

    // The length of the longest token that is a prefix of `text` (0 if none).
    size_t longest_prefix(std::string_view text) const {
        size_t longest = 0;
        for_each_prefix(text, [&](size_t length, TokenId) { longest = length; });
        return longest;
    }

    bool empty() const { return nodes_.size() <= 1; }

private:
    static constexpr uint32_t kNone = UINT32_MAX;
    struct Node {
        TokenId id = kNoToken;
        uint32_t first_child = 0;
        uint32_t n_children = 0;
    };

    uint32_t child(uint32_t node, uint8_t byte) const {
        const Node& n = nodes_[node];
        const uint8_t* begin = labels_.data() + n.first_child;
        const uint8_t* end = begin + n.n_children;
        const uint8_t* it = std::lower_bound(begin, end, byte);
        return (it != end && *it == byte) ? n.first_child + static_cast<uint32_t>(it - begin) : kNone;
    }

    std::vector<Node> nodes_;      // nodes_[0] is the root
    std::vector<uint8_t> labels_;  // the byte leading to each node
};

}  // namespace lockstep::tokenizer
