#include "model/embedding.h"

#include <cstring>
#include <stdexcept>

#include "kernels/fp16.h"
#include "quant/quant.h"

namespace lockstep::model {

bool can_embed(GGMLType type) {
    return type == GGMLType::F32 || type == GGMLType::F16 || type == GGMLType::BF16 || can_dequantize(type);
}

void embed_tokens(const kernels::WeightMatrix& table, std::span<const int32_t> ids, float* out) {
    const int64_t n = table.cols;
    for (size_t t = 0; t < ids.size(); ++t) {
        const uint8_t* row = table.data + static_cast<uint64_t>(ids[t]) * table.row_bytes;
        float* dst = out + static_cast<int64_t>(t) * n;
        switch (table.type) {
            case GGMLType::F32: std::memcpy(dst, row, static_cast<size_t>(n) * sizeof(float)); break;
            case GGMLType::F16:
                for (int64_t i = 0; i < n; ++i) {
                    uint16_t h;
                    std::memcpy(&h, row + 2 * i, 2);
                    dst[i] = kernels::fp16_to_fp32(h);
                }
                break;
            case GGMLType::BF16:
                for (int64_t i = 0; i < n; ++i) {
                    uint16_t h;
                    std::memcpy(&h, row + 2 * i, 2);
                    dst[i] = kernels::bf16_to_fp32(h);
                }
                break;
            case GGMLType::I2_S: dequantize_row_i2s(row, table.scale, dst, n); break;
            default: dequantize_row(table.type, row, dst, n); break;
        }
        if (table.type != GGMLType::I2_S && table.scale != 1.0f)
            for (int64_t i = 0; i < n; ++i) dst[i] *= table.scale;
    }
}

}  // namespace lockstep::model
