#include <algorithm>
#include <map>
#include <type_traits>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/metrics_columns.h"
#include "bindings/register.h"
#include "dispatch/crossval.h"
#include "dispatch/registry.h"
#include "dispatch/vocab_bridge.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

using dispatch::Backend;
using dispatch::Logits;

// Lets a Python class implement dispatch::Backend. Every call re-acquires the GIL: the
// dispatcher runs without it. trampoline_self_life_support (with smart_holder) keeps the
// Python object alive for as long as C++ holds the backend.
class PyBackend : public Backend, public py::trampoline_self_life_support {
public:
    std::string name() const override { PYBIND11_OVERRIDE_PURE(std::string, Backend, name); }
    std::string version() const override { PYBIND11_OVERRIDE_PURE(std::string, Backend, version); }
    std::vector<std::string> capabilities() const override {
        PYBIND11_OVERRIDE_PURE(std::vector<std::string>, Backend, capabilities);
    }
    std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) override {
        py::gil_scoped_acquire gil;
        py::function override = py::get_override(static_cast<const Backend*>(this), "tokenize");
        if (!override) throw std::runtime_error("Python backend does not implement tokenize");
        auto ids = py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(
            override(py::str(text), add_special, parse_special));
        if (!ids || ids.ndim() != 1) throw std::runtime_error(name() + ".tokenize must return a 1-D array of ids");
        return {ids.data(), ids.data() + ids.shape(0)};
    }
    std::string token_piece(int32_t id) override {
        py::gil_scoped_acquire gil;
        py::function override = py::get_override(static_cast<const Backend*>(this), "token_piece");
        if (!override) throw std::runtime_error("Python backend does not implement token_piece");
        py::object piece = override(id);
        if (py::isinstance<py::bytes>(piece)) return piece.cast<std::string>();
        return py::str(piece).cast<std::string>();
    }
    int64_t vocab_size() override { PYBIND11_OVERRIDE_PURE(int64_t, Backend, vocab_size); }
    int32_t bos_id() override { PYBIND11_OVERRIDE_PURE(int32_t, Backend, bos_id); }
    Logits logits(const std::vector<int32_t>& ids) override {
        py::gil_scoped_acquire gil;
        py::function override = py::get_override(static_cast<const Backend*>(this), "logits");
        if (!override) throw std::runtime_error("Python backend does not implement logits");
        py::array_t<int32_t> id_array(static_cast<py::ssize_t>(ids.size()), ids.data());
        auto array = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(override(id_array));
        if (!array || array.ndim() != 2) throw std::runtime_error(name() + ".logits must return a 2-D float array");
        Logits out;
        out.data = array.data();
        out.rows = array.shape(0);
        out.vocab = array.shape(1);
        // The array is the owner; releasing it needs the GIL, wherever the last user is.
        out.owner = std::shared_ptr<const void>(new py::object(array), [](const void* p) {
            py::gil_scoped_acquire release_gil;
            delete static_cast<const py::object*>(p);
        });
        return out;
    }
};

// A Python callable held by the backend registry, a C++ static destroyed after the interpreter
// has finalized: released under the GIL while Python lives, deliberately leaked after (there
// is no GIL left to take, and the process is exiting).
std::shared_ptr<py::function> python_callable(py::function f) {
    return std::shared_ptr<py::function>(new py::function(std::move(f)), [](py::function* p) {
        if (!Py_IsInitialized()) return;
        py::gil_scoped_acquire gil;
        delete p;
    });
}

// {name: value}, by the one table of threshold names.
py::dict thresholds_dict(const dispatch::Thresholds& t) {
    py::dict d;
    for (const auto& f : dispatch::kThresholdFields) d[f.name] = t.*f.member;
    return d;
}

// {band: {name: value}}, the form run_crossval takes and default_thresholds gives.
py::dict policy_dict(const dispatch::ThresholdPolicy& policy) {
    py::dict d;
    for (const auto& b : dispatch::kThresholdBands) d[b.name] = thresholds_dict(policy.*b.member);
    return d;
}

dispatch::ThresholdPolicy policy_from(const py::dict& bands) {
    dispatch::ThresholdPolicy policy;
    for (auto [band, values] : bands)
        for (auto [name, value] : values.cast<py::dict>())
            dispatch::set_threshold(policy, band.cast<std::string>() + "." + name.cast<std::string>(), value.cast<double>());
    return policy;
}

dispatch::Thresholds thresholds_from(const py::dict& values) {
    dispatch::ThresholdPolicy policy;
    for (auto [name, value] : values) dispatch::set_threshold(policy, name.cast<std::string>(), value.cast<double>());
    return policy.same_arithmetic;
}

