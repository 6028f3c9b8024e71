// Per-position metrics as Python columns: {name: np.ndarray[positions]}.
#pragma once

#include <type_traits>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "compare/metrics.h"

namespace lockstep::bindings {

inline pybind11::dict metrics_columns(const std::vector<compare::PositionMetrics>& rows) {
    namespace py = pybind11;
    py::dict out;
    const auto n = static_cast<py::ssize_t>(rows.size());
    auto column = [&](const char* key, auto member) {
        using T = std::remove_cvref_t<decltype(rows[0].*member)>;
        py::array_t<T> values(n);
        for (py::ssize_t i = 0; i < n; ++i) values.mutable_data()[i] = rows[i].*member;
        out[key] = values;
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

}  // namespace lockstep::bindings
