#include "kernels/arch/arch_tables.h"
#include "kernels/scalar/scalar_kernels.h"

namespace lockstep::kernels {

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
        t.quantize_q8_0 = quantize_q8_0;
        t.quantize_q8_1 = quantize_q8_1;
        t.quantize_q8_k = quantize_q8_k;
        t.quantize_i8 = quantize_i8;
        t.rms_norm = rms_norm;
        t.softmax = softmax;
        t.axpy = axpy;
        t.silu_mul = silu_mul;
        t.relu2_mul = relu2_mul;
        t.rope = rope;
        t.logit_pair_moments = logit_pair_moments;
        t.logit_pair_partition = logit_pair_partition;
        return t;
    }();
    return table;
}

}  // namespace lockstep::kernels
