#include "model/weights.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "formats/errors.h"
#include "kernels/fp16.h"

namespace lockstep::model {
namespace {

std::string shape_text(const std::vector<int64_t>& ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

class Binder {
public:
    Binder(const TensorSet& tensors, const std::string& path, float norm_shift)
        : tensors_(tensors), path_(path), norm_shift_(norm_shift) {}

    const TensorRef* find(const std::string& name) const { return tensors_.find(name); }

    [[noreturn]] void fail(const std::string& name, const TensorRef* t, const std::string& what) const {
        throw FormatError(t ? t->file : path_, t ? t->file_offset : FormatError::kNoOffset, "tensor " + name + ": " + what);
    }

    const TensorRef& require(const std::string& name) const {
        const TensorRef* t = find(name);
        if (!t) fail(name, nullptr, "missing");
        return *t;
    }

    // A weight matrix of `rows` outputs by `cols` inputs (ne = [cols, rows]).
    kernels::WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols) {
        const TensorRef& t = require(name);
        const bool shape_ok = t.ne.size() >= 2 && t.ne[0] == cols && t.ne[1] == rows &&
                              std::all_of(t.ne.begin() + 2, t.ne.end(), [](int64_t d) { return d == 1; });
        if (!shape_ok)
            fail(name, &t, "shape " + shape_text(t.ne) + ", expected [" + std::to_string(cols) + ", " +
                               std::to_string(rows) + "]");
        if (!kernels::matmul_supports(t.type))
            fail(name, &t, "type " + std::string(type_traits(static_cast<uint32_t>(t.type))->name) +
                               " is not supported by the native engine's matmul");
        const TypeTraits traits = *type_traits(static_cast<uint32_t>(t.type));
        if (cols % traits.block_size != 0)
            fail(name, &t, "row length " + std::to_string(cols) + " is not a multiple of the block size");
        kernels::WeightMatrix w;
        w.type = t.type;
        w.rows = rows;
        w.cols = cols;
        w.data = t.data;
        w.row_bytes = static_cast<uint64_t>(cols) / traits.block_size * traits.block_bytes;
        uint64_t expected = w.row_bytes * static_cast<uint64_t>(rows);
        if (t.type == GGMLType::I2_S) expected += kI2SScaleBytes;
        if (t.nbytes != expected)
            fail(name, &t, std::to_string(t.nbytes) + " bytes, expected " + std::to_string(expected));
        if (t.type == GGMLType::I2_S) {
            // One float32 scale for the whole tensor, right after the packed codes.
            std::memcpy(&w.scale, t.data + w.row_bytes * static_cast<uint64_t>(rows), sizeof(float));
            if (!std::isfinite(w.scale)) fail(name, &t, "the I2_S scale is not finite");
        }
        // llama.cpp's BitNet files keep a per-tensor scale as "<name minus .weight>.scale".
        const std::string scale_name = name.substr(0, name.size() - std::string(".weight").size()) + ".scale";
        if (const TensorRef* s = find(scale_name)) w.scale *= scalar(scale_name, *s);
        ++type_counts_[std::string(traits.name)];
        return w;
    }

    // A float vector of n elements (norm weights, biases), converted to float32.
    std::vector<float> vector(const std::string& name, int64_t n) {
        const TensorRef& t = require(name);
        return to_floats(name, t, n);
    }
    // A norm's weights, plus the config's norm_weight_shift (gemma's 1 + weight).
    std::vector<float> norm(const std::string& name, int64_t n) {
        std::vector<float> w = vector(name, n);
        for (float& x : w) x += norm_shift_;
        return w;
    }
    std::vector<float> optional_vector(const std::string& name, int64_t n) {
        const TensorRef* t = find(name);
        return t ? to_floats(name, *t, n) : std::vector<float>{};
    }

    std::map<std::string, int64_t> type_counts() const { return type_counts_; }

private:
    float scalar(const std::string& name, const TensorRef& t) const {
        const auto v = to_floats(name, t, 1);
        if (!std::isfinite(v[0])) fail(name, &t, "scale is not finite");
        return v[0];
    }

    std::vector<float> to_floats(const std::string& name, const TensorRef& t, int64_t n) const {
        int64_t count = 1;
        for (int64_t d : t.ne) count *= d;
        if (count != n || std::any_of(t.ne.begin() + (t.ne.empty() ? 0 : 1), t.ne.end(), [](int64_t d) { return d != 1; }))
            fail(name, &t, "shape " + shape_text(t.ne) + ", expected [" + std::to_string(n) + "]");
        std::vector<float> out(static_cast<size_t>(n));
        const size_t element = t.type == GGMLType::F32 ? 4 : 2;
        if (t.type != GGMLType::F32 && t.type != GGMLType::F16 && t.type != GGMLType::BF16)
            fail(name, &t, "vectors must be F32, F16 or BF16");
        if (t.nbytes != element * static_cast<uint64_t>(n)) fail(name, &t, "byte size does not match its shape");
        for (int64_t i = 0; i < n; ++i) {
            uint32_t bits = 0;
            std::memcpy(&bits, t.data + element * static_cast<size_t>(i), element);
            out[static_cast<size_t>(i)] = t.type == GGMLType::F32   ? std::bit_cast<float>(bits)
                                          : t.type == GGMLType::F16 ? kernels::fp16_to_fp32(static_cast<uint16_t>(bits))
                                                                    : kernels::bf16_to_fp32(static_cast<uint16_t>(bits));
        }
        return out;
    }

    const TensorSet& tensors_;
    std::string path_;
    float norm_shift_;
    std::map<std::string, int64_t> type_counts_;
};

// Rows [first, first + count) of w: a view, since rows are stored one after the other.
kernels::WeightMatrix row_slice(const kernels::WeightMatrix& w, int64_t first, int64_t count) {
    kernels::WeightMatrix slice = w;
    slice.data = w.data + static_cast<uint64_t>(first) * w.row_bytes;
    slice.rows = count;
    return slice;
}

}  // namespace

ModelWeights bind_weights(const ModelConfig& c, const TensorSet& tensors, const std::string& path) {
    Binder b(tensors, path, c.norm_weight_shift);
    ModelWeights w;
    w.token_embd = b.matrix("token_embd.weight", c.n_vocab, c.n_embd);
    w.output_norm = b.norm("output_norm.weight", c.n_embd);
    w.tied_embeddings = b.find("output.weight") == nullptr;
    w.output = w.tied_embeddings ? w.token_embd : b.matrix("output.weight", c.n_vocab, c.n_embd);
    const bool bitnet = c.architecture == Architecture::BitNet;
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        LayerWeights l;
        l.attn_norm = b.norm(p + "attn_norm.weight", c.n_embd);
        if (b.find(p + "attn_qkv.weight")) {  // phi3: [q_width + 2 kv_width, n_embd], Q rows, then K, then V
            const auto qkv = b.matrix(p + "attn_qkv.weight", c.q_width() + 2 * c.kv_width(), c.n_embd);
            l.wq = row_slice(qkv, 0, c.q_width());
            l.wk = row_slice(qkv, c.q_width(), c.kv_width());
            l.wv = row_slice(qkv, c.q_width() + c.kv_width(), c.kv_width());
        } else {
            l.wq = b.matrix(p + "attn_q.weight", c.q_width(), c.n_embd);
            l.wk = b.matrix(p + "attn_k.weight", c.kv_width(), c.n_embd);
            l.wv = b.matrix(p + "attn_v.weight", c.kv_width(), c.n_embd);
        }
        l.wo = b.matrix(p + "attn_output.weight", c.n_embd, c.q_width());
        if (c.architecture == Architecture::Qwen2) {  // Q/K/V biases are part of qwen2
            l.bq = b.vector(p + "attn_q.bias", c.q_width());
            l.bk = b.vector(p + "attn_k.bias", c.kv_width());
            l.bv = b.vector(p + "attn_v.bias", c.kv_width());
        } else {
            l.bq = b.optional_vector(p + "attn_q.bias", c.q_width());
            l.bk = b.optional_vector(p + "attn_k.bias", c.kv_width());
            l.bv = b.optional_vector(p + "attn_v.bias", c.kv_width());
        }
        l.bo = b.optional_vector(p + "attn_output.bias", c.n_embd);
        if (c.architecture == Architecture::Qwen3 || c.architecture == Architecture::Gemma3) {
            l.attn_q_norm = b.norm(p + "attn_q_norm.weight", c.head_dim);
            l.attn_k_norm = b.norm(p + "attn_k_norm.weight", c.head_dim);
        }
        if (c.architecture == Architecture::Gemma3) {
            l.attn_post_norm = b.norm(p + "post_attention_norm.weight", c.n_embd);
            l.ffn_post_norm = b.norm(p + "post_ffw_norm.weight", c.n_embd);
        }
        l.ffn_norm = b.norm(p + "ffn_norm.weight", c.n_embd);
        if (c.architecture == Architecture::Phi3) {  // ffn_up [2 n_ff, n_embd]: gate rows, then up rows
            const auto gate_up = b.matrix(p + "ffn_up.weight", 2 * c.n_ff, c.n_embd);
            l.w_gate = row_slice(gate_up, 0, c.n_ff);
            l.w_up = row_slice(gate_up, c.n_ff, c.n_ff);
        } else {
            l.w_gate = b.matrix(p + "ffn_gate.weight", c.n_ff, c.n_embd);
            l.w_up = b.matrix(p + "ffn_up.weight", c.n_ff, c.n_embd);
        }
        l.w_down = b.matrix(p + "ffn_down.weight", c.n_embd, c.n_ff);
        if (bitnet) {
            l.attn_sub_norm = b.vector(p + "attn_sub_norm.weight", c.q_width());
            l.ffn_sub_norm = b.vector(p + "ffn_sub_norm.weight", c.n_ff);
        }
        w.layers.push_back(std::move(l));
    }
    w.type_counts = b.type_counts();
    w.owners = tensors.owners;
    return w;
}

}  // namespace lockstep::model
