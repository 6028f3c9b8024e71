// The native engine as a dispatcher Backend, registered under the name "native".
//
// The engine computes logits; text <-> ids is lockstep's C++ tokenizer over the model's own
// vocabulary (dispatch/model_tokenizer.h). For a model without a vocabulary, tokenize() says
// that no tokenizer is available. The Python NativeModel (bindings/register_model.cpp) goes
// through the same functions below, so both report and tokenize alike.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dispatch/backend.h"
#include "model/session.h"
#include "tokenizer/tokenizer.h"

namespace lockstep::dispatch {

// What the native engine on `model` reports as its version and capabilities.
std::string native_version(const model::Model& model);
std::vector<std::string> native_capabilities(const model::Model& model, bool has_tokenizer);
// `text` as the native engine's ids: the tokenizer's, with the model's injected fault applied
// (bos-dropped leaves out the BOS the vocabulary asks for). `tok` may be null: then
// std::runtime_error says the model has no tokenizer.
std::vector<int32_t> native_tokenize(const model::Model& model, const tokenizer::Tokenizer* tok,
                                     const std::string& text, bool add_special, bool parse_special);

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
    const tokenizer::Tokenizer& vocabulary() const;

    std::shared_ptr<model::Model> model_;
    model::Session session_;
    std::shared_ptr<tokenizer::Tokenizer> tokenizer_;  // null: the model has no vocabulary
};

// "lockstep X.Y.Z": the version this engine was built as (pyproject.toml's).
std::string engine_version();

// The native backend's registry entry: always available, version = lockstep's.
BackendFactory native_backend_factory();
void register_native_backend();

}  // namespace lockstep::dispatch
