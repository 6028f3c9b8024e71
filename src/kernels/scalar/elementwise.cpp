// Normalization, softmax, the gated activations and rotary embedding.
#include <algorithm>
#include <cmath>

#include "kernels/scalar/scalar_kernels.h"

namespace lockstep::kernels::scalar {

void rms_norm(const float* x, const float* weight, float eps, float* out, int64_t n) {
    double sum_squares = 0.0;
    for (int64_t i = 0; i < n; ++i) sum_squares += static_cast<double>(x[i]) * x[i];
    const auto inverse_rms = static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(n) + eps));
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inverse_rms * weight[i];
}

void softmax(float* x, int64_t n) {
    const float max = *std::max_element(x, x + n);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += x[i];
    }
    const auto inverse = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inverse;
}

void axpy(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void attention_scores(const float* query, const float* keys, int64_t key_stride, int64_t count, int64_t n, float scale,
                      float* scores) {
    for (int64_t j = 0; j < count; ++j) scores[j] = dot_f32(query, keys + j * key_stride, n) * scale;
}

// The weighted sum as axpy steps in key order: float accumulation, as the reference engine
// has always summed attention (its measured bounds against llama.cpp assume it).
void attention_values(const float* weights, const float* values, int64_t value_stride, int64_t count, int64_t n,
                      float* out) {
    std::fill(out, out + n, 0.0f);
    for (int64_t j = 0; j < count; ++j) axpy(weights[j], values + j * value_stride, out, n);
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void relu2_mul(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float r = std::max(gate[i], 0.0f);
        out[i] = r * r * up[i];
    }
}

void gelu_tanh_mul(const float* gate, const float* up, float* out, int64_t n) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    for (int64_t i = 0; i < n; ++i) {
        const float x = gate[i];
        out[i] = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x))) * up[i];
    }
}

void rope(float* head, const float* cos, const float* sin, int64_t n_rot, RopeLayout layout) {
    const int64_t half = n_rot / 2;
    for (int64_t i = 0; i < half; ++i) {
        float* x0 = layout == RopeLayout::Interleaved ? head + 2 * i : head + i;
        float* x1 = layout == RopeLayout::Interleaved ? head + 2 * i + 1 : head + i + half;
        const float a = *x0, b = *x1;
        *x0 = a * cos[i] - b * sin[i];
        *x1 = b * cos[i] + a * sin[i];
    }
}

}  // namespace lockstep::kernels::scalar
