// When does a position count as diverged? Named defaults, every one overridable, in two bands.
//
// MEASUREMENTS_PLACEHOLDER
#pragma once

#include <string>
#include <vector>

namespace lockstep::dispatch {

struct Thresholds {
    double min_cosine = 0.999;
    double max_nmse = 5e-3;
    double max_kl = 2e-2;
    // A top-1 flip counts only when the reference was confident: the probability the reference
    // gives its own top-1 exceeds what it gives the test's top-1 by more than this.
    double top1_margin = 0.1;
};

// How two backends compute on the loaded model, as far as rounding is concerned.
enum class PrecisionClass {
    same_arithmetic,  // the same weights at the same precision (e.g. both ggml-style quantized dot products)
    cross_precision,  // one side computes in float32 on weights it dequantized from a quantized file
};

// The capability a backend declares when it has dequantized a quantized model file and runs
// it in float32 (e.g. transformers on a Q4_1 GGUF). Engines that keep weights quantized
// quantize activations too (llama.cpp: Q8 activations), so such a pair differs by more than
// rounding without either being wrong.
inline constexpr const char* kDequantizedFloat32 = "dequantized-float32";

// cross_precision exactly when one side declares kDequantizedFloat32 and the other does not.
PrecisionClass precision_class(const std::vector<std::string>& capabilities_a,
                               const std::vector<std::string>& capabilities_b);
const char* precision_class_name(PrecisionClass c);  // "same-arithmetic" | "cross-precision"

struct ThresholdPolicy {
    Thresholds same_arithmetic;
    Thresholds cross_precision{0.99, 5e-2, 5e-2, 0.25};

    const Thresholds& for_class(PrecisionClass c) const {
        return c == PrecisionClass::cross_precision ? cross_precision : same_arithmetic;
    }
};

}  // namespace lockstep::dispatch
