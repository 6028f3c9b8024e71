// The logit-pair statistics on xsimd batches of float64: each group of floats is widened to
// doubles on load, so the sums and exponentials are those of the scalar reference
// (src/kernels/scalar/logit_pair.cpp) up to summation order. Two accumulator sets per loop
// keep the adds and the exp pipelines busy.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "kernels/kernel_table.h"
#include "kernels/scalar/scalar_kernels.h"

namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE {

template <class Arch>
LogitPairMoments logit_pair_moments(const float* a, const float* b, int64_t n) {
    using D = xsimd::batch<double, Arch>;
    constexpr int64_t W = D::size;
    const D minus_inf(-std::numeric_limits<double>::infinity());
    D max_a = minus_inf, max_b = minus_inf, max_d(0.0);
    D dot(0.0), sq_a(0.0), sq_b(0.0), sq_d(0.0);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const D x = D::load_unaligned(a + i), y = D::load_unaligned(b + i), d = x - y, abs_d = xsimd::abs(d);
        max_a = xsimd::select(x > max_a, x, max_a);  // select on a comparison skips NaN, as the reference
        max_b = xsimd::select(y > max_b, y, max_b);
        max_d = xsimd::select(abs_d > max_d, abs_d, max_d);
        dot = xsimd::fma(x, y, dot);
        sq_a = xsimd::fma(x, x, sq_a);
        sq_b = xsimd::fma(y, y, sq_b);
        sq_d = xsimd::fma(d, d, sq_d);
    }
    // The tail (fewer than W elements) through the reference, then both parts combined.
    const LogitPairMoments tail = scalar::logit_pair_moments(a + i, b + i, n - i);
    return {std::fmax(static_cast<float>(xsimd::reduce_max(max_a)), tail.max_a),
            std::fmax(static_cast<float>(xsimd::reduce_max(max_b)), tail.max_b),
            xsimd::reduce_add(dot) + tail.dot, xsimd::reduce_add(sq_a) + tail.sq_a, xsimd::reduce_add(sq_b) + tail.sq_b,
            xsimd::reduce_add(sq_d) + tail.sq_d, std::fmax(xsimd::reduce_max(max_d), tail.max_abs_diff)};
}

template <class Arch>
LogitPairPartition logit_pair_partition(const float* a, const float* b, int64_t n, float max_a, float max_b) {
    using D = xsimd::batch<double, Arch>;
    constexpr int64_t W = D::size;
    const D shift_a(static_cast<double>(max_a)), shift_b(static_cast<double>(max_b));
    D sum_a0(0.0), sum_b0(0.0), wd0(0.0), sum_a1(0.0), sum_b1(0.0), wd1(0.0);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const D x0 = D::load_unaligned(a + i), y0 = D::load_unaligned(b + i);
        const D x1 = D::load_unaligned(a + i + W), y1 = D::load_unaligned(b + i + W);
        const D e0 = xsimd::exp(x0 - shift_a), e1 = xsimd::exp(x1 - shift_a);
        sum_a0 += e0;
        sum_a1 += e1;
        sum_b0 += xsimd::exp(y0 - shift_b);
        sum_b1 += xsimd::exp(y1 - shift_b);
        wd0 = xsimd::fma(e0, x0 - y0, wd0);
        wd1 = xsimd::fma(e1, x1 - y1, wd1);
    }
    const LogitPairPartition tail = scalar::logit_pair_partition(a + i, b + i, n - i, max_a, max_b);
    return {xsimd::reduce_add(sum_a0 + sum_a1) + tail.sum_a, xsimd::reduce_add(sum_b0 + sum_b1) + tail.sum_b,
            xsimd::reduce_add(wd0 + wd1) + tail.weighted_diff};
}

}  // namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE
