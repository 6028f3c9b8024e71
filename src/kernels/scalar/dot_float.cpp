// Float weights times float activations. Accumulated in double: the reference should be
// the most accurate answer, not the fastest.
#include "kernels/fp16.h"
#include "kernels/scalar/scalar_kernels.h"

namespace lockstep::kernels::scalar {

float dot_f32(const float* a, const float* b, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
    return static_cast<float>(sum);
}

float dot_f16(const uint16_t* weight, const float* x, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(fp16_to_fp32(weight[i])) * x[i];
    return static_cast<float>(sum);
}

float dot_bf16(const uint16_t* weight, const float* x, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_fp32(weight[i])) * x[i];
    return static_cast<float>(sum);
}

}  // namespace lockstep::kernels::scalar
