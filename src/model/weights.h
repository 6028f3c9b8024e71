// The weights the forward pass reads, bound from a TensorSet after checking every shape
// and type against the config. Matrices stay in their stored type inside the memory map;
// only the small vectors (norm weights, biases) are converted to float32.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "model/config.h"
#include "model/tensor_set.h"

namespace lockstep::model {

struct LayerWeights {
    std::vector<float> attn_norm;             // [n_embd]
    kernels::WeightMatrix wq, wk, wv, wo;     // [q_width, n_embd], [kv_width, n_embd] x2, [n_embd, q_width]
    std::vector<float> bq, bk, bv, bo;        // biases, empty when absent (qwen2 has Q/K/V ones)
    std::vector<float> attn_q_norm, attn_k_norm;  // [head_dim], shared by every head; qwen3, gemma3
    std::vector<float> attn_post_norm, ffn_post_norm;  // [n_embd] each, gemma3 only
    std::vector<float> attn_sub_norm;         // [q_width], BitNet only
    std::vector<float> ffn_norm;              // [n_embd]
    kernels::WeightMatrix w_gate, w_up, w_down;  // [n_ff, n_embd] x2, [n_embd, n_ff]
    std::vector<float> ffn_sub_norm;          // [n_ff], BitNet only
};

struct ModelWeights {
    kernels::WeightMatrix token_embd;  // [n_vocab, n_embd]
    kernels::WeightMatrix output;      // [n_vocab, n_embd]; token_embd itself when tied
    bool tied_embeddings = false;
    std::vector<float> output_norm;    // [n_embd]
    std::vector<LayerWeights> layers;
    std::map<std::string, int64_t> type_counts;  // matrices per stored type, for info
    std::vector<std::shared_ptr<const void>> owners;  // keeps the memory maps alive
};

// Throws FormatError naming the tensor, its file offset and what does not fit.
ModelWeights bind_weights(const ModelConfig& config, const TensorSet& tensors, const std::string& path);

}  // namespace lockstep::model
