// Deliberate, named mistakes the native engine can make on request. They exist to test the
// comparison itself: a crossval that does not flag each of them, at the position and layer
// where it starts, is not to be trusted (issue 5, "validating the validator").
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace lockstep::model {

enum class Fault {
    None,
    RopeLayoutSwapped,    // rotate pairs in the other layout (NEOX <-> interleaved)
    BosDropped,           // the tokenizer leaves out the BOS token the vocabulary asks for
    RmsEpsX100,           // every RMSNorm with 100 times the model's epsilon
    KvPositionOffByOne,   // keys rotated as if one position later than their queries
    SiluForRelu2,         // SiLU in the feed-forward of a squared-ReLU model (BitNet b1.58)
    LayerWeightsPerturbed,  // the weight matrices of layer n_layer / 2 off by up to 1%
    AttentionScaleWrong,  // scores scaled by 1 / head_dim instead of 1 / sqrt(head_dim)
    StaleKvAfterReset,    // reset() forgets to empty the KV cache: old tokens stay in context
};

struct FaultInfo {
    Fault fault;
    std::string_view name;
    std::string_view description;
};

inline constexpr std::array<FaultInfo, 8> kFaults = {{
    {Fault::RopeLayoutSwapped, "rope-layout-swapped",
     "RoPE pairs rotated in the other layout (NEOX <-> interleaved); starts at position 1, layer 0"},
    {Fault::BosDropped, "bos-dropped",
     "the tokenizer leaves out the BOS token the vocabulary asks for; the token-parity gate stops at index 0"},
    {Fault::RmsEpsX100, "rms-eps-x100", "every RMSNorm uses 100 x the model's epsilon; starts at position 0, layer 0"},
    {Fault::KvPositionOffByOne, "kv-position-off-by-one",
     "keys rotated for one position later than their queries; starts at position 1, layer 0"},
    {Fault::SiluForRelu2, "silu-for-relu2",
     "SiLU instead of squared ReLU in the feed-forward (bitnet b1.58 models only); position 0, layer 0"},
    {Fault::LayerWeightsPerturbed, "layer-weights-perturbed",
     "the weight matrices of layer n_layer/2 multiplied by 1 + uniform(-1%, 1%); position 0, that layer"},
    {Fault::AttentionScaleWrong, "attention-scale-wrong",
     "attention scores scaled by 1/head_dim instead of 1/sqrt(head_dim); starts at position 1, layer 0"},
    {Fault::StaleKvAfterReset, "stale-kv-after-reset",
     "reset() keeps the KV cache: from the second evaluation on, old tokens stay in context"},
}};

// "" is Fault::None. Throws std::invalid_argument naming the known faults for anything else.
Fault fault_from_name(std::string_view name);
std::string_view fault_name(Fault fault);  // "" for Fault::None

}  // namespace lockstep::model
