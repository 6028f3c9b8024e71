// The rotation angles of each position, computed in double precision from the rope
// configuration and rounded once to float: angle_i = pos * freq_scale * inv_freq_i, with
// inv_freq_i = base^(-2i / n_rot) / freq_factor_i; cos and sin are scaled by attn_factor.
// LongRoPE's long factors replace the short ones in a context longer than the original one:
// chosen once for the context size, as llama.cpp does (transformers switches by the length of
// the sequence in hand, so the two differ only for sequences between the two lengths).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "model/config.h"

namespace lockstep::model {

class RopeAngles {
public:
    RopeAngles(const RopeConfig& rope, int64_t n_ctx) : freq_scale_(rope.freq_scale), attn_factor_(rope.attn_factor) {
        const int64_t half = rope.n_rot / 2;
        const bool long_context = !rope.long_freq_factors.empty() && n_ctx > rope.original_context;
        const std::vector<double>& factors = long_context ? rope.long_freq_factors : rope.freq_factors;
        for (int64_t i = 0; i < half; ++i) {
            const double factor = factors.empty() ? 1.0 : factors[static_cast<size_t>(i)];
            inv_freq_.push_back(std::pow(rope.base, -2.0 * static_cast<double>(i) / static_cast<double>(rope.n_rot)) /
                                factor);
        }
    }

    int64_t pairs() const { return static_cast<int64_t>(inv_freq_.size()); }

    void compute(int64_t pos, float* cos, float* sin) const {
        for (size_t i = 0; i < inv_freq_.size(); ++i) {
            const double angle = static_cast<double>(pos) * freq_scale_ * inv_freq_[i];
            cos[i] = static_cast<float>(attn_factor_ * std::cos(angle));
            sin[i] = static_cast<float>(attn_factor_ * std::sin(angle));
        }
    }

private:
    double freq_scale_, attn_factor_;
    std::vector<double> inv_freq_;
};

}  // namespace lockstep::model
