#include "model/config.h"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace lockstep::model {

Architecture architecture_from_name(const std::string& name) {
    std::string known;
    for (const ArchitectureName& entry : kArchitectureNames) {
        if (entry.name == name) return entry.architecture;
        known += (known.empty() ? "" : ", ") + std::string(entry.name);
    }
    throw std::invalid_argument("unsupported architecture '" + name + "' (the native engine runs " + known + ")");
}

FfnActivation ffn_activation_from_name(const std::string& name) {
    if (name == "silu") return FfnActivation::SiLU;
    if (name == "relu2") return FfnActivation::ReLU2;
    if (name == "gelu_pytorch_tanh") return FfnActivation::GeluTanh;
    throw std::invalid_argument("feed-forward activation '" + name +
                                "' is not supported (silu, relu2 or gelu_pytorch_tanh)");
}

// transformers' hidden_act names.
std::string_view ffn_activation_name(FfnActivation a) {
    switch (a) {
        case FfnActivation::SiLU: return "silu";
        case FfnActivation::ReLU2: return "relu2";
        case FfnActivation::GeluTanh: return "gelu_pytorch_tanh";
    }
    return "unknown";
}

FfnActivation gguf_activation(const std::string& architecture_name) {
    for (const ArchitectureName& entry : kArchitectureNames)
        if (entry.name == architecture_name) return entry.gguf_activation;
    throw std::invalid_argument("unsupported architecture '" + architecture_name + "'");
}

std::string architecture_label(Architecture a) {
    switch (a) {
        case Architecture::Llama: return "llama";
        case Architecture::Mistral: return "mistral";
        case Architecture::Qwen2: return "qwen2";
        case Architecture::BitNet: return "bitnet";
        case Architecture::Qwen3: return "qwen3";
        case Architecture::Phi3: return "phi3";
        case Architecture::Gemma3: return "gemma3";
    }
    return "unknown";
}

void validate(const ModelConfig& c) {
    auto require = [](bool ok, const std::string& what) {
        if (!ok) throw std::invalid_argument(what);
    };
    // Generous upper bounds: they only keep a corrupt file from sizing huge buffers.
    constexpr int64_t kMaxDim = int64_t{1} << 20, kMaxVocab = int64_t{1} << 24;
    require(c.n_vocab > 0 && c.n_vocab <= kMaxVocab, "vocabulary size " + std::to_string(c.n_vocab) + " out of range");
    require(c.n_embd > 0 && c.n_embd <= kMaxDim, "embedding length " + std::to_string(c.n_embd) + " out of range");
    require(c.n_layer > 0 && c.n_layer <= 4096, "layer count " + std::to_string(c.n_layer) + " out of range");
    require(c.n_head > 0 && c.n_head <= c.n_embd, "head count " + std::to_string(c.n_head) + " out of range");
    require(c.n_head_kv > 0 && c.n_head % c.n_head_kv == 0,
            "key/value head count " + std::to_string(c.n_head_kv) + " must divide the head count " +
                std::to_string(c.n_head));
    require(c.head_dim > 0 && c.head_dim <= 4096 && c.head_dim % 2 == 0,
            "head dimension " + std::to_string(c.head_dim) + " must be even and positive");
    require(c.n_ff > 0 && c.n_ff <= kMaxDim * 4, "feed-forward length " + std::to_string(c.n_ff) + " out of range");
    require(c.n_ctx_train > 0, "context length " + std::to_string(c.n_ctx_train) + " must be positive");
    require(c.rope.n_rot > 0 && c.rope.n_rot <= c.head_dim && c.rope.n_rot % 2 == 0,
            "rope dimension " + std::to_string(c.rope.n_rot) + " must be even and at most the head dimension");
    require(std::isfinite(c.rope.base) && c.rope.base > 1.0, "rope base must be finite and above 1");
    require(std::isfinite(c.rope.freq_scale) && c.rope.freq_scale > 0.0, "rope frequency scale must be positive");
    require(c.rope.freq_factors.empty() || static_cast<int64_t>(c.rope.freq_factors.size()) == c.rope.n_rot / 2,
            "rope frequency factors: one per rotated pair");
    for (double f : c.rope.freq_factors) require(std::isfinite(f) && f > 0.0, "rope frequency factors must be positive");
    require(c.rope.long_freq_factors.empty() ||
                static_cast<int64_t>(c.rope.long_freq_factors.size()) == c.rope.n_rot / 2,
            "LongRoPE long factors: one per rotated pair");
    for (double f : c.rope.long_freq_factors)
        require(std::isfinite(f) && f > 0.0, "LongRoPE long factors must be positive");
    require(std::isfinite(c.rope.attn_factor) && c.rope.attn_factor > 0.0, "rope attention factor must be positive");
    require(std::isfinite(c.rms_eps) && c.rms_eps > 0.0f, "RMS norm epsilon must be positive");
    require(c.sliding_window >= 0, "sliding window must not be negative");
    require(c.sliding_layers.empty() || static_cast<int64_t>(c.sliding_layers.size()) == c.n_layer,
            "sliding-window layer pattern: one entry per layer");
    if (c.rope_sliding) {
        require(c.rope_sliding->n_rot == c.rope.n_rot, "sliding layers' rope dimension must be the global one's");
        require(std::isfinite(c.rope_sliding->base) && c.rope_sliding->base > 1.0,
                "sliding layers' rope base must be finite and above 1");
    }
    require(std::isfinite(c.embedding_scale) && c.embedding_scale > 0.0f, "embedding scale must be positive");
    require(std::isfinite(c.query_scale) && c.query_scale >= 0.0, "query scale must not be negative");
    require(std::isfinite(c.final_logit_softcap) && c.final_logit_softcap >= 0.0,
            "final logit soft-cap must not be negative");
}

std::vector<double> llama3_freq_factors(int64_t n_rot, double base, double factor, double low_freq_factor,
                                        double high_freq_factor, double original_context) {
    if (!(factor > 0) || !(low_freq_factor > 0) || !(high_freq_factor > low_freq_factor) || !(original_context > 0))
        throw std::invalid_argument("llama3 rope scaling: need factor > 0 and high_freq_factor > low_freq_factor > 0");
    const double low_freq_wavelen = original_context / low_freq_factor;
    const double high_freq_wavelen = original_context / high_freq_factor;
    std::vector<double> factors(static_cast<size_t>(n_rot / 2));
    for (int64_t i = 0; i < n_rot / 2; ++i) {
        const double inv_freq = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
        const double wavelen = 2.0 * std::numbers::pi / inv_freq;
        double scaled;
        if (wavelen < high_freq_wavelen) scaled = inv_freq;
        else if (wavelen > low_freq_wavelen) scaled = inv_freq / factor;
        else {
            const double smooth = (original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
            scaled = (1.0 - smooth) * inv_freq / factor + smooth * inv_freq;
        }
        factors[static_cast<size_t>(i)] = inv_freq / scaled;
    }
    return factors;
}

}  // namespace lockstep::model
