#include "tokenizer/spm.h"

#include <queue>

#include "tokenizer/unicode.h"
#include "tokenizer/word_boundaries.h"

namespace lockstep::tokenizer {

SpmModel::SpmModel(const Vocab& v) : words_(v.tokens), unk_(v.unk) {
    by_text_.reserve(v.tokens.size());
    for (size_t id = 0; id < v.tokens.size(); ++id) by_text_[v.tokens[id]] = static_cast<TokenId>(id);
    scores_ = v.scores;
    scores_.resize(v.tokens.size(), 0.0f);
    static const char* hex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
        const std::string name = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
        TokenId id = find_token(by_text_, name);
        if (id == kNoToken) id = find_token(by_text_, std::string(1, static_cast<char>(b)));
        byte_token_[b] = id;
    }
}

void SpmModel::encode(std::string_view text, std::vector<TokenId>& out) const {
    auto merge_word = [this](std::string_view w, std::vector<TokenId>& o) { encode_word(w, o); };
    words_.for_each_word(text, [&](std::string_view word) { cache_.encode(word, out, merge_word); });
}

void SpmModel::encode_word(std::string_view text, std::vector<TokenId>& out) const {
    struct Symbol {
        int prev, next;
        size_t offset, len;  // bytes of text; len 0 once merged into its left neighbour
    };
    std::vector<Symbol> sym;
    for (size_t pos = 0; pos < text.size();) {
        const size_t len = std::min(utf8_length_from_lead(static_cast<uint8_t>(text[pos])), text.size() - pos);
        const int i = static_cast<int>(sym.size());
        sym.push_back({i - 1, pos + len < text.size() ? i + 1 : -1, pos, len});
        pos += len;
    }
    if (sym.empty()) return;

    struct Bigram {
        float score;
        int left, right;
        size_t size;
        bool operator<(const Bigram& o) const { return score < o.score || (score == o.score && left > o.left); }
    };
    std::priority_queue<Bigram> queue;
    auto consider = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const size_t size = sym[left].len + sym[right].len;
        const TokenId id = find_token(by_text_, text.substr(sym[left].offset, size));
        if (id == kNoToken) return;
        queue.push({scores_[id], left, right, size});
    };
    for (int i = 1; i < static_cast<int>(sym.size()); ++i) consider(i - 1, i);
    while (!queue.empty()) {
        const Bigram b = queue.top();
        queue.pop();
        Symbol& l = sym[b.left];
        Symbol& r = sym[b.right];
        if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;  // stale
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = b.left;
        consider(l.prev, b.left);
        consider(b.left, l.next);
    }
    for (int i = 0; i != -1; i = sym[i].next) {
        const std::string_view piece = text.substr(sym[i].offset, sym[i].len);
        const TokenId id = find_token(by_text_, piece);
        if (id != kNoToken) {
            out.push_back(id);
            continue;
        }
        // Only single characters can be left without a token: spell them in bytes.
        for (unsigned char c : piece) {
            const TokenId bt = byte_token_[c];
            if (bt != kNoToken) out.push_back(bt);
            else if (unk_ != kNoToken) out.push_back(unk_);
        }
    }
}

}  // namespace lockstep::tokenizer
