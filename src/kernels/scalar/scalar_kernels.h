// The scalar reference kernels: plain loops that follow the formats' definitions, the
// yardstick for every SIMD table. Same signatures as the KernelTable entries.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace lockstep::kernels::scalar {

float dot_f32(const float* a, const float* b, int64_t n);
float dot_f16(const uint16_t* weight, const float* x, int64_t n);
float dot_bf16(const uint16_t* weight, const float* x, int64_t n);

float dot_q4_0(const void* w, const void* a, int64_t n);
float dot_q4_1(const void* w, const void* a, int64_t n);
float dot_q5_0(const void* w, const void* a, int64_t n);
float dot_q5_1(const void* w, const void* a, int64_t n);
float dot_q8_0(const void* w, const void* a, int64_t n);
float dot_mxfp4(const void* w, const void* a, int64_t n);

float dot_q2_k(const void* w, const void* a, int64_t n);
float dot_q3_k(const void* w, const void* a, int64_t n);
float dot_q4_k(const void* w, const void* a, int64_t n);
float dot_q5_k(const void* w, const void* a, int64_t n);
float dot_q6_k(const void* w, const void* a, int64_t n);

float dot_tq1_0(const void* w, const void* a, int64_t n);
float dot_tq2_0(const void* w, const void* a, int64_t n);
float dot_i2_s(const void* w, const void* a, int64_t n);

void quantize_q8_0(const float* x, void* out, int64_t n);
void quantize_q8_1(const float* x, void* out, int64_t n);
void quantize_q8_k(const float* x, void* out, int64_t n);
void quantize_i8(const float* x, void* out, int64_t n);

void rms_norm(const float* x, const float* weight, float eps, float* out, int64_t n);
void softmax(float* x, int64_t n);
void axpy(float a, const float* x, float* y, int64_t n);
void attention_scores(const float* query, const float* keys, int64_t key_stride, int64_t count, int64_t n, float scale,
                      float* scores);
void attention_values(const float* weights, const float* values, int64_t value_stride, int64_t count, int64_t n,
                      float* out);
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
void relu2_mul(const float* gate, const float* up, float* out, int64_t n);
void gelu_tanh_mul(const float* gate, const float* up, float* out, int64_t n);
void rope(float* head, const float* cos, const float* sin, int64_t n_rot, RopeLayout layout);

LogitPairMoments logit_pair_moments(const float* a, const float* b, int64_t n);
LogitPairPartition logit_pair_partition(const float* a, const float* b, int64_t n, float max_a, float max_b);

}  // namespace lockstep::kernels::scalar
