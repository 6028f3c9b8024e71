#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/metrics_columns.h"
#include "bindings/register.h"
#include "compare/metrics.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

using FloatRows = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Ids = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

// Returns the metrics as columns: {name: np.ndarray[n_rows]}.
py::dict compare_logits(const FloatRows& a, const FloatRows& b, const std::optional<Ids>& next_tokens, int top_k,
                        int n_threads, const std::string& isa) {
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
    compare::Options options{top_k, n_threads, std::nullopt};
    if (!isa.empty()) options.isa = kernels::compiled_isa(isa);
    std::vector<compare::PositionMetrics> rows;
    {
        py::gil_scoped_release release;
        rows = compare::compare_logits(a.data(), b.data(), a.shape(0), a.shape(1), next, options);
    }
    return metrics_columns(std::move(rows));
}

}  // namespace

void register_compare(py::module_& m) {
    m.def("compare_logits", &compare_logits, py::arg("a"), py::arg("b"), py::arg("next_tokens") = py::none(),
          py::arg("top_k") = 10, py::arg("n_threads") = 0, py::arg("isa") = "");
}

}  // namespace lockstep::bindings
