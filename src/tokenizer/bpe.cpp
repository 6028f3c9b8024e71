#include "tokenizer/bpe.h"

#include <queue>
#include <stdexcept>

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode.h"
#include "tokenizer/word_boundaries.h"

namespace lockstep::tokenizer {

namespace {

std::string byte_token_text(uint8_t b) {
    static const char* hex = "0123456789ABCDEF";
    return std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
}

}  // namespace

BpeModel::BpeModel(const Vocab& v)
    : byte_level_(v.byte_level), byte_fallback_(v.byte_fallback), ignore_merges_(v.ignore_merges),
      fuse_unknown_(v.fuse_unknown), unk_(v.unk) {
    by_bytes_.reserve(v.tokens.size());
    for (size_t id = 0; id < v.tokens.size(); ++id) {
        const std::string& text = v.tokens[id];
        std::string bytes = text;
        if (byte_level_) {
            // Every token, special ones included, is looked up by its byte-level spelling, as
            // llama.cpp does: an added token "ü" then stands for the byte 0xFC, not for the
            // UTF-8 of "ü", which stays the merged byte-level token "Ã¼".
            auto unmapped = unmap_bytes(text);
            if (!unmapped) continue;  // not spelled in the byte alphabet: reachable only as a special token
            bytes = std::move(*unmapped);
        }
        // Later duplicates win, as in llama.cpp's token_to_id and a JSON object's last key.
        by_bytes_[bytes] = static_cast<TokenId>(id);
    }
    for (int b = 0; b < 256; ++b) {
        byte_token_[b] = kNoToken;
        if (byte_level_) {
            // Some vocabularies lack bytes that UTF-8 never uses (0xC0, 0xF5...) or rare
            // control bytes; those become the unknown token or nothing, as in HF and llama.cpp.
            byte_token_[b] = find(std::string(1, static_cast<char>(b)));
        } else {
            auto it = by_bytes_.find(byte_token_text(static_cast<uint8_t>(b)));
            if (it != by_bytes_.end()) byte_token_[b] = it->second;
        }
    }
    if (!byte_level_ && v.escape_whitespace) words_ = std::make_unique<WordSplitter>(v.tokens);
    merges_.reserve(v.merges.size());
    for (size_t rank = 0; rank < v.merges.size(); ++rank) {
        const auto& [left, right] = v.merges[rank];
        auto bytes_of = [&](const std::string& s) -> std::optional<std::string> {
            return byte_level_ ? unmap_bytes(s) : std::optional<std::string>(s);
        };
        const auto l = bytes_of(left), r = bytes_of(right);
        if (!l || !r) continue;
        const TokenId a = find(*l), b = find(*r), m = find(*l + *r);
        // A merge whose parts or result are not tokens can never apply.
        if (a == kNoToken || b == kNoToken || m == kNoToken) continue;
        merges_.try_emplace(pair_key(a, b), Merge{static_cast<uint32_t>(rank), m});  // first rank wins
    }
}

TokenId BpeModel::find(std::string_view bytes) const {
    return find_token(by_bytes_, bytes);
}

void BpeModel::initial_symbols(std::string_view piece, std::vector<TokenId>& symbols) const {
    if (byte_level_) {
        for (unsigned char b : piece) {
            if (byte_token_[b] != kNoToken) symbols.push_back(byte_token_[b]);
            else if (unk_ != kNoToken) symbols.push_back(unk_);
        }
        return;
    }
    size_t pos = 0;
    bool previous_unknown = false;
    while (pos < piece.size()) {
        const size_t len = utf8_length_from_lead(static_cast<uint8_t>(piece[pos]));
        const std::string_view ch = piece.substr(pos, len);
        pos += len;
        const TokenId id = find(ch);
        if (id != kNoToken) {
            symbols.push_back(id);
            previous_unknown = false;
            continue;
        }
        if (byte_fallback_) {
            bool all = true;
            for (unsigned char b : ch) all = all && byte_token_[b] != kNoToken;
            if (all) {
                for (unsigned char b : ch) symbols.push_back(byte_token_[b]);
                previous_unknown = false;
                continue;
            }
        }
        if (unk_ == kNoToken) continue;  // nothing to stand for it (llama.cpp drops it too)
        if (!(fuse_unknown_ && previous_unknown)) symbols.push_back(unk_);
        previous_unknown = true;
    }
}

void BpeModel::merge(std::vector<TokenId>& sym) const {
    const int n = static_cast<int>(sym.size());
    if (n < 2) return;
    // Doubly linked symbols; a heap of candidate pairs by (rank, left position), entries
    // checked against the current symbols when popped.
    std::vector<int> prev(n), next(n);
    for (int i = 0; i < n; ++i) {
        prev[i] = i - 1;
        next[i] = i + 1 < n ? i + 1 : -1;
    }
    struct Candidate {
        uint32_t rank;
        int left;
        TokenId a, b;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
    auto consider = [&](int left) {
        if (left < 0 || next[left] < 0) return;
        auto it = merges_.find(pair_key(sym[left], sym[next[left]]));
        if (it != merges_.end()) heap.push({it->second.rank, left, sym[left], sym[next[left]]});
    };
    for (int i = 0; i + 1 < n; ++i) consider(i);
    while (!heap.empty()) {
        const Candidate c = heap.top();
        heap.pop();
        const int right = next[c.left];
        if (sym[c.left] != c.a || right < 0 || sym[right] != c.b) continue;  // stale
        sym[c.left] = merges_.find(pair_key(c.a, c.b))->second.result;
        sym[right] = kNoToken;
        next[c.left] = next[right];
        if (next[right] >= 0) prev[next[right]] = c.left;
        consider(prev[c.left]);
        consider(c.left);
    }
    size_t w = 0;
    for (int i = 0; i != -1 && i < n; i = next[i]) sym[w++] = sym[i];
    sym.resize(w);
}

void BpeModel::encode(std::string_view piece, std::vector<TokenId>& out) const {
    if (piece.empty()) return;
    auto merge_piece = [this](std::string_view p, std::vector<TokenId>& o) { encode_uncached(p, o); };
    if (words_) words_->for_each_word(piece, [&](std::string_view word) { cache_.encode(word, out, merge_piece); });
    else cache_.encode(piece, out, merge_piece);
}

void BpeModel::encode_uncached(std::string_view piece, std::vector<TokenId>& out) const {
    if (ignore_merges_) {
        const TokenId whole = find(piece);
        if (whole != kNoToken) {
            out.push_back(whole);
            return;
        }
    }
    std::vector<TokenId> symbols;
    symbols.reserve(piece.size());
    initial_symbols(piece, symbols);
    merge(symbols);
    out.insert(out.end(), symbols.begin(), symbols.end());
}

}  // namespace lockstep::tokenizer
