// Token embedding lookup: one row of the embedding table per token, decoded from its
// stored type into float32. Only the rows asked for are decoded.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/matmul.h"

namespace lockstep::model {

// Whether rows of this type can be decoded.
bool can_embed(GGMLType type);

// out[t] = row ids[t] of `table` ([n_vocab, n_embd]); ids must be in range.
void embed_tokens(const kernels::WeightMatrix& table, std::span<const int32_t> ids, float* out);

}  // namespace lockstep::model
