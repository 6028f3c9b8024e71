// A model's hyper-parameters, whatever file they came from (GGUF metadata or a Hugging
// Face config.json), in the units the forward pass uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/kernel_table.h"

namespace lockstep::model {

enum class Architecture {
    Llama,    // also SmolLM2, TinyLlama, Llama 2/3
    Mistral,  // llama plus an optional sliding attention window
    Qwen2,    // llama with Q/K/V biases and NEOX rope
    BitNet,   // BitNet b1.58: sub-norms before the output projections, ternary weights
    Qwen3,    // qwen2 without Q/K/V biases, with an RMSNorm over each query and key head
    Phi3,     // llama with fused QKV and gate/up matrices, partial rotary, optional LongRoPE
    Gemma3,   // scaled embeddings, norms after attention and feed-forward, Q/K norms, GeGLU,
              // sliding-window layers (their own RoPE base) between global ones
};

enum class FfnActivation { SiLU, ReLU2, GeluTanh };

// Rotary embedding: angle_i(pos) = pos * freq_scale * base^(-2i / n_rot) / freq_factor_i.
struct RopeConfig {
    int64_t n_rot = 0;  // leading elements of each head that rotate
    double base = 10000.0;
    double freq_scale = 1.0;                // linear scaling: 1 / factor
    std::vector<double> freq_factors;       // per pair (llama3 scaling, LongRoPE's short factors); empty = all 1
    // LongRoPE (phi3): the factors for contexts longer than original_context, and the factor
    // that multiplies every cos and sin. Empty and 1 without LongRoPE.
    std::vector<double> long_freq_factors;
    int64_t original_context = 0;
    double attn_factor = 1.0;
    kernels::RopeLayout layout = kernels::RopeLayout::Neox;
};

struct ModelConfig {
    Architecture architecture = Architecture::Llama;
    std::string architecture_name;  // as the file spells it ("llama", "qwen2", "bitnet-b1.58", ...)
    int64_t n_vocab = 0;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t n_ff = 0;
    int64_t n_ctx_train = 0;
    float rms_eps = 1e-5f;
    RopeConfig rope;
    FfnActivation ffn_activation = FfnActivation::SiLU;
    int64_t sliding_window = 0;  // 0: every earlier position is visible
    // Per layer, whether it attends through the sliding window (gemma3's local layers); empty:
    // every layer does when sliding_window > 0.
    std::vector<uint8_t> sliding_layers;
    std::optional<RopeConfig> rope_sliding;  // the sliding layers' RoPE when it differs (gemma3)
    float embedding_scale = 1.0f;            // token embeddings multiplied by it (gemma: sqrt(n_embd))
    double query_scale = 0.0;                // attention scores' scale; 0: 1 / sqrt(head_dim)
    double final_logit_softcap = 0.0;        // logits = cap * tanh(logits / cap); 0: none
    // Added to every norm weight on load: gemma's RMSNorm multiplies by (1 + weight) in Hugging
    // Face checkpoints, while llama.cpp's converter writes the sum.
    float norm_weight_shift = 0.0f;

    int64_t q_width() const { return n_head * head_dim; }
    int64_t kv_width() const { return n_head_kv * head_dim; }
    bool is_sliding(int64_t layer) const {
        return sliding_window > 0 && (sliding_layers.empty() || sliding_layers[static_cast<size_t>(layer)] != 0);
    }
    const RopeConfig& rope_of(int64_t layer) const { return rope_sliding && is_sliding(layer) ? *rope_sliding : rope; }
};

// Throws std::invalid_argument naming the first inconsistent or unsupported value.
void validate(const ModelConfig& config);

// Architecture names accepted from files (GGUF general.architecture, HF model_type).
// Every name the engine accepts for an architecture: GGUF general.architecture values and
// Hugging Face config.json model_type values. The one table routing reads (lockstep.routing).
// gguf_activation: the feed-forward activation of a GGUF file of that architecture that does
// not name one under kFfnActivationKey (a Hugging Face folder says it in hidden_act).
struct ArchitectureName {
    std::string_view name;
    Architecture architecture;
    FfnActivation gguf_activation;
};
inline constexpr ArchitectureName kArchitectureNames[] = {
    {"llama", Architecture::Llama, FfnActivation::SiLU},
    {"mistral", Architecture::Mistral, FfnActivation::SiLU},
    {"qwen2", Architecture::Qwen2, FfnActivation::SiLU},
    // llama.cpp writes "bitnet" (its graph gates with SiLU, 1bitLLM style); bitnet.cpp writes
    // "bitnet-b1.58" (and "bitnet-25" for an earlier 2B) for squared ReLU, BitNet-2B-4T style;
    // transformers' model_type is "bitnet".
    {"bitnet", Architecture::BitNet, FfnActivation::SiLU},
    {"bitnet-b1.58", Architecture::BitNet, FfnActivation::ReLU2},
    {"bitnet-25", Architecture::BitNet, FfnActivation::ReLU2},
    {"qwen3", Architecture::Qwen3, FfnActivation::SiLU},
    {"phi3", Architecture::Phi3, FfnActivation::SiLU},
    {"gemma3", Architecture::Gemma3, FfnActivation::GeluTanh},       // GGUF
    {"gemma3_text", Architecture::Gemma3, FfnActivation::GeluTanh},  // Gemma3ForCausalLM's model_type
};
// A GGUF key ("silu" or "relu2") that overrides the architecture's activation. llama.cpp has no
// key for it, and its converter writes BitNet-2B-4T (squared ReLU) under "bitnet" all the same;
// `lockstep convert --gguf-arch bitnet` writes this key beside llama.cpp's names so that the
// file still says what the model computes. llama.cpp ignores it.
inline constexpr std::string_view kFfnActivationKey = "lockstep.ffn_activation";

FfnActivation ffn_activation_from_name(const std::string& name);  // "silu" | "relu2" | "gelu_pytorch_tanh"; std::invalid_argument
std::string_view ffn_activation_name(FfnActivation a);
FfnActivation gguf_activation(const std::string& architecture_name);  // std::invalid_argument if unknown
// The safetensors dtypes the engine reads in place (weights keep their type).
inline constexpr std::string_view kSafetensorsDtypes[] = {"F32", "F16", "BF16"};

Architecture architecture_from_name(const std::string& name);  // std::invalid_argument if unknown
std::string architecture_label(Architecture a);                 // "llama", "mistral", "qwen2", "bitnet", ...

// Per-pair frequency factors of Llama 3 rope scaling (transformers' "llama3" rope type):
// low frequencies are divided by `factor`, high ones kept, the band between interpolated.
std::vector<double> llama3_freq_factors(int64_t n_rot, double base, double factor, double low_freq_factor,
                                        double high_freq_factor, double original_context);

}  // namespace lockstep::model
