// Matrix multiplication of weights kept in their stored type (never dequantized whole)
// with a batch of token activations: y[t, r] = scale * sum_c W[r, c] * x[t, c].
// Activations are quantized once per call into the format the weight type pairs with
// (activation_formats.h); rows are split into chunks that the thread pool hands out.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/kernel_table.h"
#include "quant/types.h"
#include "kernels/thread_pool.h"

namespace lockstep::kernels {

struct WeightMatrix {
    GGMLType type = GGMLType::F32;
    int64_t rows = 0;  // output features
    int64_t cols = 0;  // input features: the contiguous dimension (ggml ne[0])
    const uint8_t* data = nullptr;
    uint64_t row_bytes = 0;
    // Multiplies every output: I2_S's per-tensor scale, BitNet GGUFs' "<name>.scale".
    float scale = 1.0f;
};

// One weight row (stored type) times one activation row (in the format the type pairs with,
// activation_formats.h): the table's dot of that type, the arithmetic every tiled product of
// matmul reproduces bit for bit.
float row_dot(const KernelTable& k, GGMLType type, const uint8_t* w, const uint8_t* a, int64_t n);
// The same from a float32 activation row, quantized first as matmul quantizes it (for tests).
float row_dot_floats(const KernelTable& k, GGMLType type, const uint8_t* w, const float* x, int64_t n);

// Whether matmul can multiply this weight type.
bool matmul_supports(GGMLType type);

struct MatmulOutput {
    const WeightMatrix* weight;
    float* out;  // [n_tokens, weight->rows]
};

// How activations meet quantized weights. Int8: rounded to the 8-bit format the weight type
// pairs with (llama.cpp's arithmetic; the engine's default). None: kept float32 against each
// weight row dequantized, as transformers computes on a dequantized file — slower, and the
// crossval's noise-floor control for pairs that differ by exactly that rounding
// (python/lockstep/dispatch/noise_floor.py). Float weights are float32 arithmetic either way.
enum class ActivationRounding { Int8, None };

// Every weight reads the same input x [n_tokens, cols]; computing several in one call
// (Q/K/V, gate/up) shares the activation quantization and one parallel loop.
// `scratch` holds the quantized activations and grows as needed.
void matmul(const KernelTable& kernels, ThreadPool& pool, const float* x, int64_t n_tokens,
            std::span<const MatmulOutput> outputs, std::vector<uint8_t>& scratch,
            ActivationRounding rounding = ActivationRounding::Int8);

}  // namespace lockstep::kernels
