// Per-position comparison of two logit rows: the reference (a) and the backend under test (b).
// Everything is accumulated in float64 so that metrics of nearly-identical rows are not
// dominated by rounding in the comparison itself.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kernels/kernel_table.h"

namespace lockstep::compare {

struct Options {
    int top_k = 10;      // size of the top-k sets for overlap and Kendall tau-b
    int n_threads = 0;   // 0: all cores
    std::optional<kernels::Isa> isa;  // the kernels' instruction set; none: the best this CPU has
};

struct PositionMetrics {
    double cosine = 0;          // cosine similarity of the two logit vectors
    double max_abs_diff = 0;    // max_i |a_i - b_i|
    double nmse = 0;            // sum (a-b)^2 / sum a^2 (a is the reference)
    double kl = 0;              // KL(softmax(a) || softmax(b)), nats
    int32_t top1_a = -1;        // argmax of each row
    int32_t top1_b = -1;
    // p_a(top1_a) - p_a(top1_b): how much the reference preferred its own top-1 over the
    // test's; a flip at a near-tie (small margin) is not a divergence by itself.
    double top1_margin = 0;
    double topk_overlap = 0;    // |topk(a) ∩ topk(b)| / k
    double kendall_tau = 0;     // tau-b of a vs b over topk(a) ∪ topk(b)
    // Of the actual next token (when known; NaN otherwise):
    double p_next_a = 0, p_next_b = 0;  // its probability under each
    double nll_a = 0, nll_b = 0;        // -log p
};

// Compares row by row. a and b are [n_rows, n_vocab] row-major float32; next_tokens is empty
// or has one id per row (-1 where unknown). Runs over n_threads threads.
std::vector<PositionMetrics> compare_logits(const float* a, const float* b, int64_t n_rows, int64_t n_vocab,
                                            std::span<const int32_t> next_tokens, const Options& options);

// One row; the building block of compare_logits, exposed for tests.
PositionMetrics compare_row(const kernels::KernelTable& kernels, const float* a, const float* b, int64_t n_vocab,
                            int32_t next_token, int top_k);

}  // namespace lockstep::compare
