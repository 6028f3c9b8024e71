// Per-position metrics as Python columns: {name: np.ndarray[positions]}, each a read-only
// strided view into the rows (no copy); `base` keeps the rows alive.
#pragma once

#include <memory>
#include <type_traits>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "compare/metrics.h"

namespace lockstep::bindings {

// The one list of metric columns, in the order Python shows them (lockstep.dispatch.metrics.METRICS).
template <class F>
void for_each_metric_column(F&& f) {
    using M = compare::PositionMetrics;
    f("cosine", &M::cosine);
    f("max_abs_diff", &M::max_abs_diff);
    f("nmse", &M::nmse);
    f("kl", &M::kl);
    f("top1_a", &M::top1_a);
    f("top1_b", &M::top1_b);
    f("top1_margin", &M::top1_margin);
    f("topk_overlap", &M::topk_overlap);
    f("kendall_tau", &M::kendall_tau);
    f("p_next_a", &M::p_next_a);
    f("p_next_b", &M::p_next_b);
    f("nll_a", &M::nll_a);
    f("nll_b", &M::nll_b);
}

inline pybind11::tuple metric_column_names() {
    pybind11::list names;
    for_each_metric_column([&](const char* name, auto) { names.append(name); });
    return pybind11::tuple(names);
}

// rows must outlive `base` (rows belong to the object `base` refers to).
inline pybind11::dict metrics_columns(const std::vector<compare::PositionMetrics>& rows, const pybind11::handle& base) {
    namespace py = pybind11;
    py::dict out;
    const auto n = static_cast<py::ssize_t>(rows.size());
    constexpr auto stride = static_cast<py::ssize_t>(sizeof(compare::PositionMetrics));
    // An empty vector has no row to point into; numpy still wants a valid pointer.
    static const compare::PositionMetrics no_rows[1]{};
    const compare::PositionMetrics* first = rows.empty() ? no_rows : rows.data();
    for_each_metric_column([&](const char* key, auto member) {
        using T = std::remove_cvref_t<decltype(first->*member)>;
        py::array view(py::dtype::of<T>(), {n}, {stride}, &(first->*member), base);
        py::detail::array_proxy(view.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
        out[key] = view;
    });
    return out;
}

// Columns over rows the caller hands over: the views' base owns them.
inline pybind11::dict metrics_columns(std::vector<compare::PositionMetrics> rows) {
    auto* owned = new std::vector<compare::PositionMetrics>(std::move(rows));
    pybind11::capsule base(owned, [](void* p) { delete static_cast<std::vector<compare::PositionMetrics>*>(p); });
    return metrics_columns(*owned, base);
}

}  // namespace lockstep::bindings
