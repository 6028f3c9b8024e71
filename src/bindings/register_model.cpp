// lockstep._core.NativeModel: the native engine (a Model and one Session). Logits and
// captures come back as numpy arrays over the engine's own buffers (zero-copy); the GIL is
// released while the engine computes.
#include <memory>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/register.h"
#include "dispatch/model_tokenizer.h"
#include "dispatch/native_backend.h"
#include "model/session.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

using model::CapturePoint;

// A float32 array viewing `buffer`, which the array's base keeps alive.
py::array_t<float> owned_view(std::shared_ptr<std::vector<float>> buffer, std::vector<py::ssize_t> shape) {
    auto* owner = new std::shared_ptr<std::vector<float>>(buffer);
    py::capsule base(owner, [](void* p) { delete static_cast<std::shared_ptr<std::vector<float>>*>(p); });
    return py::array_t<float>(shape, buffer->data(), base);
}

struct NativeModel {
    std::shared_ptr<model::Model> model;
    model::Session session;
    std::shared_ptr<tokenizer::Tokenizer> tokenizer;  // the model's own vocabulary; null if it has none

    NativeModel(std::shared_ptr<model::Model> m, int64_t n_ctx, std::shared_ptr<tokenizer::Tokenizer> t)
        : model(std::move(m)), session(model, n_ctx), tokenizer(std::move(t)) {}
};

std::optional<kernels::Isa> parse_isa(const std::string& name) {
    if (name.empty()) return std::nullopt;
    return kernels::compiled_isa(name);  // std::invalid_argument arrives in Python as ValueError
}

py::dict info(const NativeModel& self) {
    const model::ModelConfig& c = self.model->config();
    py::dict d;
    d["path"] = self.model->path();
    d["format"] = self.model->format();
    d["architecture"] = c.architecture_name;
    d["n_vocab"] = c.n_vocab;
    d["n_embd"] = c.n_embd;
    d["n_layer"] = c.n_layer;
    d["n_head"] = c.n_head;
    d["n_head_kv"] = c.n_head_kv;
    d["head_dim"] = c.head_dim;
    d["n_ff"] = c.n_ff;
    d["n_ctx_train"] = c.n_ctx_train;
    d["n_ctx"] = self.session.n_ctx();
    d["rope_base"] = c.rope.base;
    d["rope_dim"] = c.rope.n_rot;
    d["rope_layout"] = c.rope.layout == kernels::RopeLayout::Neox ? "neox" : "interleaved";
    d["rms_eps"] = c.rms_eps;
    d["ffn_activation"] = std::string(model::ffn_activation_name(c.ffn_activation));
    d["sliding_window"] = c.sliding_window;
    std::vector<int64_t> sliding_layers;  // the layers that attend through the window
    for (int64_t l = 0; l < c.n_layer; ++l)
        if (c.is_sliding(l)) sliding_layers.push_back(l);
    d["sliding_layers"] = sliding_layers;
    d["rope_base_sliding"] = c.rope_sliding ? c.rope_sliding->base : c.rope.base;
    d["tied_embeddings"] = self.model->weights().tied_embeddings;
    d["tensor_types"] = self.model->weights().type_counts;
    d["isa"] = std::string(kernels::isa_name(self.model->kernels().isa));
    d["n_threads"] = self.model->pool().size();
    d["fault"] = std::string(model::fault_name(self.model->fault()));
    d["activation_rounding"] =
        self.model->activation_rounding() == kernels::ActivationRounding::Int8 ? "int8" : "none";
    return d;
}

}  // namespace

void register_model(py::module_& m) {
    py::class_<NativeModel>(m, "NativeModel")
        .def(py::init([](const std::string& path, int n_threads, int64_t n_ctx, const std::string& isa,
                         const std::string& inject_fault, bool unrounded_activations) {
                 model::LoadOptions options;
                 if (unrounded_activations) options.activation_rounding = kernels::ActivationRounding::None;
                 options.n_threads = n_threads;
                 options.isa = parse_isa(isa);
                 options.fault = model::fault_from_name(inject_fault);
                 std::shared_ptr<model::Model> loaded;
                 std::shared_ptr<tokenizer::Tokenizer> vocabulary;
                 {
                     py::gil_scoped_release release;
                     loaded = model::Model::load(path, options);
                     vocabulary = dispatch::model_tokenizer(path);
                 }
                 return std::make_unique<NativeModel>(std::move(loaded), n_ctx, std::move(vocabulary));
             }),
             py::arg("path"), py::arg("n_threads") = 0, py::arg("n_ctx") = 0, py::arg("isa") = "",
             py::arg("inject_fault") = "", py::arg("unrounded_activations") = false)
        .def(
            "eval",
            [](NativeModel& self, py::array_t<int32_t, py::array::c_style | py::array::forcecast> ids, bool all_logits,
               const std::vector<std::string>& capture) {
                if (ids.ndim() != 1) throw py::value_error("ids must be a 1-d sequence of token ids");
                model::EvalOptions options;
                options.all_logits = all_logits;
                for (const auto& name : capture) {
                    const auto point = model::capture_point(name);
                    if (!point) {
                        std::string known;
                        for (auto n : model::kCapturePointNames) {
                            if (!known.empty()) known += ", ";
                            known += n;
                        }
                        throw py::value_error("unknown capture point '" + name + "' (known: " + known + ")");
                    }
                    options.capture.push_back(*point);
                }
                const std::vector<int32_t> tokens(ids.data(), ids.data() + ids.size());
                model::EvalResult result;
                {
                    py::gil_scoped_release release;
                    result = self.session.eval(tokens, options);
                }
                const int64_t vocab = self.model->config().n_vocab, embd = self.model->config().n_embd;
                py::dict captures;
                for (const auto& c : result.captures)
                    captures[py::str(std::string(model::kCapturePointNames[static_cast<size_t>(c.point)]))] =
                        owned_view(c.values, {self.model->config().n_layer, static_cast<py::ssize_t>(tokens.size()), embd});
                return py::make_tuple(owned_view(result.logits, {result.rows, vocab}), captures);
            },
            py::arg("ids"), py::arg("all_logits") = true, py::arg("capture") = std::vector<std::string>{})
        .def("reset", [](NativeModel& self) { self.session.reset(); })
        .def("rewind", [](NativeModel& self, int64_t n_keep) { self.session.rewind(n_keep); }, py::arg("n_keep"))
        .def_property_readonly("n_past", [](const NativeModel& self) { return self.session.n_past(); })
        .def_property_readonly("n_ctx", [](const NativeModel& self) { return self.session.n_ctx(); })
        .def("info", &info)
        .def("version", [](const NativeModel& self) { return dispatch::native_version(*self.model); })
        .def("capabilities",
             [](const NativeModel& self) { return dispatch::native_capabilities(*self.model, self.tokenizer != nullptr); })
        .def_property_readonly(
            "tokenizer", [](const NativeModel& self) { return self.tokenizer; },
            "The model's vocabulary (a _core.Tokenizer shared with the engine), None if it has none.")
        .def(
            "tokenize",
            [](const NativeModel& self, const std::string& text, bool add_special, bool parse_special) {
                std::vector<int32_t> ids;
                {
                    py::gil_scoped_release release;
                    ids = dispatch::native_tokenize(*self.model, self.tokenizer.get(), text, add_special, parse_special);
                }
                return py::array_t<int32_t>(static_cast<py::ssize_t>(ids.size()), ids.data());
            },
            py::arg("text"), py::arg("add_special"), py::arg("parse_special"));
}

}  // namespace lockstep::bindings
