// When does a position count as diverged? Named defaults, every one overridable, in two bands
// (precision classes, below). The values and the measurements behind them: docs/thresholds.md
// (benchmarks/measure_thresholds.py). In short: clean pairs measured at most KL 1.5e-5,
// NMSE 1.4e-5, 1 - cosine 6.5e-6 in float32 (SmolLM2-135M dequantized; tiny models 10x less)
// and KL 3.0e-2, NMSE 7.2e-2, 1 - cosine 2.6e-2, top-1 flips at margins up to 0.08 across
// precisions (SmolLM2 Q4_1); each default sits 3x or more above those, and below the faults.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace lockstep::dispatch {

struct Thresholds {
    double min_cosine = 0.9999;  // BitNet-rs's per-position gate (1 - cos <= 1e-4)
    double max_nmse = 1e-4;      // under llama.cpp's 5e-4 for one quantized matmul (test-backend-ops)
    double max_kl = 1e-4;        // nats, KL(reference || test)
    // A top-1 flip counts only when the reference was confident: the probability the reference
    // gives its own top-1 exceeds what it gives the test's top-1 by more than this.
    double top1_margin = 0.02;
};

// The names users and the JSON give the thresholds: the one table every parser and writer reads.
struct ThresholdField {
    const char* name;
    double Thresholds::*member;
};
inline constexpr std::array<ThresholdField, 4> kThresholdFields{{
    {"min_cosine", &Thresholds::min_cosine},
    {"max_nmse", &Thresholds::max_nmse},
    {"max_kl", &Thresholds::max_kl},
    {"top1_margin", &Thresholds::top1_margin},
}};

// How two backends compute on their loaded models, as far as rounding is concerned.
enum class PrecisionClass {
    same_arithmetic,  // both multiply float32 activations with the same float32 weight values, or both
                      // are the same engine (the same kernels round the same way)
    cross_precision,  // otherwise: one side rounds activations (llama.cpp: Q8 activations for quantized
                      // weights, F16 for F16) or dequantizes weights the other keeps quantized
};

// The capability a backend declares when every matrix product it runs on the loaded model
// multiplies float32 activations with weights whose values are exactly float32 (F32, or F16 and
// BF16 widened): float32 rounding is then the only difference between two such backends.
inline constexpr const char* kFloat32Arithmetic = "float32-arithmetic";
// Declared (besides kFloat32Arithmetic) by a backend that dequantized a reduced-precision model
// file to float32 (transformers on a quantized GGUF): informational, for the report.
inline constexpr const char* kDequantizedFloat32 = "dequantized-float32";

// same_arithmetic when both backends are the same engine (same name) or both declare
// kFloat32Arithmetic; cross_precision otherwise.
PrecisionClass precision_class(const std::string& name_a, const std::vector<std::string>& capabilities_a,
                               const std::string& name_b, const std::vector<std::string>& capabilities_b);
const char* precision_class_name(PrecisionClass c);  // "same-arithmetic" | "cross-precision"

struct ThresholdPolicy {
    Thresholds same_arithmetic;
    // KL 0.1 is about the 99th-percentile KL of a good 4-bit quantization against F16 in
    // llama.cpp's perplexity statistics: rounding activations alone must stay below what
    // re-quantizing every weight does to the worst 1% of tokens.
    Thresholds cross_precision{0.9, 0.25, 0.1, 0.25};

    const Thresholds& for_class(PrecisionClass c) const {
        return c == PrecisionClass::cross_precision ? cross_precision : same_arithmetic;
    }
};

// The bands by their names (precision_class_name), for parsers and writers.
struct ThresholdBand {
    const char* name;
    Thresholds ThresholdPolicy::*member;
};
inline constexpr std::array<ThresholdBand, 2> kThresholdBands{{
    {"same-arithmetic", &ThresholdPolicy::same_arithmetic},
    {"cross-precision", &ThresholdPolicy::cross_precision},
}};

// Sets one threshold by the name users give it: "NAME" (both bands) or "BAND.NAME" (one band).
// Throws std::invalid_argument naming the accepted names for anything else.
void set_threshold(ThresholdPolicy& policy, const std::string& key, double value);

}  // namespace lockstep::dispatch
