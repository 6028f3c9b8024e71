// Assembles a KernelTable from the SIMD templates for one instruction set: FloatArch for
// the float kernels, Int8 (int8_ops.h) for the quantized dot products. Included by exactly
// one translation unit per instruction set, each with its own LOCKSTEP_SIMD_NAMESPACE, so
// that no function compiled for one instruction set can be linked in place of another's.
#pragma once

#include "kernels/kernel_table.h"
#include "kernels/simd/float_gemm.h"
#include "kernels/simd/float_kernels.h"
#include "kernels/simd/logit_pair.h"
#include "kernels/simd/quant_dots.h"
#include "kernels/simd/quant_gemm.h"
#include "kernels/simd/quantize_activations.h"

namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE {

template <class FloatArch, class Int8>
KernelTable make_table(Isa isa) {
    KernelTable t{};
    t.isa = isa;
    t.dot_f32 = dot_f32<FloatArch>;
    t.dot_f16 = dot_f16<FloatArch>;
    t.dot_bf16 = dot_bf16<FloatArch>;
    t.dot_q4_0 = dot_q4_0<Int8>;
    t.dot_q4_1 = dot_q4_1<Int8>;
    t.dot_q5_0 = dot_q5_0<Int8>;
    t.dot_q5_1 = dot_q5_1<Int8>;
    t.dot_q8_0 = dot_q8_0<Int8>;
    t.dot_q2_k = dot_q2_k<Int8>;
    t.dot_q3_k = dot_q3_k<Int8>;
    t.dot_q4_k = dot_q4_k<Int8>;
    t.dot_q5_k = dot_q5_k<Int8>;
    t.dot_q6_k = dot_q6_k<Int8>;
    t.dot_tq1_0 = dot_tq1_0<Int8>;
    t.dot_tq2_0 = dot_tq2_0<Int8>;
    t.dot_i2_s = dot_i2_s<Int8>;
    t.dot_mxfp4 = dot_mxfp4<Int8>;
    t.gemm_q4_0 = gemm_q4_0<Int8>;
    t.gemm_q4_1 = gemm_q4_1<Int8>;
    t.gemm_q5_0 = gemm_q5_0<Int8>;
    t.gemm_q5_1 = gemm_q5_1<Int8>;
    t.gemm_q8_0 = gemm_q8_0<Int8>;
    t.gemm_q2_k = gemm_q2_k<Int8>;
    t.gemm_q3_k = gemm_q3_k<Int8>;
    t.gemm_q4_k = gemm_q4_k<Int8>;
    t.gemm_q5_k = gemm_q5_k<Int8>;
    t.gemm_q6_k = gemm_q6_k<Int8>;
    t.gemm_mxfp4 = gemm_mxfp4<Int8>;
    t.gemm_f16 = gemm_f16<FloatArch>;
    t.gemm_bf16 = gemm_bf16<FloatArch>;
    t.quantize_q8_0 = quantize_q8_0<FloatArch>;
    t.quantize_q8_1 = quantize_q8_1<FloatArch>;
    t.quantize_q8_k = quantize_q8_k<FloatArch>;
    t.quantize_i8 = quantize_i8<FloatArch>;
    t.rms_norm = rms_norm<FloatArch>;
    t.softmax = softmax<FloatArch>;
    t.axpy = axpy<FloatArch>;
    t.attention_scores = attention_scores<FloatArch>;
    t.attention_values = attention_values<FloatArch>;
    t.silu_mul = silu_mul<FloatArch>;
    t.relu2_mul = relu2_mul<FloatArch>;
    t.gelu_tanh_mul = gelu_tanh_mul<FloatArch>;
    t.rope = rope<FloatArch>;
    t.logit_pair_moments = logit_pair_moments<FloatArch>;
    t.logit_pair_partition = logit_pair_partition<FloatArch>;
    return t;
}

}  // namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE
