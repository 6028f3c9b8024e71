#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <span>
#include <stdexcept>

#include "bindings/register.h"
#include "quant/quant.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

GGMLType known_type(uint32_t id) {
    if (!type_traits(id)) throw std::invalid_argument("unknown ggml type id " + std::to_string(id));
    return static_cast<GGMLType>(id);
}

using Bytes = py::array_t<uint8_t, py::array::c_style>;
using Floats = py::array_t<float, py::array::c_style>;

}  // namespace

void register_quant(py::module_& m) {
    // dequantize(raw: uint8[bytes], type_id, n_elements, row_length) -> float32[n_elements]
    m.def(
        "dequantize",
        [](const Bytes& raw, uint32_t type_id, uint64_t n_elements, int64_t row_length) {
            const GGMLType type = known_type(type_id);
            if (!can_dequantize(type)) throw std::invalid_argument("cannot dequantize " + std::string(type_traits(type_id)->name));
            // Sizes are checked before the output is allocated.
            check_tensor_bytes(type, n_elements, row_length, static_cast<uint64_t>(raw.size()));
            Floats out(static_cast<py::ssize_t>(n_elements));
            std::span<const uint8_t> src(raw.data(), static_cast<size_t>(raw.size()));
            std::span<float> dst(out.mutable_data(), static_cast<size_t>(n_elements));
            {
                py::gil_scoped_release release;
                dequantize_tensor(type, src, dst, row_length);
            }
            return out;
        },
        py::arg("raw"), py::arg("type_id"), py::arg("n_elements"), py::arg("row_length"));

    // quantize(values: float32[n], type_id, row_length) -> uint8[tensor bytes]
    m.def(
        "quantize",
        [](const Floats& values, uint32_t type_id, int64_t row_length) {
            const GGMLType type = known_type(type_id);
            if (!can_quantize(type)) throw std::invalid_argument("cannot quantize to " + std::string(type_traits(type_id)->name));
            const uint64_t bytes = tensor_bytes_checked(type, static_cast<uint64_t>(values.size()), row_length);
            Bytes out(static_cast<py::ssize_t>(bytes));
            std::span<const float> src(values.data(), static_cast<size_t>(values.size()));
            std::span<uint8_t> dst(out.mutable_data(), static_cast<size_t>(bytes));
            {
                py::gil_scoped_release release;
                quantize_tensor(type, src, dst, row_length);
            }
            return out;
        },
        py::arg("values"), py::arg("type_id"), py::arg("row_length"));

    // quant_support() -> {type_id: (can_dequantize, can_quantize)} for the supported types.
    m.def("quant_support", []() {
        py::dict out;
        for (uint32_t id = 0; id < 64; ++id) {
            if (!type_traits(id)) continue;
            const auto type = static_cast<GGMLType>(id);
            if (can_dequantize(type) || can_quantize(type)) out[py::int_(id)] = py::make_tuple(can_dequantize(type), can_quantize(type));
        }
        return out;
    });
}

}  // namespace lockstep::bindings
