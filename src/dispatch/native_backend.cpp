#include "dispatch/native_backend.h"

#include <algorithm>
#include <stdexcept>

#include "dispatch/model_tokenizer.h"
#include "dispatch/registry.h"
#include "dispatch/thresholds.h"

#ifndef LOCKSTEP_VERSION
#error "LOCKSTEP_VERSION is defined by CMakeLists.txt from pyproject.toml"
#endif

namespace lockstep::dispatch {
namespace {


model::LoadOptions load_options(const BackendOptions& options) {
    model::LoadOptions load;
    load.n_threads = options.n_threads;
    load.fault = model::fault_from_name(options.inject_fault);
    return load;
}

}  // namespace

NativeBackend::NativeBackend(const std::string& model_path, const BackendOptions& options)
    : model_(model::Model::load(model_path, load_options(options))),
      session_(model_, 0),
      tokenizer_(model_tokenizer(model_path)) {}

std::string engine_version() { return std::string("lockstep ") + LOCKSTEP_VERSION; }

std::string native_version(const model::Model& model) {
    std::string v = engine_version() + " (" + std::string(kernels::isa_name(model.kernels().isa)) + ")";
    if (model.fault() != model::Fault::None) v += " with fault " + std::string(model::fault_name(model.fault()));
    return v;
}

std::vector<std::string> native_capabilities(const model::Model& model, bool has_tokenizer) {
    std::vector<std::string> caps = {"logits", "eval", "capture", "faults"};
    if (has_tokenizer) caps.insert(caps.begin(), "tokenize");
    // Float weights are multiplied with float32 activations (kernels/activation_formats.h);
    // quantized ones with quantized activations.
    const auto& types = model.weights().type_counts;
    if (std::all_of(types.begin(), types.end(),
                    [](const auto& t) { return t.first == "F32" || t.first == "F16" || t.first == "BF16"; }))
        caps.push_back(kFloat32Arithmetic);
    return caps;
}

std::string NativeBackend::version() const { return native_version(*model_); }

std::vector<std::string> NativeBackend::capabilities() const { return native_capabilities(*model_, tokenizer_ != nullptr); }

std::vector<int32_t> native_tokenize(const model::Model& model, const tokenizer::Tokenizer* tok,
                                     const std::string& text, bool add_special, bool parse_special) {
    if (tok == nullptr)
        throw std::runtime_error("native: no tokenizer is available (" + model.path() +
                                 " carries no vocabulary; the engine computes logits of token ids only)");
    std::vector<int32_t> ids = tok->encode(text, add_special, parse_special);
    if (model.fault() == model::Fault::BosDropped && !ids.empty() && ids.front() == tok->bos_id())
        ids.erase(ids.begin());
    return ids;
}

const tokenizer::Tokenizer& NativeBackend::vocabulary() const {
    native_tokenize(*model_, tokenizer_.get(), "", false, false);  // the one "no tokenizer" error
    return *tokenizer_;
}

std::vector<int32_t> NativeBackend::tokenize(const std::string& text, bool add_special, bool parse_special) {
    return native_tokenize(*model_, tokenizer_.get(), text, add_special, parse_special);
}

std::string NativeBackend::token_piece(int32_t id) { return vocabulary().token_to_piece(id); }

int32_t NativeBackend::bos_id() { return vocabulary().bos_id(); }

model::EvalResult NativeBackend::evaluate(const std::vector<int32_t>& ids, const model::EvalOptions& options) {
    session_.reset();
    return session_.eval(ids, options);
}

Logits NativeBackend::logits(const std::vector<int32_t>& ids) {
    model::EvalResult result = evaluate(ids, {});
    Logits out;
    out.data = result.logits->data();
    out.rows = result.rows;
    out.vocab = model_->config().n_vocab;
    out.owner = result.logits;
    return out;
}

BackendFactory native_backend_factory() {
    return {"native",
            [] {
                Preflight p;
                p.available = true;
                p.version = engine_version();
                p.detail = "built in; kernels: " + std::string(kernels::isa_name(kernels::default_isa()));
                return p;
            },
            [](const std::string& path, const BackendOptions& options) -> std::shared_ptr<Backend> {
                return std::make_shared<NativeBackend>(path, options);
            }};
}

void register_native_backend() { register_backend(native_backend_factory()); }

}  // namespace lockstep::dispatch
