// The rotation angles of each position, computed in double precision from the rope
// configuration and rounded once to float: angle_i = pos * freq_scale * inv_freq_i, with
// inv_freq_i = base^(-2i / n_rot) / freq_factor_i.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "model/config.h"

namespace lockstep::model {

class RopeAngles {
public:
    explicit RopeAngles(const RopeConfig& rope) : freq_scale_(rope.freq_scale) {
        const int64_t half = rope.n_rot / 2;
        for (int64_t i = 0; i < half; ++i) {
            const double factor = rope.freq_factors.empty() ? 1.0 : rope.freq_factors[static_cast<size_t>(i)];
            inv_freq_.push_back(std::pow(rope.base, -2.0 * static_cast<double>(i) / static_cast<double>(rope.n_rot)) /
                                factor);
        }
    }

    int64_t pairs() const { return static_cast<int64_t>(inv_freq_.size()); }

    void compute(int64_t pos, float* cos, float* sin) const {
        for (size_t i = 0; i < inv_freq_.size(); ++i) {
            const double angle = static_cast<double>(pos) * freq_scale_ * inv_freq_[i];
            cos[i] = static_cast<float>(std::cos(angle));
            sin[i] = static_cast<float>(std::sin(angle));
        }
    }

private:
    double freq_scale_;
    std::vector<double> inv_freq_;
};

}  // namespace lockstep::model
