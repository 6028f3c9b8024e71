#include "dispatch/native_backend.h"

#include <algorithm>
#include <stdexcept>

#include "dispatch/registry.h"
#include "dispatch/thresholds.h"
#include "dispatch/tokenizer_codec.h"

#ifndef LOCKSTEP_VERSION
#error "LOCKSTEP_VERSION is defined by CMakeLists.txt from pyproject.toml"
#endif

namespace lockstep::dispatch {
namespace {

std::mutex& codec_mutex() {
    static std::mutex mutex;
    return mutex;
}

TextCodecFactory& codec_factory() {
    static TextCodecFactory factory = tokenizer_codec;
    return factory;
}

model::LoadOptions load_options(const BackendOptions& options) {
    model::LoadOptions load;
    load.n_threads = options.n_threads;
    load.fault = model::fault_from_name(options.inject_fault);
    return load;
}

}  // namespace

void set_native_text_codec(TextCodecFactory factory) {
    std::lock_guard lock(codec_mutex());
    codec_factory() = std::move(factory);
}

void use_default_native_text_codec() { set_native_text_codec(tokenizer_codec); }

NativeBackend::NativeBackend(const std::string& model_path, const BackendOptions& options)
    : model_(model::Model::load(model_path, load_options(options))), session_(model_, 0) {
    TextCodecFactory factory;
    {
        std::lock_guard lock(codec_mutex());
        factory = codec_factory();
    }
    if (factory) codec_ = factory(model_path);
}

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

std::vector<std::string> NativeBackend::capabilities() const { return native_capabilities(*model_, codec_ != nullptr); }

TextCodec& NativeBackend::codec() {
    if (!codec_)
        throw std::runtime_error(
            "native: no tokenizer is available (the engine computes logits only; install a text codec with "
            "set_native_text_codec)");
    return *codec_;
}

std::vector<int32_t> NativeBackend::tokenize(const std::string& text, bool add_special, bool parse_special) {
    std::vector<int32_t> ids = codec().tokenize(text, add_special, parse_special);
    if (model_->fault() == model::Fault::BosDropped && !ids.empty() && ids.front() == codec().bos_id())
        ids.erase(ids.begin());
    return ids;
}

std::string NativeBackend::token_piece(int32_t id) { return codec().token_piece(id); }

int32_t NativeBackend::bos_id() { return codec().bos_id(); }

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
                p.detail = "built in; kernels: " + std::string(kernels::isa_name(kernels::best_isa()));
                return p;
            },
            [](const std::string& path, const BackendOptions& options) -> std::shared_ptr<Backend> {
                return std::make_shared<NativeBackend>(path, options);
            }};
}

void register_native_backend() { register_backend(native_backend_factory()); }

}  // namespace lockstep::dispatch
