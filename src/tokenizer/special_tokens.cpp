#include "tokenizer/special_tokens.h"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace lockstep::tokenizer {

SpecialTokenSplitter::SpecialTokenSplitter(const Vocab& v) {
    const size_t n = v.tokens.size();
    rank_.assign(n, 0);
    always_.assign(n, 0);
    lstrip_ = v.lstrip;
    rstrip_ = v.rstrip;
    lstrip_.resize(n, 0);
    rstrip_.resize(n, 0);
    std::vector<TokenId> specials;
    for (size_t id = 0; id < n; ++id) {
        const TokenType t = v.types[id];
        if (t != TokenType::kControl && t != TokenType::kUserDefined && t != TokenType::kUnknown) continue;
        if (v.tokens[id].empty()) continue;
        specials.push_back(static_cast<TokenId>(id));
        always_[id] = t == TokenType::kUserDefined;
    }
    // Longest first; among equal lengths the lower id first, so the order is deterministic.
    std::stable_sort(specials.begin(), specials.end(),
                     [&](TokenId a, TokenId b) { return v.tokens[a].size() > v.tokens[b].size(); });
    for (size_t r = 0; r < specials.size(); ++r) rank_[specials[r]] = static_cast<uint32_t>(r);
    trie_.emplace_back();
    for (TokenId id : specials) {
        int node = 0;
        for (unsigned char c : v.tokens[id]) {
            int next = child(node, c);
            if (next < 0) {
                next = static_cast<int>(trie_.size());
                trie_.emplace_back();
                auto& kids = trie_[node].children;
                kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(c, 0)), {c, next});
            }
            node = next;
        }
        trie_[node].token = id;
        first_byte_[static_cast<unsigned char>(v.tokens[id][0])] = true;
        empty_ = false;
    }
}

int SpecialTokenSplitter::child(int node, uint8_t byte) const {
    const auto& kids = trie_[node].children;
    auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(byte, 0));
    return (it != kids.end() && it->first == byte) ? it->second : -1;
}

std::vector<Fragment> SpecialTokenSplitter::split(std::string_view text, bool parse_special) const {
    std::vector<Fragment> out;
    if (text.empty()) return out;
    if (empty_) {
        out.push_back({0, text.size(), kNoToken});
        return out;
    }
    struct Occurrence {
        uint32_t rank;
        size_t begin, end;
        TokenId token;
    };
    std::vector<Occurrence> found;
    for (size_t i = 0; i < text.size(); ++i) {
        if (!first_byte_[static_cast<unsigned char>(text[i])]) continue;
        int node = 0;
        for (size_t j = i; j < text.size(); ++j) {
            node = child(node, static_cast<uint8_t>(text[j]));
            if (node < 0) break;
            const TokenId t = trie_[node].token;
            if (t != kNoToken && (parse_special || always_[t])) found.push_back({rank_[t], i, j + 1, t});
        }
    }
    if (found.empty()) {
        out.push_back({0, text.size(), kNoToken});
        return out;
    }
    std::sort(found.begin(), found.end(), [](const Occurrence& a, const Occurrence& b) {
        return a.rank != b.rank ? a.rank < b.rank : a.begin < b.begin;
    });
    // owner[i]: the token that claimed byte i (kNoToken: still text).
    std::vector<TokenId> owner(text.size(), kNoToken);
    std::vector<Fragment> tokens;
    size_t last_end = 0;
    TokenId last_token = kNoToken;
    for (const auto& o : found) {
        if (o.token != last_token) last_end = 0, last_token = o.token;
        if (o.begin < last_end) continue;  // overlaps this token's previous occurrence
        const size_t end = o.end;
        bool free = true;
        for (size_t i = o.begin; i < end && free; ++i) free = owner[i] == kNoToken;
        if (!free) continue;
        size_t b = o.begin, e = end;
        if (lstrip_[o.token])
            while (b > 0 && owner[b - 1] == kNoToken && std::isspace(static_cast<unsigned char>(text[b - 1]))) --b;
        if (rstrip_[o.token])
            while (e < text.size() && owner[e] == kNoToken && std::isspace(static_cast<unsigned char>(text[e]))) ++e;
        std::fill(owner.begin() + b, owner.begin() + e, o.token);
        tokens.push_back({b, e, o.token});
        last_end = end;
    }
    std::sort(tokens.begin(), tokens.end(), [](const Fragment& a, const Fragment& b) { return a.begin < b.begin; });
    size_t pos = 0;
    for (const auto& t : tokens) {
        if (t.begin > pos) out.push_back({pos, t.begin, kNoToken});
        out.push_back(t);
        pos = t.end;
    }
    if (pos < text.size()) out.push_back({pos, text.size(), kNoToken});
    return out;
}

}  // namespace lockstep::tokenizer
