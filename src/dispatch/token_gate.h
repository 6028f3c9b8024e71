// The token-parity gate: before any logits are computed, every backend must have produced
// the same ids for the same text. When they have not, say where and most likely why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dispatch/backend.h"

namespace lockstep::dispatch {

struct TokenSide {
    std::string backend;
    int32_t id = -1;      // -1: the sequence ended before this index
    std::string piece;    // bytes of the token at the index
    std::vector<int32_t> window_ids;        // context around the index
    std::vector<std::string> window_pieces;
};

struct TokenMismatch {
    int64_t index = 0;         // first differing position
    int64_t window_start = 0;  // position of window_ids[0]
    TokenSide a, b;
    std::string cause;         // double-bos | missing-bos | special-not-parsed | different-vocabulary |
                               // different-text | different-segmentation
    std::string explanation;   // one sentence a person can act on
};

// Compares two tokenizations of `text`. `window` tokens of context are kept on each side.
std::optional<TokenMismatch> find_token_mismatch(Backend& a, const std::vector<int32_t>& ids_a, Backend& b,
                                                 const std::vector<int32_t>& ids_b, int window = 4);

}  // namespace lockstep::dispatch
