#include "kernels/matmul.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include "kernels/activation_formats.h"
#include "quant/quant.h"

namespace lockstep::kernels {

float row_dot(const KernelTable& k, GGMLType type, const uint8_t* w, const uint8_t* a, int64_t n) {
    switch (type) {
        case GGMLType::F32: return k.dot_f32(reinterpret_cast<const float*>(w), reinterpret_cast<const float*>(a), n);
        case GGMLType::F16: return k.dot_f16(reinterpret_cast<const uint16_t*>(w), reinterpret_cast<const float*>(a), n);
        case GGMLType::BF16: return k.dot_bf16(reinterpret_cast<const uint16_t*>(w), reinterpret_cast<const float*>(a), n);
        case GGMLType::Q4_0: return k.dot_q4_0(w, a, n);
        case GGMLType::Q4_1: return k.dot_q4_1(w, a, n);
        case GGMLType::Q5_0: return k.dot_q5_0(w, a, n);
        case GGMLType::Q5_1: return k.dot_q5_1(w, a, n);
        case GGMLType::Q8_0: return k.dot_q8_0(w, a, n);
        case GGMLType::Q2_K: return k.dot_q2_k(w, a, n);
        case GGMLType::Q3_K: return k.dot_q3_k(w, a, n);
        case GGMLType::Q4_K: return k.dot_q4_k(w, a, n);
        case GGMLType::Q5_K: return k.dot_q5_k(w, a, n);
        case GGMLType::Q6_K: return k.dot_q6_k(w, a, n);
        case GGMLType::TQ1_0: return k.dot_tq1_0(w, a, n);
        case GGMLType::TQ2_0: return k.dot_tq2_0(w, a, n);
        case GGMLType::I2_S: return k.dot_i2_s(w, a, n);
        case GGMLType::MXFP4: return k.dot_mxfp4(w, a, n);
        default: throw std::logic_error("matmul: unsupported weight type");
    }
}

namespace {

constexpr int kFormats = 5;  // ActivationFormat values

// The tiled form of row_dot for `type`, or null where there is none (F32 and ternary
// weights go one token at a time).
QuantGemmFn row_gemm(const KernelTable& k, GGMLType type) {
    switch (type) {
        case GGMLType::Q4_0: return k.gemm_q4_0;
        case GGMLType::Q4_1: return k.gemm_q4_1;
        case GGMLType::Q5_0: return k.gemm_q5_0;
        case GGMLType::Q5_1: return k.gemm_q5_1;
        case GGMLType::Q8_0: return k.gemm_q8_0;
        case GGMLType::Q2_K: return k.gemm_q2_k;
        case GGMLType::Q3_K: return k.gemm_q3_k;
        case GGMLType::Q4_K: return k.gemm_q4_k;
        case GGMLType::Q5_K: return k.gemm_q5_k;
        case GGMLType::Q6_K: return k.gemm_q6_k;
        case GGMLType::MXFP4: return k.gemm_mxfp4;
        case GGMLType::F16: return k.gemm_f16;
        case GGMLType::BF16: return k.gemm_bf16;
        default: return nullptr;
    }
}

void quantize_row(const KernelTable& k, ActivationFormat format, const float* x, uint8_t* out, int64_t n) {
    switch (format) {
        case ActivationFormat::F32: std::copy(x, x + n, reinterpret_cast<float*>(out)); return;
        case ActivationFormat::Q8_0: k.quantize_q8_0(x, out, n); return;
        case ActivationFormat::Q8_1: k.quantize_q8_1(x, out, n); return;
        case ActivationFormat::Q8_K: k.quantize_q8_k(x, out, n); return;
        case ActivationFormat::I8: k.quantize_i8(x, out, n); return;
    }
}

bool is_float_type(GGMLType type) {
    return type == GGMLType::F32 || type == GGMLType::F16 || type == GGMLType::BF16;
}

// One weight row as float32: the unrounded values a dequantizing engine multiplies with.
// I2_S's tensor scale is left to WeightMatrix::scale, as in the quantized path.
void dequantize_weight_row(const WeightMatrix& w, int64_t r, float* out) {
    const uint8_t* row = w.data + static_cast<size_t>(r) * w.row_bytes;
    if (w.type == GGMLType::I2_S) dequantize_row_i2s(row, 1.0f, out, w.cols);
    else dequantize_row(w.type, row, out, w.cols);
}

}  // namespace

float row_dot_floats(const KernelTable& k, GGMLType type, const uint8_t* w, const float* x, int64_t n) {
    std::vector<uint8_t> a(activation_row_bytes(activation_format_for(type), n));
    quantize_row(k, activation_format_for(type), x, a.data(), n);
    return row_dot(k, type, w, a.data(), n);
}

bool matmul_supports(GGMLType type) {
    switch (type) {
        case GGMLType::F32: case GGMLType::F16: case GGMLType::BF16:
        case GGMLType::Q4_0: case GGMLType::Q4_1: case GGMLType::Q5_0: case GGMLType::Q5_1: case GGMLType::Q8_0:
        case GGMLType::Q2_K: case GGMLType::Q3_K: case GGMLType::Q4_K: case GGMLType::Q5_K: case GGMLType::Q6_K:
        case GGMLType::TQ1_0: case GGMLType::TQ2_0: case GGMLType::I2_S:
        case GGMLType::MXFP4: return true;
        default: return false;
    }
}

void matmul(const KernelTable& kernels, ThreadPool& pool, const float* x, int64_t n_tokens,
            std::span<const MatmulOutput> outputs, std::vector<uint8_t>& scratch, ActivationRounding rounding) {
    if (outputs.empty() || n_tokens <= 0) return;
    // Unrounded activations: every weight meets x itself, each row dequantized once per call.
    const bool unrounded = rounding == ActivationRounding::None;
    auto format_of = [&](GGMLType type) {
        return unrounded ? ActivationFormat::F32 : activation_format_for(type);
    };
    const int64_t cols = outputs[0].weight->cols;
    for (const auto& o : outputs)  // checked here: the worker threads must not throw
        if (!matmul_supports(o.weight->type)) throw std::invalid_argument("matmul: unsupported weight type");

    // 1. Each activation format the weights need, quantized once: [n_tokens, row bytes].
    std::array<size_t, kFormats> row_bytes{}, offset{};
    std::array<bool, kFormats> needed{};
    for (const auto& o : outputs) {
        if (o.weight->cols != cols) throw std::logic_error("matmul: weights sharing an input differ in width");
        needed[static_cast<int>(format_of(o.weight->type))] = true;
    }
    size_t total = 0;
    for (int f = 0; f < kFormats; ++f) {
        if (!needed[f] || f == static_cast<int>(ActivationFormat::F32)) continue;  // F32 reads x itself
        // Rows padded to 64 bytes keep every token's blocks aligned.
        row_bytes[f] = (activation_row_bytes(static_cast<ActivationFormat>(f), cols) + 63) / 64 * 64;
        offset[f] = total;
        total += row_bytes[f] * static_cast<size_t>(n_tokens);
    }
    if (scratch.size() < total + 64) scratch.resize(total + 64);
    uint8_t* base = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
    for (int f = 0; f < kFormats; ++f) {
        if (row_bytes[f] == 0) continue;
        const auto format = static_cast<ActivationFormat>(f);
        pool.run(n_tokens, [&](int64_t t, int) {
            quantize_row(kernels, format, x + t * cols, base + offset[f] + row_bytes[f] * static_cast<size_t>(t), cols);
        });
    }

    // 2. Rows in chunks: enough chunks for every thread to stay busy, big enough that a
    // chunk's weights are reused across all tokens while they sit in cache.
    int64_t total_rows = 0;
    for (const auto& o : outputs) total_rows += o.weight->rows;
    const int64_t target_chunks = static_cast<int64_t>(pool.size()) * 6;
    const int64_t chunk = std::max<int64_t>(8, (total_rows + target_chunks - 1) / target_chunks);
    struct Task {
        const MatmulOutput* output;
        int64_t begin, end;
    };
    std::vector<Task> tasks;
    for (const auto& o : outputs)
        for (int64_t r = 0; r < o.weight->rows; r += chunk) tasks.push_back({&o, r, std::min(o.weight->rows, r + chunk)});

    // Unrounded path: one dequantized weight row per thread, [cols].
    std::vector<std::vector<float>> dequantized(unrounded ? static_cast<size_t>(pool.size()) : 0,
                                                std::vector<float>(static_cast<size_t>(cols)));

    pool.run(static_cast<int64_t>(tasks.size()), [&](int64_t task_index, int thread) {
        const Task& task = tasks[static_cast<size_t>(task_index)];
        const WeightMatrix& w = *task.output->weight;
        if (unrounded && !is_float_type(w.type)) {
            float* row = dequantized[static_cast<size_t>(thread)].data();
            for (int64_t r = task.begin; r < task.end; ++r) {
                dequantize_weight_row(w, r, row);
                for (int64_t t = 0; t < n_tokens; ++t)
                    task.output->out[t * w.rows + r] = w.scale * kernels.dot_f32(row, x + t * cols, w.cols);
            }
            return;
        }
        const int f = static_cast<int>(format_of(w.type));
        const bool float_input = f == static_cast<int>(ActivationFormat::F32);
        const size_t stride = float_input ? static_cast<size_t>(cols) * sizeof(float) : row_bytes[f];
        const uint8_t* act = float_input ? reinterpret_cast<const uint8_t*>(x) : base + offset[f];
        // Several tokens: the tiled kernel, bit for bit the row_dot below. One token (decode)
        // takes the dots: on SmolLM2's narrow rows a one-token tile measured slower
        // (tg128 0.88x llama.cpp against 1.29x with the dots, 2 threads).
        if (const QuantGemmFn gemm = n_tokens > 1 ? row_gemm(kernels, w.type) : nullptr) {
            float* y = task.output->out + task.begin;
            gemm(w.data + static_cast<size_t>(task.begin) * w.row_bytes, w.row_bytes, act, stride, w.cols,
                 task.end - task.begin, n_tokens, y, w.rows);
            for (int64_t t = 0; t < n_tokens; ++t)
                for (int64_t r = 0; r < task.end - task.begin; ++r) y[t * w.rows + r] = w.scale * y[t * w.rows + r];
            return;
        }
        for (int64_t t = 0; t < n_tokens; ++t) {
            const uint8_t* a = act + stride * static_cast<size_t>(t);
            float* y = task.output->out + t * w.rows;
            for (int64_t r = task.begin; r < task.end; ++r)
                y[r] = w.scale * row_dot(kernels, w.type, w.data + static_cast<size_t>(r) * w.row_bytes, a, w.cols);
        }
    });
}

}  // namespace lockstep::kernels
