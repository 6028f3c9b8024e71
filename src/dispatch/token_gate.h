// The token-parity gate: before any logits are computed, every backend must have produced
// the same tokens for the same text — the same ids, or with different vocabularies, ids the
// vocabulary bridge pairs. When they have not, say where and most likely why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dispatch/backend.h"
#include "dispatch/vocab_bridge.h"

namespace lockstep::dispatch {

// One backend's tokenization of the text it was given, under the label the report uses for it.
struct Tokenization {
    Backend& backend;
    const std::string& label;
    const std::vector<int32_t>& ids;
    const std::string& text;  // the rendered prompt; backends on different model files may get
                              // different texts when their files carry different chat templates
};

struct TokenSide {
    std::string backend;  // the label
    int32_t id = -1;      // -1: the sequence ended before this index
    int32_t counterpart = -1;  // the id the bridge pairs with `id` in the other vocabulary (-1: none)
    std::string piece;    // bytes of the token at the index
    std::vector<int32_t> window_ids;        // context around the index
    std::vector<std::string> window_pieces;
};

struct TokenMismatch {
    int64_t index = 0;         // first differing position
    int64_t window_start = 0;  // position of window_ids[0]
    TokenSide a, b;
    std::string cause;         // double-bos | missing-bos | special-not-parsed | different-vocabulary |
                               // different-template | different-text | different-segmentation
    std::string explanation;   // one sentence a person can act on
};

// Compares two tokenizations of one text through `bridge` (a's ids to b's). `window` tokens
// of context are kept on each side.
std::optional<TokenMismatch> find_token_mismatch(const Tokenization& a, const Tokenization& b,
                                                 const VocabBridge& bridge, int window = 4);

}  // namespace lockstep::dispatch
