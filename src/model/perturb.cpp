#include "model/perturb.h"

#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "model/embedding.h"

namespace lockstep::model {
namespace {

void perturb(kernels::WeightMatrix& w, std::mt19937& rng, std::vector<std::shared_ptr<const void>>& owners) {
    auto dense = std::make_shared<std::vector<float>>(static_cast<size_t>(w.rows * w.cols));
    // Row decoding is what the embedding lookup does for any stored type (scale included).
    std::vector<int32_t> rows(static_cast<size_t>(w.rows));
    std::iota(rows.begin(), rows.end(), 0);
    embed_tokens(w, rows, dense->data());
    std::uniform_real_distribution<float> noise(-0.01f, 0.01f);
    for (float& x : *dense) x *= 1.0f + noise(rng);
    w.type = GGMLType::F32;
    w.data = reinterpret_cast<const uint8_t*>(dense->data());
    w.row_bytes = static_cast<uint64_t>(w.cols) * sizeof(float);
    w.scale = 1.0f;
    owners.push_back(std::move(dense));
}

}  // namespace

void perturb_layer_weights(ModelWeights& weights, int64_t layer) {
    std::mt19937 rng(20241123);
    LayerWeights& l = weights.layers.at(static_cast<size_t>(layer));
    for (kernels::WeightMatrix* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
        perturb(*w, rng, weights.owners);
}

}  // namespace lockstep::model
