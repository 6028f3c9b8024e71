// The weight side of the layer-weights-perturbed fault (faults.h): one layer's matrices
// replaced by float32 copies whose every element is off by up to 1%.
#pragma once

#include <cstdint>

#include "model/weights.h"

namespace lockstep::model {

// Decodes each weight matrix of `layer` to float32, multiplies every element by
// 1 + u, u uniform in [-0.01, 0.01] (a fixed seed, so runs repeat), and points the layer at
// the copies, which `weights.owners` keeps alive.
void perturb_layer_weights(ModelWeights& weights, int64_t layer);

}  // namespace lockstep::model
