#include "tokenizer/byte_trie.h"

namespace lockstep::tokenizer {

ByteTrie::ByteTrie(std::vector<std::pair<std::string_view, TokenId>> entries) {
    // Sorted by text, repeats in their original order, so the last of equal texts wins.
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    nodes_.emplace_back();
    labels_.push_back(0);
    // Pending nodes with the entries below them: [lo, hi) share their first `depth` bytes.
    // An explicit stack, not recursion: a token may be as long as a file allows.
    struct Pending {
        uint32_t node;
        size_t lo, hi, depth;
    };
    std::vector<Pending> stack{{0, 0, entries.size(), 0}};
    while (!stack.empty()) {
        auto [node, lo, hi, depth] = stack.back();
        stack.pop_back();
        while (lo < hi && entries[lo].first.size() == depth) nodes_[node].id = entries[lo++].second;
        // One child per distinct next byte, allocated together so that they are contiguous.
        const auto first = static_cast<uint32_t>(nodes_.size());
        nodes_[node].first_child = first;
        for (size_t i = lo; i < hi;) {
            size_t j = i + 1;
            while (j < hi && entries[j].first[depth] == entries[i].first[depth]) ++j;
            stack.push_back({static_cast<uint32_t>(nodes_.size()), i, j, depth + 1});
            nodes_.emplace_back();
            labels_.push_back(static_cast<uint8_t>(entries[i].first[depth]));
            i = j;
        }
        nodes_[node].n_children = static_cast<uint32_t>(nodes_.size()) - first;
    }
}

}  // namespace lockstep::tokenizer
