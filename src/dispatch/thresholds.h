// When does a position count as diverged? Named defaults, every one overridable.
//
// Where the numbers come from (see README "Thresholds" for the measurements behind them):
// - min_cosine 0.999: BitNet-rs's per-token cosine gate for Rust vs C++ logits.
// - max_nmse 5e-3 and max_kl 2e-2 nats: an order of magnitude above what two correct
//   engines show on the same quantized file (llama.cpp's Q8 activations vs float32
//   transformers on the dequantized weights), an order below what a one-line bug causes.
// - top-1 flips count only when the reference was confident: the probability the reference
//   gives its own top-1 exceeds what it gives the test's top-1 by more than top1_margin.
#pragma once

namespace lockstep::dispatch {

struct Thresholds {
    double min_cosine = 0.999;
    double max_nmse = 5e-3;
    double max_kl = 2e-2;
    double top1_margin = 0.1;
};

}  // namespace lockstep::dispatch
