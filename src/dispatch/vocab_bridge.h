// The vocabulary bridge. Two backends may number the same tokens differently: a vocabulary
// permuted by a converter, extended with added tokens, or padded to a round size. The bridge
// pairs token ids by the bytes they stand for, so that tokens are compared by what they mean
// and logits on the columns both vocabularies share; what it cannot pair is counted, never
// silently dropped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dispatch/backend.h"

namespace lockstep::dispatch {

struct VocabBridge {
    int64_t size_a = 0, size_b = 0;
    // Same size and the same piece at every id: ids and logit columns are used as they are.
    bool identity = false;
    std::vector<int32_t> a_to_b;  // per id of a: the id of b with the same piece, or -1
    std::vector<int32_t> b_to_a;  // per id of b: the id of a, or -1
    // The aligned columns in a's id order: columns_a[k] and columns_b[k] are the same token.
    std::vector<int32_t> columns_a, columns_b;
    // Tokens left unpaired on each side; `ambiguous_*` of them have a piece that several
    // tokens share in a way the bridge cannot pair (see build_vocab_bridge).
    int64_t unaligned_a = 0, unaligned_b = 0;
    int64_t ambiguous_a = 0, ambiguous_b = 0;
    std::vector<std::string> examples_a, examples_b;  // a few unaligned pieces of each side

    int64_t aligned() const { return static_cast<int64_t>(columns_a.size()); }
    int32_t to_b(int32_t id) const;  // -1 when id is out of range or unaligned
    int32_t to_a(int32_t id) const;
};

// Every token's piece, by id.
std::vector<std::string> vocabulary_pieces(Backend& backend);

// Pairs ids whose pieces are byte-for-byte equal. A piece held by exactly one token on each
// side pairs those tokens. A piece held by several tokens (byte-fallback tokens that spell the
// same byte as a normal token, padding ids with empty pieces) is paired only where the same id
// carries it on both sides; the rest of such a group is counted ambiguous.
VocabBridge build_vocab_bridge(const std::vector<std::string>& pieces_a, const std::vector<std::string>& pieces_b);

// Rows [first_row, first_row + rows) of `logits` restricted to the bridge's aligned columns: a
// contiguous [rows, aligned] block in a's column order (`side` 0) or b's (`side` 1). The
// identity bridge returns a view of the input; otherwise the columns are gathered into a new
// buffer.
Logits aligned_logits(const Logits& logits, const VocabBridge& bridge, int side, int64_t first_row, int64_t rows);

// Probability mass (softmax over all of a row) on the columns of `side` that the bridge left
// unaligned, maximised over the rows: what a comparison on the aligned columns cannot see.
double max_unaligned_mass(const Logits& logits, const VocabBridge& bridge, int side);

}  // namespace lockstep::dispatch
