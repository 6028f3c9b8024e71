// Byte-pair encoding by merge rank, over the raw bytes of one pre-tokenized piece: GPT-2
// style byte-level vocabularies, and UTF-8 vocabularies with <0xXX> byte fallback
// (Gemma 4, Hugging Face BPE models converted from SentencePiece).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/piece_cache.h"
#include "tokenizer/word_boundaries.h"
#include "tokenizer/token_map.h"
#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

class BpeModel {
public:
    explicit BpeModel(const Vocab& vocab);

    // Appends the ids of one piece (raw UTF-8 bytes, already whitespace-escaped if the
    // vocabulary escapes it).
    void encode(std::string_view piece, std::vector<TokenId>& out) const;

    // The id of a token given by its raw bytes, or kNoToken.
    TokenId find(std::string_view bytes) const;

private:
    struct Merge {
        uint32_t rank;
        TokenId result;
    };
    static uint64_t pair_key(TokenId a, TokenId b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
    void initial_symbols(std::string_view piece, std::vector<TokenId>& symbols) const;
    void merge(std::vector<TokenId>& symbols) const;

    void encode_uncached(std::string_view piece, std::vector<TokenId>& out) const;

    PieceCache cache_;
    std::unique_ptr<WordSplitter> words_;  // SentencePiece-style text: merge word by word
    bool byte_level_;
    bool byte_fallback_;
    bool ignore_merges_;
    bool fuse_unknown_;
    TokenId unk_;
    TokenMap by_bytes_;
    std::unordered_map<uint64_t, Merge> merges_;
    TokenId byte_token_[256];  // the token of each single byte (byte-level or <0xXX>)
};

}  // namespace lockstep::tokenizer
