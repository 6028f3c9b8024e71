// Unigram (SentencePiece's unigram language model; llama.cpp's "t5" / UGM vocabularies):
// the text is normalized by the precompiled charsmap and the whitespace rules, then the
// segmentation with the highest sum of token log-probabilities is found by Viterbi over
// the lattice of every token starting at every code point, as llama.cpp does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/byte_trie.h"
#include "tokenizer/charsmap.h"
#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

class UnigramModel {
public:
    // Throws std::invalid_argument for a malformed charsmap or a missing unknown token.
    explicit UnigramModel(const Vocab& vocab);
    // `text`: one fragment between special tokens, not yet normalized. Throws FormatError
    // when the text reaches a damaged charsmap rule.
    void encode(std::string_view text, std::vector<TokenId>& out) const;

private:
    std::string normalize(std::string_view text) const;

    std::string source_;  // the vocabulary's file, for errors
    PrecompiledCharsmap charsmap_;
    ByteTrie tokens_;        // normal, user-defined and unused tokens
    ByteTrie user_defined_;  // kept whole by the normalizer
    std::vector<double> scores_;  // user-defined tokens score 0, above every log-probability
    double unknown_score_ = 0;    // the lowest normal score minus a penalty
    TokenId unk_;
    bool prepend_space_;
    bool merge_spaces_;
    std::string space_;  // what a space becomes: U+2581 when escaping whitespace
};

}  // namespace lockstep::tokenizer
