// Named points inside each layer whose values can be captured during a forward pass, so
// that two engines can be compared layer by layer. The names follow llama.cpp's graph.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lockstep::model {

enum class CapturePoint {
    AttnNorm,  // input of attention after its RMSNorm
    AttnOut,   // attention output after the output projection, before the residual add
    FfnInp,    // residual stream after attention: the feed-forward block's input
    FfnNorm,   // input of the feed-forward after its RMSNorm
    FfnOut,    // feed-forward output after the down projection, before the residual add
    LOut,      // layer output: residual stream after the feed-forward
};
constexpr std::array<std::string_view, 6> kCapturePointNames = {"attn_norm", "attn_out", "ffn_inp",
                                                               "ffn_norm",  "ffn_out",  "l_out"};

inline std::optional<CapturePoint> capture_point(std::string_view name) {
    for (size_t i = 0; i < kCapturePointNames.size(); ++i)
        if (kCapturePointNames[i] == name) return static_cast<CapturePoint>(i);
    return std::nullopt;
}

// Captured values of one point: [n_layer, n_tokens, n_embd], float32.
struct Capture {
    CapturePoint point;
    std::shared_ptr<std::vector<float>> values;
};

}  // namespace lockstep::model
