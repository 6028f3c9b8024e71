// The forward pass. Each layer is a short sequence of named kernel calls on activations
// of shape [n_tokens, width]; the comments give the shapes.
#include "model/session.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/matmul.h"
#include "model/embedding.h"

namespace lockstep::model {
namespace {

using kernels::MatmulOutput;

void add_in_place(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void scale_in_place(float* x, float a, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] *= a;
}

void soft_cap(float* x, float cap, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

void add_bias(float* rows, const std::vector<float>& bias, int64_t n_rows) {
    if (bias.empty()) return;
    const auto width = static_cast<int64_t>(bias.size());
    for (int64_t t = 0; t < n_rows; ++t) add_in_place(rows + t * width, bias.data(), width);
}

}  // namespace

Session::Session(std::shared_ptr<const Model> model, int64_t n_ctx)
    : model_(std::move(model)),
      n_ctx_(n_ctx > 0 ? n_ctx : model_->config().n_ctx_train),
      cache_(model_->config().n_layer, model_->config().kv_width()) {
    const ModelConfig& c = model_->config();
    angles_.push_back({RopeAngles(c.rope, n_ctx_), {}, {}, {}, {}});
    if (c.rope_sliding) angles_.push_back({RopeAngles(*c.rope_sliding, n_ctx_), {}, {}, {}, {}});
}

EvalResult Session::eval(std::span<const int32_t> ids, const EvalOptions& options) {
    const ModelConfig& c = model_->config();
    if (ids.empty()) throw std::invalid_argument("no tokens to evaluate");
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || ids[i] >= c.n_vocab)
            throw std::invalid_argument("token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                                        " is outside the vocabulary [0, " + std::to_string(c.n_vocab) + ")");
    const auto n = static_cast<int64_t>(ids.size());
    if (n_past_ + n > n_ctx_)
        throw std::invalid_argument(std::to_string(n_past_) + " tokens in context + " + std::to_string(n) +
                                    " new ones exceed the context length " + std::to_string(n_ctx_));
    std::lock_guard<std::mutex> lock(model_->compute_mutex());
    EvalResult result;
    forward(ids, options, result);
    n_past_ += n;
    return result;
}

void Session::rewind(int64_t n_keep) {
    if (n_keep < 0 || n_keep > n_past_)
        throw std::invalid_argument("cannot rewind to " + std::to_string(n_keep) + " tokens: the context holds " +
                                    std::to_string(n_past_));
    n_past_ = n_keep;
}

void Session::ensure_workspace(int64_t n) {
    const ModelConfig& c = model_->config();
    auto fit = [](std::vector<float>& v, int64_t size) {
        if (static_cast<int64_t>(v.size()) < size) v.resize(static_cast<size_t>(size));
    };
    const int64_t wide = std::max({c.n_embd, c.q_width()});
    fit(x_, n * c.n_embd);
    fit(h_, n * std::max(wide, c.n_ff));
    fit(q_, n * c.q_width());
    fit(k_, n * c.kv_width());
    fit(v_, n * c.kv_width());
    fit(attn_, n * c.q_width());
    fit(proj_, n * c.n_embd);
    fit(gate_, n * c.n_ff);
    fit(up_, n * c.n_ff);
    for (TokenAngles& a : angles_) {
        fit(a.cos, n * a.table.pairs());
        fit(a.sin, n * a.table.pairs());
        if (model_->fault() == Fault::KvPositionOffByOne) {
            fit(a.key_cos, n * a.table.pairs());
            fit(a.key_sin, n * a.table.pairs());
        }
    }
    scores_.resize(static_cast<size_t>(model_->pool().size()));
    for (auto& s : scores_) fit(s, n_past_ + n);
    cache_.reserve(n_past_ + n);
}

void Session::forward(std::span<const int32_t> ids, const EvalOptions& options, EvalResult& result) {
    const ModelConfig& c = model_->config();
    const ModelWeights& w = model_->weights();
    const kernels::KernelTable& k = model_->kernels();
    kernels::ThreadPool& pool = model_->pool();
    const auto n = static_cast<int64_t>(ids.size());
    const int64_t p0 = n_past_;
    const int64_t hd = c.head_dim, qw = c.q_width(), kvw = c.kv_width(), E = c.n_embd, F = c.n_ff;
    ensure_workspace(n);

    // Captured points: [n_layer, n, E] each.
    std::vector<float*> capture_at(kCapturePointNames.size(), nullptr);
    for (CapturePoint p : options.capture) {
        auto& slot = capture_at[static_cast<size_t>(p)];
        if (slot) continue;
        auto values = std::make_shared<std::vector<float>>(static_cast<size_t>(c.n_layer * n * E));
        slot = values->data();
        result.captures.push_back({p, std::move(values)});
    }
    auto capture = [&](CapturePoint p, int64_t layer, const float* rows) {
        if (float* dst = capture_at[static_cast<size_t>(p)]) std::memcpy(dst + layer * n * E, rows, sizeof(float) * n * E);
    };
    // Runs fn(t) for each token, in parallel when there are several.
    auto per_token = [&](auto fn) { pool.run(n, [&](int64_t t, int) { fn(t); }); };

    // x [n, E]: the residual stream (gemma scales the embeddings by sqrt(E)).
    embed_tokens(w.token_embd, ids, x_.data());
    if (c.embedding_scale != 1.0f) scale_in_place(x_.data(), c.embedding_scale, n * E);

    // The injectable faults (faults.h); with Fault::None these are the model's own values.
    const Fault fault = model_->fault();
    const kernels::RopeLayout rope_layout =
        fault != Fault::RopeLayoutSwapped ? c.rope.layout
        : c.rope.layout == kernels::RopeLayout::Neox ? kernels::RopeLayout::Interleaved
                                                      : kernels::RopeLayout::Neox;
    const float rms_eps = fault == Fault::RmsEpsX100 ? 100.0f * c.rms_eps : c.rms_eps;
    const FfnActivation activation =
        fault == Fault::SiluForRelu2 && c.ffn_activation == FfnActivation::ReLU2 ? FfnActivation::SiLU : c.ffn_activation;
    // 1 / sqrt(head_dim) unless the model says otherwise (gemma); the fault squares it (1 / head_dim).
    const float query_scale =
        c.query_scale > 0.0 ? static_cast<float>(c.query_scale) : 1.0f / std::sqrt(static_cast<float>(hd));
    const float attention_scale = fault != Fault::AttentionScaleWrong ? query_scale
                                  : c.query_scale > 0.0             ? query_scale * query_scale
                                                                    : 1.0f / static_cast<float>(hd);
    // cos/sin [n, n_rot/2] for the new positions; keys rotate with the queries' angles, or one
    // position later under the fault.
    for (TokenAngles& a : angles_) {
        const int64_t pairs = a.table.pairs();
        for (int64_t t = 0; t < n; ++t) a.table.compute(p0 + t, a.cos.data() + t * pairs, a.sin.data() + t * pairs);
        if (fault == Fault::KvPositionOffByOne)
            for (int64_t t = 0; t < n; ++t)
                a.table.compute(p0 + t + 1, a.key_cos.data() + t * pairs, a.key_sin.data() + t * pairs);
    }
    const int64_t group = c.n_head / c.n_head_kv;
    const kernels::ActivationRounding rounding = model_->activation_rounding();

    for (int64_t l = 0; l < c.n_layer; ++l) {
        const LayerWeights& L = w.layers[static_cast<size_t>(l)];

        // h [n, E] = rms_norm(x) * attn_norm
        per_token([&](int64_t t) { k.rms_norm(x_.data() + t * E, L.attn_norm.data(), rms_eps, h_.data() + t * E, E); });
        capture(CapturePoint::AttnNorm, l, h_.data());

        // q [n, qw], k/v [n, kvw]
        const MatmulOutput qkv[] = {{&L.wq, q_.data()}, {&L.wk, k_.data()}, {&L.wv, v_.data()}};
        kernels::matmul(k, pool, h_.data(), n, qkv, matmul_scratch_, rounding);
        add_bias(q_.data(), L.bq, n);
        add_bias(k_.data(), L.bk, n);
        add_bias(v_.data(), L.bv, n);

        // Normalize each q and k head on its own (qwen3, gemma3), rotate them by their position
        // (with the sliding layers' angles on those layers); append k, v to the cache.
        const bool sliding = c.is_sliding(l);
        const TokenAngles& angles = angles_[sliding && c.rope_sliding ? 1 : 0];
        const int64_t pairs = angles.table.pairs();
        const float* key_cos = fault == Fault::KvPositionOffByOne ? angles.key_cos.data() : angles.cos.data();
        const float* key_sin = fault == Fault::KvPositionOffByOne ? angles.key_sin.data() : angles.sin.data();
        per_token([&](int64_t t) {
            if (!L.attn_q_norm.empty()) {
                for (int64_t head = 0; head < c.n_head; ++head) {
                    float* q_head = q_.data() + t * qw + head * hd;
                    k.rms_norm(q_head, L.attn_q_norm.data(), rms_eps, q_head, hd);
                }
                for (int64_t head = 0; head < c.n_head_kv; ++head) {
                    float* k_head = k_.data() + t * kvw + head * hd;
                    k.rms_norm(k_head, L.attn_k_norm.data(), rms_eps, k_head, hd);
                }
            }
            const float* cos = angles.cos.data() + t * pairs;
            const float* sin = angles.sin.data() + t * pairs;
            for (int64_t head = 0; head < c.n_head; ++head) k.rope(q_.data() + t * qw + head * hd, cos, sin, c.rope.n_rot, rope_layout);
            for (int64_t head = 0; head < c.n_head_kv; ++head)
                k.rope(k_.data() + t * kvw + head * hd, key_cos + t * pairs, key_sin + t * pairs, c.rope.n_rot, rope_layout);
            std::memcpy(cache_.key(l, p0 + t), k_.data() + t * kvw, sizeof(float) * kvw);
            std::memcpy(cache_.value(l, p0 + t), v_.data() + t * kvw, sizeof(float) * kvw);
        });

        // attn [n, qw]: causal attention of each query head over the cached positions of its
        // key/value head (grouped-query attention shares one kv head among `group` heads), the
        // last sliding_window of them on a sliding layer.
        pool.run(n * c.n_head, [&](int64_t task, int thread) {
            const int64_t t = task / c.n_head, head = task % c.n_head, kv_head = head / group;
            const int64_t pos = p0 + t;
            const int64_t first = sliding ? std::max<int64_t>(0, pos - c.sliding_window + 1) : 0;
            const int64_t count = pos - first + 1;
            const float* query = q_.data() + t * qw + head * hd;
            float* scores = scores_[static_cast<size_t>(thread)].data();
            k.attention_scores(query, cache_.key(l, first) + kv_head * hd, kvw, count, hd, attention_scale, scores);
            k.softmax(scores, count);
            k.attention_values(scores, cache_.value(l, first) + kv_head * hd, kvw, count, hd, attn_.data() + t * qw + head * hd);
        });
        if (!L.attn_sub_norm.empty())  // BitNet: normalize before the output projection
            per_token([&](int64_t t) {
                k.rms_norm(attn_.data() + t * qw, L.attn_sub_norm.data(), rms_eps, attn_.data() + t * qw, qw);
            });

        // proj [n, E] = attn @ wo
        const MatmulOutput out_proj[] = {{&L.wo, proj_.data()}};
        kernels::matmul(k, pool, attn_.data(), n, out_proj, matmul_scratch_, rounding);
        add_bias(proj_.data(), L.bo, n);
        capture(CapturePoint::AttnOut, l, proj_.data());
        if (!L.attn_post_norm.empty())  // gemma3: normalize what joins the residual stream
            per_token([&](int64_t t) {
                k.rms_norm(proj_.data() + t * E, L.attn_post_norm.data(), rms_eps, proj_.data() + t * E, E);
            });
        add_in_place(x_.data(), proj_.data(), n * E);
        capture(CapturePoint::FfnInp, l, x_.data());

        // Feed-forward: h = rms_norm(x) * ffn_norm; gate, up [n, F]; h = act(gate) * up.
        per_token([&](int64_t t) { k.rms_norm(x_.data() + t * E, L.ffn_norm.data(), rms_eps, h_.data() + t * E, E); });
        capture(CapturePoint::FfnNorm, l, h_.data());
        const MatmulOutput gate_up[] = {{&L.w_gate, gate_.data()}, {&L.w_up, up_.data()}};
        kernels::matmul(k, pool, h_.data(), n, gate_up, matmul_scratch_, rounding);
        per_token([&](int64_t t) {
            float* out = h_.data() + t * F;
            const float* gate = gate_.data() + t * F;
            const float* up = up_.data() + t * F;
            switch (activation) {
                case FfnActivation::SiLU: k.silu_mul(gate, up, out, F); break;
                case FfnActivation::ReLU2: k.relu2_mul(gate, up, out, F); break;
                case FfnActivation::GeluTanh: k.gelu_tanh_mul(gate, up, out, F); break;
            }
            if (!L.ffn_sub_norm.empty()) k.rms_norm(out, L.ffn_sub_norm.data(), rms_eps, out, F);  // BitNet
        });
        // proj [n, E] = h @ w_down
        const MatmulOutput down[] = {{&L.w_down, proj_.data()}};
        kernels::matmul(k, pool, h_.data(), n, down, matmul_scratch_, rounding);
        capture(CapturePoint::FfnOut, l, proj_.data());
        if (!L.ffn_post_norm.empty())  // gemma3
            per_token([&](int64_t t) {
                k.rms_norm(proj_.data() + t * E, L.ffn_post_norm.data(), rms_eps, proj_.data() + t * E, E);
            });
        add_in_place(x_.data(), proj_.data(), n * E);
        capture(CapturePoint::LOut, l, x_.data());
    }

    // logits [rows, n_vocab] = rms_norm(x) * output_norm @ output, for every token or the last.
    result.rows = options.all_logits ? n : 1;
    const float* last = x_.data() + (n - result.rows) * E;
    pool.run(result.rows, [&](int64_t t, int) {
        k.rms_norm(last + t * E, w.output_norm.data(), rms_eps, h_.data() + t * E, E);
    });
    result.logits = std::make_shared<std::vector<float>>(static_cast<size_t>(result.rows * c.n_vocab));
    const MatmulOutput head[] = {{&w.output, result.logits->data()}};
    kernels::matmul(k, pool, h_.data(), result.rows, head, matmul_scratch_, rounding);
    if (c.final_logit_softcap > 0.0)  // gemma: logits = cap * tanh(logits / cap)
        soft_cap(result.logits->data(), static_cast<float>(c.final_logit_softcap), result.rows * c.n_vocab);
}

}  // namespace lockstep::model
