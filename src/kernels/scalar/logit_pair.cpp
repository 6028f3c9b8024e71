// The scalar reference of the logit-pair statistics: one element at a time, float64 throughout.
#include <cmath>
#include <limits>

#include "kernels/scalar/scalar_kernels.h"

namespace lockstep::kernels::scalar {

LogitPairMoments logit_pair_moments(const float* a, const float* b, int64_t n) {
    LogitPairMoments m{-std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), 0, 0, 0, 0, 0};
    for (int64_t i = 0; i < n; ++i) {
        const double x = a[i], y = b[i], d = x - y;
        if (a[i] > m.max_a) m.max_a = a[i];  // comparisons with NaN are false: NaN is skipped
        if (b[i] > m.max_b) m.max_b = b[i];
        m.dot += x * y;
        m.sq_a += x * x;
        m.sq_b += y * y;
        m.sq_d += d * d;
        if (std::abs(d) > m.max_abs_diff) m.max_abs_diff = std::abs(d);
    }
    return m;
}

LogitPairPartition logit_pair_partition(const float* a, const float* b, int64_t n, float max_a, float max_b) {
    LogitPairPartition p{0, 0, 0};
    for (int64_t i = 0; i < n; ++i) {
        const double x = a[i], y = b[i];
        const double ea = std::exp(x - max_a);
        p.sum_a += ea;
        p.sum_b += std::exp(y - max_b);
        p.weighted_diff += ea * (x - y);
    }
    return p;
}

}  // namespace lockstep::kernels::scalar
