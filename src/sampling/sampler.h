// The sampler chain shared by every backend: the next token from one row of logits.
//
//   logits [n_vocab] ──► penalties ──► top-k ──► top-p ──► min-p ──► temperature ──► draw
//   (read in place)     (last n of     (k best)  (nucleus   (p ≥ min_p   (logit / T)   (seeded
//                        the history)            ≥ top_p)    · p_max)                  inverse CDF)
//
// The order is llama.cpp's (llama-cpp-python's Llama sampler: penalties, top-k, typical,
// top-p, min-p, temp, dist), so the same settings mean the same distribution on the same
// logits. Temperature 0 is greedy: the argmax after the penalties. The logits are never
// copied: penalties are applied to the candidate list, built once per call.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace lockstep::sampling {

struct Settings {
    double temperature = 0.0;        // 0: greedy
    int32_t top_k = 0;               // 0: off
    double top_p = 1.0;              // 1: off
    double min_p = 0.0;              // 0: off
    double repeat_penalty = 1.0;     // 1: off; a seen token's logit l becomes l / r (l > 0) or l * r
    double presence_penalty = 0.0;   // subtracted once from a seen token's logit
    double frequency_penalty = 0.0;  // subtracted once per occurrence
    int32_t penalty_last_n = 64;     // the penalties look at this many of the latest history tokens
    uint64_t seed = 0;
};

// Throws std::invalid_argument naming the first setting out of range.
void validate(const Settings& settings);

struct Candidate {
    int32_t id;
    float logit;  // after penalties and temperature
};

class Sampler {
public:
    explicit Sampler(const Settings& settings);

    // The tokens the chain keeps, best first (ties by lower id), with their final logits;
    // one candidate when greedy. `history`: the tokens of the context so far (for penalties).
    std::vector<Candidate> candidates(std::span<const float> logits, std::span<const int32_t> history) const;

    // Draws one token of candidates() with the sampler's own random stream (advanced by one
    // draw unless greedy). The same seed and calls give the same tokens.
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

    const Settings& settings() const { return settings_; }

private:
    Settings settings_;
    std::mt19937_64 rng_;
};

// softmax over the candidates' logits, in float64, in the candidates' order.
std::vector<double> probabilities(std::span<const Candidate> candidates);

}  // namespace lockstep::sampling
