#include "kernels/activation_formats.h"

namespace lockstep::kernels {

ActivationFormat activation_format_for(GGMLType weight_type) {
    switch (weight_type) {
        case GGMLType::Q4_0:
        case GGMLType::Q5_0:
        case GGMLType::Q8_0:
        case GGMLType::MXFP4: return ActivationFormat::Q8_0;
        case GGMLType::Q4_1:
        case GGMLType::Q5_1: return ActivationFormat::Q8_1;
        case GGMLType::Q2_K:
        case GGMLType::Q3_K:
        case GGMLType::Q4_K:
        case GGMLType::Q5_K:
        case GGMLType::Q6_K:
        case GGMLType::TQ1_0:
        case GGMLType::TQ2_0: return ActivationFormat::Q8_K;
        case GGMLType::I2_S: return ActivationFormat::I8;
        default: return ActivationFormat::F32;
    }
}

size_t activation_row_bytes(ActivationFormat format, int64_t n) {
    const auto count = static_cast<size_t>(n);
    switch (format) {
        case ActivationFormat::F32: return count * sizeof(float);
        case ActivationFormat::Q8_0: return count / QK8_0 * sizeof(BlockQ8_0);
        case ActivationFormat::Q8_1: return count / QK8_0 * sizeof(BlockQ8_1);
        case ActivationFormat::Q8_K: return count / QK_K * sizeof(BlockQ8_K);
        case ActivationFormat::I8: return sizeof(I8RowHeader) + count;
    }
    return 0;
}

}  // namespace lockstep::kernels
