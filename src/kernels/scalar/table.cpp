#include "kernels/arch/arch_tables.h"
#include "kernels/scalar/scalar_kernels.h"

namespace lockstep::kernels {
namespace {

// The reference GEMM: the dot of every (row, token), one at a time.
template <QuantDotFn dot>
void gemm_by_dots(const void* w, size_t w_stride, const void* a, size_t a_stride, int64_t n, int64_t rows,
                  int64_t tokens, float* y, int64_t y_stride) {
    const auto* wp = static_cast<const uint8_t*>(w);
    const auto* ap = static_cast<const uint8_t*>(a);
    for (int64_t t = 0; t < tokens; ++t)
        for (int64_t r = 0; r < rows; ++r)
            y[t * y_stride + r] = dot(wp + w_stride * static_cast<size_t>(r), ap + a_stride * static_cast<size_t>(t), n);
}

// A float dot (typed pointers) in QuantDotFn's form, for gemm_by_dots.
template <class Weight, float (*dot)(const Weight*, const float*, int64_t)>
float as_quant_dot(const void* w, const void* a, int64_t n) {
    return dot(static_cast<const Weight*>(w), static_cast<const float*>(a), n);
}

}  // namespace

const KernelTable& scalar_table() {
    static const KernelTable table = [] {
        using namespace scalar;
        KernelTable t{};
        t.isa = Isa::Scalar;
        t.dot_f32 = dot_f32;
        t.dot_f16 = dot_f16;
        t.dot_bf16 = dot_bf16;
        t.dot_q4_0 = dot_q4_0;
        t.dot_q4_1 = dot_q4_1;
        t.dot_q5_0 = dot_q5_0;
        t.dot_q5_1 = dot_q5_1;
        t.dot_q8_0 = dot_q8_0;
        t.dot_q2_k = dot_q2_k;
        t.dot_q3_k = dot_q3_k;
        t.dot_q4_k = dot_q4_k;
        t.dot_q5_k = dot_q5_k;
        t.dot_q6_k = dot_q6_k;
        t.dot_tq1_0 = dot_tq1_0;
        t.dot_tq2_0 = dot_tq2_0;
        t.dot_i2_s = dot_i2_s;
        t.dot_mxfp4 = dot_mxfp4;
        t.gemm_q4_0 = gemm_by_dots<dot_q4_0>;
        t.gemm_q4_1 = gemm_by_dots<dot_q4_1>;
        t.gemm_q5_0 = gemm_by_dots<dot_q5_0>;
        t.gemm_q5_1 = gemm_by_dots<dot_q5_1>;
        t.gemm_q8_0 = gemm_by_dots<dot_q8_0>;
        t.gemm_q2_k = gemm_by_dots<dot_q2_k>;
        t.gemm_q3_k = gemm_by_dots<dot_q3_k>;
        t.gemm_q4_k = gemm_by_dots<dot_q4_k>;
        t.gemm_q5_k = gemm_by_dots<dot_q5_k>;
        t.gemm_q6_k = gemm_by_dots<dot_q6_k>;
        t.gemm_mxfp4 = gemm_by_dots<dot_mxfp4>;
        t.gemm_f16 = gemm_by_dots<as_quant_dot<uint16_t, dot_f16>>;
        t.gemm_bf16 = gemm_by_dots<as_quant_dot<uint16_t, dot_bf16>>;
        t.quantize_q8_0 = quantize_q8_0;
        t.quantize_q8_1 = quantize_q8_1;
        t.quantize_q8_k = quantize_q8_k;
        t.quantize_i8 = quantize_i8;
        t.rms_norm = rms_norm;
        t.softmax = softmax;
        t.axpy = axpy;
        t.attention_scores = attention_scores;
        t.attention_values = attention_values;
        t.silu_mul = silu_mul;
        t.relu2_mul = relu2_mul;
        t.gelu_tanh_mul = gelu_tanh_mul;
        t.rope = rope;
        t.logit_pair_moments = logit_pair_moments;
        t.logit_pair_partition = logit_pair_partition;
        return t;
    }();
    return table;
}

}  // namespace lockstep::kernels
