// The native engine as a dispatcher Backend, registered under the name "native".
//
// The engine computes logits; text <-> ids comes from a TextCodec, made per model by a
// factory: by default lockstep's C++ tokenizer over the model's vocabulary
// (dispatch/tokenizer_codec.h); set_native_text_codec installs another (e.g. one written in
// Python). Without a codec, or for a model without a vocabulary, tokenize() says that no
// tokenizer is available.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dispatch/backend.h"
#include "model/session.h"

namespace lockstep::dispatch {

// Text <-> ids for one model's vocabulary.
class TextCodec {
public:
    virtual ~TextCodec() = default;
    virtual std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) = 0;
    virtual std::string token_piece(int32_t id) = 0;  // bytes, possibly a partial UTF-8 sequence
    virtual int32_t bos_id() = 0;                      // -1 when the vocabulary has none
    virtual std::string description() = 0;             // what tokenizes, for reports
};

using TextCodecFactory = std::function<std::shared_ptr<TextCodec>(const std::string& model_path)>;

// Replaces the factory the native backend makes its codec with (an empty function removes it).
void set_native_text_codec(TextCodecFactory factory);
// Back to lockstep's own tokenizer.
void use_default_native_text_codec();

class NativeBackend : public Backend {
public:
    // Throws FormatError for a bad model, std::invalid_argument for an unknown or
    // inapplicable fault.
    NativeBackend(const std::string& model_path, const BackendOptions& options);

    std::string name() const override { return "native"; }
    std::string version() const override;
    std::vector<std::string> capabilities() const override;

    std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) override;
    std::string token_piece(int32_t id) override;
    int64_t vocab_size() override { return model_->config().n_vocab; }
    int32_t bos_id() override;

    Logits logits(const std::vector<int32_t>& ids) override;
    // The engine's own evaluation from an empty context, with per-layer captures.
    model::EvalResult evaluate(const std::vector<int32_t>& ids, const model::EvalOptions& options);

    const model::Model& model() const { return *model_; }

private:
    TextCodec& codec();

    std::shared_ptr<model::Model> model_;
    model::Session session_;
    std::shared_ptr<TextCodec> codec_;
};

// What the native engine on `model` reports as its version and capabilities, wherever it is
// used: the dispatcher's backend and the Python NativeModel give the same answer.
// "lockstep X.Y.Z": the version this engine was built as (pyproject.toml's).
std::string engine_version();
std::string native_version(const model::Model& model);
std::vector<std::string> native_capabilities(const model::Model& model, bool has_tokenizer);

// The native backend's registry entry: always available, version = lockstep's.
BackendFactory native_backend_factory();
void register_native_backend();

}  // namespace lockstep::dispatch
