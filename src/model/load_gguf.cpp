// GGUF: hyper-parameters from the "<architecture>.*" metadata keys llama.cpp writes, tensors
// as they are named in the file. llama.cpp's converter permutes the Q/K rows of llama
// models so that its NORM rope (interleaved pairs) applies; the others are left as
// trained and use NEOX rope (llama_model_rope_type in llama.cpp).
#include <cmath>
#include <stdexcept>

#include "formats/errors.h"
#include "formats/gguf.h"
#include "model/tensor_set.h"

namespace lockstep::model {
namespace {

// gemma3 as llama.cpp's loader reads it (src/models/gemma3.cpp of llama-cpp-python 0.3.36): with
// a sliding window, every sliding_window_pattern-th layer (default 6) attends globally and the
// others through the window, with RoPE base rope.freq_base_swa (default 10000) unscaled; queries
// scaled by 1/sqrt(head_dim), or 1/sqrt(n_embd / n_head) for the 62-layer 27B; the final soft-cap
// when the file has one. The converter has already added 1 to the norm weights.
void gemma3_from_gguf(const gguf::File& file, ModelConfig& c) {
    const std::string prefix = c.architecture_name + ".";
    if (c.sliding_window > 0) {
        // 0: every layer slides (llama_hparams::set_swa_pattern)
        const uint64_t pattern = file.get_uint(prefix + "attention.sliding_window_pattern").value_or(6);
        c.sliding_layers.resize(static_cast<size_t>(c.n_layer));
        for (int64_t l = 0; l < c.n_layer; ++l)
            c.sliding_layers[static_cast<size_t>(l)] = pattern == 0 || static_cast<uint64_t>(l) % pattern < pattern - 1;
        RopeConfig local = c.rope;
        local.base = file.get_float(prefix + "rope.freq_base_swa").value_or(10000.0);
        local.freq_scale = 1.0;
        local.freq_factors.clear();
        c.rope_sliding = local;
    }
    c.embedding_scale = std::sqrt(static_cast<float>(c.n_embd));
    c.query_scale = 1.0 / std::sqrt(static_cast<double>(c.n_layer == 62 ? c.n_embd / c.n_head : c.head_dim));
    c.final_logit_softcap = file.get_float(prefix + "final_logit_softcapping").value_or(0.0);
}

ModelConfig config_from_gguf(const gguf::File& file) {
    const auto arch_name = file.get_string("general.architecture");
    if (!arch_name) throw FormatError(file.path(), FormatError::kNoOffset, "general.architecture is missing");
    ModelConfig c;
    c.architecture_name = std::string(*arch_name);
    try {
        c.architecture = architecture_from_name(c.architecture_name);
    } catch (const std::invalid_argument& e) {
        throw FormatError(file.path(), FormatError::kNoOffset, e.what());
    }
    const std::string prefix = c.architecture_name + ".";
    auto required = [&](const std::string& key) -> int64_t {
        const auto v = file.get_uint(prefix + key);
        if (!v) throw FormatError(file.path(), FormatError::kNoOffset, prefix + key + " is missing");
        if (*v > static_cast<uint64_t>(INT64_MAX)) throw FormatError(file.path(), FormatError::kNoOffset, prefix + key + " is too large");
        return static_cast<int64_t>(*v);
    };
    auto optional_int = [&](const std::string& key, int64_t fallback) -> int64_t {
        const auto v = file.get_uint(prefix + key);
        return v && *v <= static_cast<uint64_t>(INT64_MAX) ? static_cast<int64_t>(*v) : fallback;
    };
    c.n_embd = required("embedding_length");
    c.n_layer = required("block_count");
    c.n_head = required("attention.head_count");
    c.n_head_kv = optional_int("attention.head_count_kv", c.n_head);
    c.n_ff = required("feed_forward_length");
    c.n_ctx_train = required("context_length");
    if (c.n_head <= 0 || c.n_embd % c.n_head != 0)
        throw FormatError(file.path(), FormatError::kNoOffset, "embedding length is not a multiple of the head count");
    c.head_dim = optional_int("attention.key_length", c.n_embd / c.n_head);
    c.rope.n_rot = optional_int("rope.dimension_count", c.head_dim);
    c.rope.base = file.get_float(prefix + "rope.freq_base").value_or(10000.0);
    c.rms_eps = static_cast<float>(file.get_float(prefix + "attention.layer_norm_rms_epsilon").value_or(1e-5));
    c.sliding_window = optional_int("attention.sliding_window", 0);

    const std::string scaling = std::string(file.get_string(prefix + "rope.scaling.type").value_or("none"));
    if (scaling == "linear") {
        const double factor = file.get_float(prefix + "rope.scaling.factor").value_or(1.0);
        if (!(factor > 0)) throw FormatError(file.path(), FormatError::kNoOffset, "rope scaling factor must be positive");
        c.rope.freq_scale = 1.0 / factor;
    } else if (scaling != "none") {
        throw FormatError(file.path(), FormatError::kNoOffset, "rope scaling '" + scaling + "' is not supported");
    }
    // Llama 3 scaling arrives as per-pair factors in the tensor rope_freqs.weight; phi3's
    // LongRoPE as rope_factors_short/long.weight with an attention factor and the original context.
    auto pair_factors = [&](const char* name, std::vector<double>& out) {
        const auto* freqs = file.tensor(name);
        if (!freqs) return false;
        if (freqs->type.type != GGMLType::F32 || freqs->n_elements != static_cast<uint64_t>(c.rope.n_rot / 2))
            throw FormatError(file.path(), freqs->offset, std::string(name) + " must be F32 with one value per rotated pair");
        const auto* values = reinterpret_cast<const float*>(freqs->data);
        for (uint64_t i = 0; i < freqs->n_elements; ++i) out.push_back(values[i]);
        return true;
    };
    pair_factors("rope_freqs.weight", c.rope.freq_factors);
    const bool short_factors = pair_factors("rope_factors_short.weight", c.rope.freq_factors);
    if (pair_factors("rope_factors_long.weight", c.rope.long_freq_factors) != short_factors)
        throw FormatError(file.path(), FormatError::kNoOffset, "LongRoPE needs both rope_factors_short and rope_factors_long");
    if (short_factors) {
        c.rope.original_context = optional_int("rope.scaling.original_context_length", 0);
        if (c.rope.original_context <= 0)
            throw FormatError(file.path(), FormatError::kNoOffset, prefix + "rope.scaling.original_context_length is missing");
        c.rope.attn_factor = file.get_float(prefix + "rope.scaling.attn_factor").value_or(1.0);
    }

    switch (c.architecture) {
        case Architecture::Llama:
        case Architecture::Mistral: c.rope.layout = kernels::RopeLayout::Interleaved; break;
        case Architecture::Qwen2:
        case Architecture::Qwen3:
        case Architecture::Phi3:
        case Architecture::Gemma3:
        case Architecture::BitNet: c.rope.layout = kernels::RopeLayout::Neox; break;
    }
    if (c.architecture == Architecture::Gemma3) gemma3_from_gguf(file, c);
    // The architecture's activation (kArchitectureNames), unless the file names its own.
    c.ffn_activation = gguf_activation(c.architecture_name);
    if (const auto activation = file.get_string(kFfnActivationKey)) {
        try {
            c.ffn_activation = ffn_activation_from_name(std::string(*activation));
        } catch (const std::invalid_argument& e) {
            throw FormatError(file.path(), FormatError::kNoOffset, std::string(kFfnActivationKey) + ": " + e.what());
        }
    }

    const auto* embd = file.tensor("token_embd.weight");
    if (!embd || embd->ne.size() < 2) throw FormatError(file.path(), FormatError::kNoOffset, "token_embd.weight is missing");
    c.n_vocab = optional_int("vocab_size", static_cast<int64_t>(embd->ne[1]));
    try {
        validate(c);
    } catch (const std::invalid_argument& e) {
        throw FormatError(file.path(), FormatError::kNoOffset, e.what());
    }
    return c;
}

}  // namespace

LoadedModel load_gguf(const std::string& path) {
    const gguf::File file = gguf::File::open(path);
    LoadedModel loaded;
    loaded.path = path;
    loaded.format = "gguf";
    loaded.config = config_from_gguf(file);
    for (const auto& t : file.tensors()) {
        TensorRef ref;
        ref.type = t.type.type;
        for (uint64_t d : t.ne) ref.ne.push_back(static_cast<int64_t>(d));  // the reader bounds dimensions
        ref.data = t.data;
        ref.nbytes = t.nbytes;
        ref.file_offset = t.offset;
        ref.file = path;
        loaded.tensors.tensors.emplace(t.name, std::move(ref));
    }
    loaded.tensors.owners.push_back(file.file());
    return loaded;
}

}  // namespace lockstep::model
