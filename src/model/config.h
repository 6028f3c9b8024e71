// A model's hyper-parameters, whatever file they came from (GGUF metadata or a Hugging
// Face config.json), in the units the forward pass uses.
#pragma once

#include <cstdint>
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
};

enum class FfnActivation { SiLU, ReLU2 };

// Rotary embedding: angle_i(pos) = pos * freq_scale * base^(-2i / n_rot) / freq_factor_i.
struct RopeConfig {
    int64_t n_rot = 0;  // leading elements of each head that rotate
    double base = 10000.0;
    double freq_scale = 1.0;                // linear scaling: 1 / factor
    std::vector<double> freq_factors;       // per pair (llama3 scaling); empty = all 1
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

    int64_t q_width() const { return n_head * head_dim; }
    int64_t kv_width() const { return n_head_kv * head_dim; }
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
};
// A GGUF key ("silu" or "relu2") that overrides the architecture's activation. llama.cpp has no
// key for it, and its converter writes BitNet-2B-4T (squared ReLU) under "bitnet" all the same;
// `lockstep convert --gguf-arch bitnet` writes this key beside llama.cpp's names so that the
// file still says what the model computes. llama.cpp ignores it.
inline constexpr std::string_view kFfnActivationKey = "lockstep.ffn_activation";

FfnActivation ffn_activation_from_name(const std::string& name);  // "silu" | "relu2"; std::invalid_argument
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