// Rows back from metrics_columns' dict (every column, checked for type and length).
std::vector<compare::PositionMetrics> metrics_from_columns(const py::dict& columns) {
    std::vector<compare::PositionMetrics> rows;
    bool sized = false;
    for_each_metric_column([&](const char* name, auto member) {
        using T = std::remove_cvref_t<decltype(rows[0].*member)>;
        if (!columns.contains(name)) throw py::value_error(std::string("metric columns lack ") + name);
        const auto values = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(columns[name]);
        if (!values || values.ndim() != 1) throw py::value_error(std::string("metric column ") + name + " must be 1-D");
        if (!sized) rows.resize(static_cast<size_t>(values.shape(0)));
        sized = true;
        if (static_cast<size_t>(values.shape(0)) != rows.size()) throw py::value_error("metric columns differ in length");
        for (size_t i = 0; i < rows.size(); ++i) rows[i].*member = values.data()[i];
    });
    return rows;
}

}  // namespace

void register_dispatch(py::module_& m) {
    // Factories registered from Python hold Python callables. They must go before the
    // interpreter does: a static registry outlives it, and destroying a Python object after
    // finalization crashes. So Python's atexit removes them.
    static std::vector<std::string> python_backends;
    py::module_::import("atexit").attr("register")(py::cpp_function([]() {
        for (const auto& name : python_backends) dispatch::unregister_backend(name);
        python_backends.clear();
    }));

    py::class_<Backend, PyBackend, py::smart_holder>(m, "Backend",
                                                             "Base class of every backend; subclass it in Python.")
        .def(py::init_alias<>())
        .def("name", &Backend::name)
        .def("version", &Backend::version)
        .def("capabilities", &Backend::capabilities)
        .def("vocab_size", &Backend::vocab_size)
        .def("bos_id", &Backend::bos_id);

    m.def(
        "register_backend",
        [](const std::string& name, py::function preflight, py::function create) {
            auto preflight_fn = python_callable(std::move(preflight));
            auto create_fn = python_callable(std::move(create));
            python_backends.push_back(name);
            dispatch::register_backend({name,
                                        [preflight_fn]() {
                                            py::gil_scoped_acquire gil;
                                            py::dict d = (*preflight_fn)();
                                            dispatch::Preflight p;
                                            p.available = d["available"].cast<bool>();
                                            p.version = d["version"].cast<std::string>();
                                            p.install_command = d["install_command"].cast<std::string>();
                                            p.detail = d["detail"].cast<std::string>();
                                            return p;
                                        },
                                        [create_fn](const std::string& path, const dispatch::BackendOptions& o) {
                                            py::gil_scoped_acquire gil;
                                            py::dict options;
                                            options["n_threads"] = o.n_threads;
                                            options["inject_fault"] = o.inject_fault;
                                            return (*create_fn)(path, options).cast<std::shared_ptr<Backend>>();
                                        }});
        },
        py::arg("name"), py::arg("preflight"), py::arg("create"));
    m.def("backend_names", &dispatch::backend_names);
    m.def("preflight_backend", [](const std::string& name) -> py::object {
        auto factory = dispatch::find_backend(name);
        if (!factory) return py::none();
        const auto p = factory->preflight();
        py::dict d;
        d["available"] = p.available;
        d["version"] = p.version;
        d["install_command"] = p.install_command;
        d["detail"] = p.detail;
        return d;
    });
    m.def(
        "create_backend",
        [](const std::string& name, const std::string& path, int n_threads, const std::string& inject_fault) {
            auto factory = dispatch::find_backend(name);
            if (!factory) throw py::key_error("no backend named " + name);
            return factory->create(path, {n_threads, inject_fault});
        },
        py::arg("name"), py::arg("path"), py::arg("n_threads") = 0, py::arg("inject_fault") = "");

    m.def(
        "odd_one_out",
        [](const std::vector<std::string>& labels, const std::vector<std::pair<size_t, size_t>>& diverged_pairs) {
            return dispatch::odd_one_out(labels, [&](size_t x, size_t y) {
                return std::find(diverged_pairs.begin(), diverged_pairs.end(), std::make_pair(x, y)) !=
                       diverged_pairs.end();
            });
        },
        py::arg("labels"), py::arg("diverged_pairs"),
        "The triangulation rule: the label whose every pair diverged while all others agreed ('' if none); "
        "diverged_pairs holds (x, y) index pairs with x < y.");
    m.def(
        "run_crossval",
        [](const std::vector<std::shared_ptr<Backend>>& backends, const std::vector<std::string>& labels,
           const std::vector<std::string>& texts, bool add_special, bool parse_special, const py::dict& thresholds, int top_k,
           int steps, int n_threads) {
            dispatch::CrossvalOptions options;
            options.add_special = add_special;
            options.parse_special = parse_special;
            options.top_k = top_k;
            options.steps = steps;
            options.n_threads = n_threads;
            options.thresholds = policy_from(thresholds);
            py::gil_scoped_release release;
            return dispatch::run_crossval(backends, texts, options, labels);
        },
        py::arg("backends"), py::arg("labels"), py::arg("texts"), py::arg("add_special"), py::arg("parse_special"),
        py::arg("thresholds"), py::arg("top_k") = 10, py::arg("steps") = 0, py::arg("n_threads") = 0,
        "Run the crossval pipeline; thresholds: {band: {name: value}} with band same-arithmetic | cross-precision.");
    m.def(
        "vocab_bridge",
        [](const std::vector<std::string>& pieces_a, const std::vector<std::string>& pieces_b) {
            const auto bridge = dispatch::build_vocab_bridge(pieces_a, pieces_b);
            py::dict d;
            d["identity"] = bridge.identity;
            d["a_to_b"] = py::array_t<int32_t>(static_cast<py::ssize_t>(bridge.a_to_b.size()), bridge.a_to_b.data());
            d["b_to_a"] = py::array_t<int32_t>(static_cast<py::ssize_t>(bridge.b_to_a.size()), bridge.b_to_a.data());
            d["unaligned_a"] = bridge.unaligned_a;
            d["unaligned_b"] = bridge.unaligned_b;
            d["ambiguous_a"] = bridge.ambiguous_a;
            d["ambiguous_b"] = bridge.ambiguous_b;
            return d;
        },
        py::arg("pieces_a"), py::arg("pieces_b"),
        "Pair the ids of two vocabularies (lists of token pieces as bytes) by piece.");
    m.attr("DEQUANTIZED_FLOAT32") = dispatch::kDequantizedFloat32;
    m.attr("FLOAT32_ARITHMETIC") = dispatch::kFloat32Arithmetic;
    m.def(
        "precision_class",
        [](const std::string& name_a, const std::vector<std::string>& a, const std::string& name_b,
           const std::vector<std::string>& b) {
            return std::string(dispatch::precision_class_name(dispatch::precision_class(name_a, a, name_b, b)));
        },
        py::arg("name_a"), py::arg("capabilities_a"), py::arg("name_b"), py::arg("capabilities_b"));
    m.def(
        "failed_checks",
        [](const py::dict& columns, const py::dict& thresholds) {
            const auto rows = metrics_from_columns(columns);
            const auto t = thresholds_from(thresholds);
            py::array_t<uint8_t> failed(static_cast<py::ssize_t>(rows.size()));
            for (size_t i = 0; i < rows.size(); ++i)
                failed.mutable_data()[i] = static_cast<uint8_t>(dispatch::failed_checks(rows[i], t));
            return failed;
        },
        py::arg("columns"), py::arg("thresholds"),
        "Per position, the thresholds it breaks as bits: 1 cosine, 2 NMSE, 4 KL, 8 top-1 (the crossval's rule).");
    m.def(
        "find_token_mismatch",
        [](std::shared_ptr<Backend> a, const std::string& label_a, const std::vector<int32_t>& ids_a,
           std::shared_ptr<Backend> b, const std::string& label_b, const std::vector<int32_t>& ids_b,
           const std::string& text, int window) {
            // Through the GIL-holding trampoline: Python backends answer token_piece.
            const dispatch::VocabBridge bridge =
                dispatch::build_vocab_bridge(dispatch::vocabulary_pieces(*a), dispatch::vocabulary_pieces(*b));
            const auto mismatch = dispatch::find_token_mismatch({*a, label_a, ids_a, text}, {*b, label_b, ids_b, text},
                                                                bridge, window);
            return mismatch;
        },
        py::arg("a"), py::arg("label_a"), py::arg("ids_a"), py::arg("b"), py::arg("label_b"), py::arg("ids_b"),
        py::arg("text") = "", py::arg("window") = 4,
        "The token-parity gate on two id sequences of one text: None, or where and most likely why they differ.");
    m.def(
        "thresholds",
        [](const std::map<std::string, double>& overrides) {
            dispatch::ThresholdPolicy policy;
            for (const auto& [key, value] : overrides) dispatch::set_threshold(policy, key, value);
            return policy_dict(policy);
        },
        py::arg("overrides") = std::map<std::string, double>{},
        "The thresholds per band, {band: {name: value}}: the defaults with overrides applied, each keyed "
        "NAME (both bands) or BAND.NAME. Unknown names raise ValueError.");
}

}  // namespace lockstep::bindings
