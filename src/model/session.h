// One conversation with a model: the KV cache and the positions filled so far. eval()
// appends tokens and returns their logits; a fresh session (or reset()) starts from an
// empty context.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/capture.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/rope_angles.h"

namespace lockstep::model {

struct EvalOptions {
    bool all_logits = true;                // false: only the last token's row
    std::vector<CapturePoint> capture;     // per-layer values to record
};

struct EvalResult {
    std::shared_ptr<std::vector<float>> logits;  // [rows, n_vocab]
    int64_t rows = 0;
    std::vector<Capture> captures;               // each [n_layer, n_tokens, n_embd]
};

class Session {
public:
    // n_ctx <= 0: the model's training context length.
    Session(std::shared_ptr<const Model> model, int64_t n_ctx);

    // Appends `ids` at positions [n_past, n_past + ids.size()) and returns their logits;
    // row i predicts the token after ids[i]. Throws std::invalid_argument for an empty
    // input, an id outside the vocabulary, or a context overflow (and leaves the session
    // unchanged).
    EvalResult eval(std::span<const int32_t> ids, const EvalOptions& options);
    // Empties the context (unless the model carries the stale-kv-after-reset fault).
    void reset() {
        if (model_->fault() != Fault::StaleKvAfterReset) n_past_ = 0;
    }

    // Keeps the first n_keep positions and forgets the rest (their cache entries are
    // overwritten by the next eval): a conversation whose new prompt shares a prefix with
    // the context prefills only what differs. Throws std::invalid_argument unless
    // 0 <= n_keep <= n_past.
    void rewind(int64_t n_keep);

    int64_t n_past() const { return n_past_; }
    int64_t n_ctx() const { return n_ctx_; }
    const Model& model() const { return *model_; }

private:
    // The transformer over the new tokens; fills logits with `rows` rows.
    void forward(std::span<const int32_t> ids, const EvalOptions& options, EvalResult& result);
    void ensure_workspace(int64_t n_tokens);

    std::shared_ptr<const Model> model_;
    int64_t n_ctx_;
    int64_t n_past_ = 0;
    KVCache cache_;
    // The rotation angles of the tokens in flight, [n_tokens, n_rot/2] each, per RoPE
    // configuration: the global layers' and, when theirs differs (gemma3), the sliding-window
    // layers'. The keys' own angles: only the kv-position-off-by-one fault needs them.
    struct TokenAngles {
        RopeAngles table;
        std::vector<float> cos, sin, key_cos, key_sin;
    };
    std::vector<TokenAngles> angles_;
    // Activations of the tokens in flight, [n_tokens, width] each.
    std::vector<float> x_, h_, q_, k_, v_, attn_, proj_, gate_, up_;
    std::vector<std::vector<float>> scores_;  // per thread, attention scores over positions
    std::vector<uint8_t> matmul_scratch_;
};

}  // namespace lockstep::model
