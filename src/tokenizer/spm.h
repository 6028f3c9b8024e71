// SentencePiece-style BPE as llama.cpp runs it for "llama" vocabularies: adjacent pieces
// merge while their concatenation is a token, highest score first; characters left
// without a token become <0xXX> byte tokens.
#pragma once

#include <string_view>
#include <vector>

#include "tokenizer/piece_cache.h"
#include "tokenizer/word_boundaries.h"
#include "tokenizer/token_map.h"
#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

class SpmModel {
public:
    explicit SpmModel(const Vocab& vocab);
    // Appends the ids of `text` (whitespace already escaped to U+2581).
    void encode(std::string_view text, std::vector<TokenId>& out) const;

private:
    void encode_word(std::string_view text, std::vector<TokenId>& out) const;

    PieceCache cache_;
    WordSplitter words_;  // merge word by word (word_boundaries.h)
    TokenMap by_text_;
    std::vector<float> scores_;
    TokenId byte_token_[256];
    TokenId unk_;
};

}  // namespace lockstep::tokenizer
