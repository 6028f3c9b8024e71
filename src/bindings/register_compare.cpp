#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/register.h"
#include "compare/metrics.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

using FloatRows = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Ids = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

// Returns the metrics as columns: {name: np.ndarray[n_rows]}.
py::dict compare_logits(const FloatRows& a, const FloatRows& b, const std::optional<Ids>& next_tokens, int top_k,
                        int n_threads) {
    if (a.ndim() != 2 || b.ndim() != 2) throw py::value_error("logits must be 2-D [positions, vocab]");
    if (a.shape(0) != b.shape(0) || a.shape(1) != b.shape(1))
        throw py::value_error("logits have different shapes: [" + std::to_string(a.shape(0)) + ", " +
                              std::to_string(a.shape(1)) + "] vs [" + std::to_string(b.shape(0)) + ", " +
                              std::to_string(b.shape(1)) + "]");
    if (a.shape(1) == 0) throw py::value_error("logits have an empty vocabulary axis");
    std::span<const int32_t> next;
    if (next_tokens) {
        if (next_tokens->ndim() != 1 || next_tokens->shape(0) != a.shape(0))
            throw py::value_error("next_tokens must be 1-D with one id per position");
        next = {next_tokens->data(), static_cast<size_t>(next_tokens->shape(0))};
    }
    std::vector<compare::PositionMetrics> rows;
    {
        py::gil_scoped_release release;
        rows = compare::compare_logits(a.data(), b.data(), a.shape(0), a.shape(1), next, {top_k, n_threads});
    }
    const auto n = static_cast<py::ssize_t>(rows.size());
    py::dict out;
    auto column = [&](const char* name, auto member) {
        using T = std::remove_cvref_t<decltype(rows[0].*member)>;
        py::array_t<T> values(n);
        auto* dst = values.mutable_data();
        for (py::ssize_t i = 0; i < n; ++i) dst[i] = rows[i].*member;
        out[name] = values;
    };
    using M = compare::PositionMetrics;
    column("cosine", &M::cosine);
    column("max_abs_diff", &M::max_abs_diff);
    column("nmse", &M::nmse);
    column("kl", &M::kl);
    column("top1_a", &M::top1_a);
    column("top1_b", &M::top1_b);
    column("top1_margin", &M::top1_margin);
    column("topk_overlap", &M::topk_overlap);
    column("kendall_tau", &M::kendall_tau);
    column("p_next_a", &M::p_next_a);
    column("p_next_b", &M::p_next_b);
    column("nll_a", &M::nll_a);
    column("nll_b", &M::nll_b);
    return out;
}

}  // namespace

void register_compare(py::module_& m) {
    m.def("compare_logits", &compare_logits, py::arg("a"), py::arg("b"), py::arg("next_tokens") = py::none(),
          py::arg("top_k") = 10, py::arg("n_threads") = 0);
}

}  // namespace lockstep::bindings
