// The numpy behaviours that gguf.quants' quantizers depend on, reproduced so that our
// quantizers write the same bytes. Each one matters only at an edge (NaN, infinity, values
// outside a cast's range, signed zeros); on ordinary data they are the obvious operations.
#pragma once

#include <cmath>
#include <cstdint>

namespace lockstep::numpy_semantics {

// astype(np.int8) / astype(np.uint8) of a float32 on x86-64: truncation toward zero through
// a 32-bit integer, keeping the low byte (300.0 -> 44, -3.0 -> 253); NaN, infinities and
// magnitudes >= 2^31 give 0. (Measured against numpy; C++ leaves these casts undefined.)
inline uint8_t cast_to_byte(float x) {
    if (!(std::fabs(x) < 2147483648.0f)) return 0;
    return static_cast<uint8_t>(static_cast<int32_t>(x));
}

// gguf.quants' np_roundf (round half away from zero, in float32): |x| rounded down, plus
// one when the dropped fraction is at least a half. Meant to be followed by cast_to_byte,
// which maps NaN and infinities alike to 0, so infinities may come out as themselves here
// (np_roundf makes them NaN) and neither the sign of a zero nor a NaN payload matters.
inline float round_half_away(float x) {
    const float a = std::fabs(x);
    // floor(a) without a libm call: below 2^23 truncation is exact, above it a has no fraction.
    const float whole = a < 8388608.0f ? static_cast<float>(static_cast<int32_t>(a)) : a;
    const float b = whole + (a - whole >= 0.5f ? 1.0f : 0.0f);
    return x < 0 ? -b : b;
}

// a + b as numpy's float32 add computes it on x86-64, NaN payload included: when both are NaN
// the result is a's (SSE/AVX return the first source operand's NaN). IEEE 754 leaves the
// choice open, so C++ lets the compiler commute a + b, and GCC does: the sanitized build
// computed b + a in the Q4_1 decoder, returning m's NaN where gguf.quants returns d * q's
// (d = inf, q = 0). Spelling the rule out keeps the bits independent of code generation.
inline float add(float a, float b) {
    return std::isnan(a) ? a : a + b;
}

// abs(x).argmax(): the first index of the largest magnitude; a NaN wins at once.
inline int argmax_abs(const float* x, int n) {
    int best = 0;
    float best_abs = std::fabs(x[0]);
    if (std::isnan(best_abs)) return 0;
    for (int i = 1; i < n; ++i) {
        const float a = std::fabs(x[i]);
        if (std::isnan(a)) return i;
        if (a > best_abs) {
            best_abs = a;
            best = i;
        }
    }
    return best;
}

// x.argmin(): the first index of the smallest value; a NaN wins at once.
inline int argmin(const float* x, int n) {
    int best = 0;
    if (std::isnan(x[0])) return 0;
    for (int i = 1; i < n; ++i) {
        if (std::isnan(x[i])) return i;
        if (x[i] < x[best]) best = i;
    }
    return best;
}

// abs(x).max(): NaN propagates (the first NaN met).
inline float max_abs(const float* x, int n) {
    float best = std::fabs(x[0]);
    for (int i = 1; i < n && !std::isnan(best); ++i) {
        const float a = std::fabs(x[i]);
        if (std::isnan(a) || a > best) best = a;
    }
    return best;
}

// x.min() / x.max() of a 32-float block, in the order numpy's AVX2 (X86_V3) build evaluates
// it. The order only shows when the extreme is a zero present with both signs: it decides
// whether +0 or -0 comes out (and so the stored f16 bits). numpy copies x[0] into the
// result, splats it over 8 lanes, folds x[1..8], x[9..16], x[17..24] in lane-wise, reduces
// the lanes (4+4, then 2+2, then 1+1) and folds x[25..31] in one at a time; every step
// keeps its first operand when that is NaN or strictly beyond the second.
template <bool kMax>
inline float reduce_block32(const float* x) {
    auto pick = [](float a, float b) { return (std::isnan(a) || (kMax ? a > b : a < b)) ? a : b; };
    float lanes[8];
    for (float& lane : lanes) lane = x[0];
    for (int start = 1; start + 8 <= 25; start += 8)
        for (int l = 0; l < 8; ++l) lanes[l] = pick(lanes[l], x[start + l]);
    float quad[4];
    for (int l = 0; l < 4; ++l) quad[l] = pick(lanes[l], lanes[l + 4]);
    const float pair0 = pick(quad[0], quad[2]);
    const float pair1 = pick(quad[1], quad[3]);
    float result = pick(pair0, pair1);
    for (int i = 25; i < 32; ++i) result = pick(result, x[i]);
    return result;
}

// id = np.where(d == 0, 0, 1 / d): the reciprocal scale, 0 for a zero scale.
inline float reciprocal_or_zero(float d) { return d == 0.0f ? 0.0f : 1.0f / d; }

}  // namespace lockstep::numpy_semantics
