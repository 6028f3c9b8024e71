// The native backend in the dispatcher's registry, the text codec it tokenizes with (a
// Python class may implement one: lockstep.native_text), and the catalogue of faults.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/register.h"
#include "dispatch/native_backend.h"
#include "model/faults.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

using dispatch::TextCodec;

// Lets a Python class implement TextCodec. Calls come from the dispatcher, which runs without
// the GIL, so each one takes it.
class PyTextCodec : public TextCodec, public py::trampoline_self_life_support {
public:
    std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) override {
        py::gil_scoped_acquire gil;
        py::function override = py::get_override(static_cast<const TextCodec*>(this), "tokenize");
        if (!override) throw std::runtime_error("Python text codec does not implement tokenize");
        auto ids = py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(
            override(py::str(text), add_special, parse_special));
        if (!ids || ids.ndim() != 1) throw std::runtime_error("text codec tokenize must return a 1-D array of ids");
        return {ids.data(), ids.data() + ids.shape(0)};
    }
    std::string token_piece(int32_t id) override {
        py::gil_scoped_acquire gil;
        py::function override = py::get_override(static_cast<const TextCodec*>(this), "token_piece");
        if (!override) throw std::runtime_error("Python text codec does not implement token_piece");
        return override(id).cast<py::bytes>();
    }
    int32_t bos_id() override { PYBIND11_OVERRIDE_PURE(int32_t, TextCodec, bos_id); }
    std::string description() override { PYBIND11_OVERRIDE_PURE(std::string, TextCodec, description); }
};

}  // namespace

void register_native_backend(py::module_& m) {
    dispatch::register_native_backend();

    py::class_<TextCodec, PyTextCodec, py::smart_holder>(m, "TextCodec",
                                                         "Text <-> ids for the native backend; subclass it in Python.")
        .def(py::init_alias<>());
    // The factory holds a Python callable: it must go before the interpreter does (see
    // register_dispatch), so Python's atexit removes it.
    py::module_::import("atexit").attr("register")(
        py::cpp_function([]() { dispatch::set_native_text_codec(nullptr); }));
    m.def(
        "set_native_text_codec",
        [](std::function<std::shared_ptr<TextCodec>(const std::string&)> make) {
            if (!make) return dispatch::set_native_text_codec(nullptr);
            dispatch::set_native_text_codec([make](const std::string& path) {
                py::gil_scoped_acquire gil;
                return make(path);
            });
        },
        py::arg("factory"), "Install the callable that makes the native backend's text codec for a model path (None removes it).");
    m.def("engine_version", &dispatch::engine_version);
    m.def("use_default_native_text_codec", &dispatch::use_default_native_text_codec,
          "The native backend tokenizes with lockstep's own C++ tokenizer again (the default).");

    m.def(
        "fault_catalogue",
        []() {
            std::vector<std::pair<std::string, std::string>> out;
            for (const auto& f : model::kFaults) out.emplace_back(std::string(f.name), std::string(f.description));
            return out;
        },
        "(name, description) of every fault the native engine can inject.");
}

}  // namespace lockstep::bindings
