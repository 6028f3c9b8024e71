// Keys and values of every position seen so far, per layer, in float32:
// [position][kv_head][head_dim]. Storage grows with the positions actually used, so a long
// context costs memory only when it is filled.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace lockstep::model {

class KVCache {
public:
    KVCache(int64_t n_layer, int64_t kv_width)
        : kv_width_(kv_width), k_(static_cast<size_t>(n_layer)), v_(static_cast<size_t>(n_layer)) {}

    // Makes room for positions [0, n_positions).
    void reserve(int64_t n_positions) {
        const auto floats = static_cast<size_t>(n_positions * kv_width_);
        for (auto& k : k_)
            if (k.size() < floats) k.resize(std::max(floats, k.size() * 2));
        for (auto& v : v_)
            if (v.size() < floats) v.resize(std::max(floats, v.size() * 2));
    }

    float* key(int64_t layer, int64_t pos) { return k_[static_cast<size_t>(layer)].data() + pos * kv_width_; }
    float* value(int64_t layer, int64_t pos) { return v_[static_cast<size_t>(layer)].data() + pos * kv_width_; }

private:
    int64_t kv_width_;
    std::vector<std::vector<float>> k_, v_;
};

}  // namespace lockstep::model
