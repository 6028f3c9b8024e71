// BERT: its normalizer (clean text, isolate CJK ideographs, strip accents, lowercase), its
// pre-tokenizer (split on whitespace, isolate punctuation) and WordPiece's greedy longest
// match, as Hugging Face's BertNormalizer / BertPreTokenizer / WordPiece do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/token_map.h"
#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

class WordPieceModel {
public:
    explicit WordPieceModel(const Vocab& vocab);
    void encode(std::string_view text, std::vector<TokenId>& out) const;

private:
    std::u32string normalize(std::string_view text) const;
    void encode_word(std::u32string_view word, std::vector<TokenId>& out) const;

    BertOptions options_;
    TokenMap by_text_;
    TokenId unk_;
    size_t max_token_bytes_ = 0;
};

}  // namespace lockstep::tokenizer
