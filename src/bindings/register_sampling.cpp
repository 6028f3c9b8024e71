// lockstep._core.Sampler: the sampler chain (src/sampling/sampler.h) on a numpy row of
// logits, read in place: a float32 C-contiguous row is required, never copied or converted.
#include <string>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/register.h"
#include "sampling/sampler.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

using Ids = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

std::span<const float> logit_row(const py::array& logits) {
    if (!logits.dtype().is(py::dtype::of<float>()))
        throw py::type_error("logits must be float32, got " + std::string(py::str(logits.dtype())));
    if (logits.ndim() != 1) throw py::value_error("logits must be one row [n_vocab], got " + std::to_string(logits.ndim()) + " dimensions");
    if (!(logits.flags() & py::array::c_style)) throw py::value_error("logits must be contiguous");
    return {static_cast<const float*>(logits.data()), static_cast<size_t>(logits.shape(0))};
}

std::span<const int32_t> id_span(const Ids& ids) {
    if (ids.ndim() != 1) throw py::value_error("history must be a 1-d sequence of token ids");
    return {ids.data(), static_cast<size_t>(ids.shape(0))};
}

}  // namespace

void register_sampling(py::module_& m) {
    py::class_<sampling::Sampler>(m, "Sampler")
        .def(py::init([](double temperature, int32_t top_k, double top_p, double min_p, double repeat_penalty,
                         double presence_penalty, double frequency_penalty, int32_t penalty_last_n, uint64_t seed) {
                 return sampling::Sampler(sampling::Settings{temperature, top_k, top_p, min_p, repeat_penalty,
                                                             presence_penalty, frequency_penalty, penalty_last_n, seed});
             }),
             py::arg("temperature") = 0.0, py::arg("top_k") = 0, py::arg("top_p") = 1.0, py::arg("min_p") = 0.0,
             py::arg("repeat_penalty") = 1.0, py::arg("presence_penalty") = 0.0, py::arg("frequency_penalty") = 0.0,
             py::arg("penalty_last_n") = 64, py::arg("seed") = 0)
        .def(
            "sample",
            [](sampling::Sampler& self, const py::array& logits, const Ids& history) {
                const auto row = logit_row(logits);
                const auto seen = id_span(history);
                py::gil_scoped_release release;
                return self.sample(row, seen);
            },
            py::arg("logits"), py::arg("history"))
        .def(
            "probabilities",
            // Dense [n_vocab] float64: the chain's distribution, 0 for every token it removed.
            [](const sampling::Sampler& self, const py::array& logits, const Ids& history) {
                const auto row = logit_row(logits);
                const auto seen = id_span(history);
                py::array_t<double> out(static_cast<py::ssize_t>(row.size()));
                std::vector<sampling::Candidate> kept;
                {
                    py::gil_scoped_release release;
                    kept = self.candidates(row, seen);
                }
                const std::vector<double> p = sampling::probabilities(kept);
                double* dense = out.mutable_data();
                std::fill(dense, dense + row.size(), 0.0);
                for (size_t i = 0; i < kept.size(); ++i) dense[kept[i].id] = p[i];
                return out;
            },
            py::arg("logits"), py::arg("history"));
}

}  // namespace lockstep::bindings
