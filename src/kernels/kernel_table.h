// The innermost kernels, one table per instruction set. The scalar table is the reference:
// it is written for clarity and is what every SIMD table is tested against. Higher-level
// operations (matmul, attention) are written once on top of a table.
//
// Instruction sets are compiled separately (src/kernels/arch/*.cpp, each with its own -m
// flags) and chosen at run time: the best one the CPU supports, unless the caller asks for
// another (tests run every supported one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace lockstep::kernels {

enum class Isa { Scalar, SSE4_2, AVX2, AVX512 };

std::string_view isa_name(Isa isa);  // "scalar", "sse4.2", "avx2", "avx512"
// Instruction sets compiled into this build, from the reference up.
std::vector<Isa> compiled_isas();
// The compiled instruction set spelled `name` as isa_name does; std::invalid_argument
// (naming the choices) for anything else.
Isa compiled_isa(std::string_view name);
// Whether this CPU (and OS) can run code built for `isa`.
bool cpu_supports(Isa isa);
// The best compiled instruction set this CPU supports.
Isa best_isa();
// The instruction set kernels use unless a caller names one: the LOCKSTEP_ISA environment
// variable ("scalar", "sse4.2", "avx2", "avx512") when it is set — so that one machine can run
// the whole suite under every table it supports —, else best_isa(). Read at every call.
// Throws std::invalid_argument when LOCKSTEP_ISA names a table not compiled or not supported.
Isa default_isa();
inline constexpr const char* kIsaVariable = "LOCKSTEP_ISA";

enum class RopeLayout {
    Interleaved,  // rotate pairs (x[2i], x[2i+1]): GGUF llama, whose Q/K rows were permuted
    Neox,         // rotate pairs (x[i], x[i + n_rot/2]): HF llama, qwen2, bitnet
};

// Float64 statistics of a pair of logit rows a (reference) and b (test), for src/compare.
// First pass: NaN-skipping maxima (-inf when there is none) and the sums behind cosine,
// NMSE and max |a - b|.
struct LogitPairMoments {
    float max_a, max_b;
    double dot, sq_a, sq_b, sq_d, max_abs_diff;
};
// Second pass, given the maxima: S_a = sum e^(a - max_a), S_b = sum e^(b - max_b) and
// sum e^(a - max_a) (a - b), from which KL(p_a || p_b) follows (src/compare/metrics.cpp).
struct LogitPairPartition {
    double sum_a, sum_b, weighted_diff;
};

// Dot product of one weight row (in its storage type) with one activation row (in the
// matching activation format, see activation_formats.h); n elements.
using QuantDotFn = float (*)(const void* weight_row, const void* activation_row, int64_t n);

// The same dots for a block of weight rows x activation rows (prefill):
// y[t * y_stride + r] = dot(w + r * w_stride, a + t * a_stride, n) for r < rows, t < tokens,
// bit for bit equal to the table's QuantDotFn of that type (quant_gemm.h says how).
using QuantGemmFn = void (*)(const void* w, size_t w_stride, const void* a, size_t a_stride, int64_t n, int64_t rows,
                             int64_t tokens, float* y, int64_t y_stride);

struct KernelTable {
    Isa isa;

    // Float weights with float activations.
    float (*dot_f32)(const float* a, const float* b, int64_t n);
    float (*dot_f16)(const uint16_t* weight, const float* x, int64_t n);
    float (*dot_bf16)(const uint16_t* weight, const float* x, int64_t n);

    // Quantized weights with quantized activations.
    QuantDotFn dot_q4_0, dot_q4_1, dot_q5_0, dot_q5_1, dot_q8_0;
    QuantDotFn dot_q2_k, dot_q3_k, dot_q4_k, dot_q5_k, dot_q6_k;
    QuantDotFn dot_tq1_0, dot_tq2_0;
    // I2_S: returns (sum(code * q) - sum(q)) / scale; the tensor's weight scale is applied
    // by the caller.
    QuantDotFn dot_i2_s;
    // MXFP4 (with Q8_0 activations): the doubled E2M1 codes times half the E8M0 scale.
    QuantDotFn dot_mxfp4;
    // Tiled forms of the dots above, for several tokens at once.
    QuantGemmFn gemm_q4_0, gemm_q4_1, gemm_q5_0, gemm_q5_1, gemm_q8_0;
    QuantGemmFn gemm_q2_k, gemm_q3_k, gemm_q4_k, gemm_q5_k, gemm_q6_k;
    QuantGemmFn gemm_mxfp4;
    // And for 16-bit float weights with float32 activations (a_stride in bytes of floats).
    QuantGemmFn gemm_f16, gemm_bf16;

    // Activation quantization of one row of n elements.
    void (*quantize_q8_0)(const float* x, void* out, int64_t n);
    void (*quantize_q8_1)(const float* x, void* out, int64_t n);
    void (*quantize_q8_k)(const float* x, void* out, int64_t n);
    void (*quantize_i8)(const float* x, void* out, int64_t n);  // I8RowHeader + n int8

    // out = x / sqrt(mean(x^2) + eps) * weight
    void (*rms_norm)(const float* x, const float* weight, float eps, float* out, int64_t n);
    // In place: x = exp(x - max) / sum
    void (*softmax)(float* x, int64_t n);
    // y += a * x
    void (*axpy)(float a, const float* x, float* y, int64_t n);
    // Attention of one query over `count` cached positions (keys and values of one head, rows
    // key_stride / value_stride floats apart; n = head_dim):
    // scores[j] = dot_f32(query, key_j, n) * scale, and out = sum_j weights[j] * value_j.
    void (*attention_scores)(const float* query, const float* keys, int64_t key_stride, int64_t count, int64_t n,
                             float scale, float* scores);
    void (*attention_values)(const float* weights, const float* values, int64_t value_stride, int64_t count, int64_t n,
                             float* out);
    // out = silu(gate) * up and out = relu(gate)^2 * up (the gated feed-forwards)
    void (*silu_mul)(const float* gate, const float* up, float* out, int64_t n);
    void (*relu2_mul)(const float* gate, const float* up, float* out, int64_t n);
    // out = gelu(gate) * up, GELU in its tanh approximation (gemma's GeGLU):
    // gelu(x) = x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))
    void (*gelu_tanh_mul)(const float* gate, const float* up, float* out, int64_t n);
    // Rotates the first n_rot elements of one head in place, pair i by angle theta_i whose
    // cos/sin are given (n_rot / 2 of each).
    void (*rope)(float* head, const float* cos, const float* sin, int64_t n_rot, RopeLayout layout);

    // Logit comparison (all arithmetic in float64).
    LogitPairMoments (*logit_pair_moments)(const float* a, const float* b, int64_t n);
    LogitPairPartition (*logit_pair_partition)(const float* a, const float* b, int64_t n, float max_a, float max_b);
};

// The table for an instruction set; throws std::invalid_argument if it is not compiled in
// or not supported by this CPU.
const KernelTable& kernel_table(Isa isa);
// The table for default_isa().
const KernelTable& active_kernels();

}  // namespace lockstep::kernels
