#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/numpy_views.h"
#include "bindings/register.h"
#include "formats/safetensors.h"

namespace py = pybind11;

namespace lockstep::bindings {

void register_safetensors(py::module_& m) {
    using safetensors::Checkpoint;
    using safetensors::TensorInfo;

    py::class_<Checkpoint>(m, "SafetensorsCheckpoint")
        .def_property_readonly("metadata", [](const Checkpoint& c) {
            py::dict out;
            for (const auto& [key, value] : c.metadata()) out[py::str(key)] = py::str(value);
            return out;
        })
        .def_property_readonly("files", &Checkpoint::files)
        // [(name, dtype, shape, nbytes, file, offset)] in file order.
        .def("tensor_infos", [](const Checkpoint& c) {
            py::list out;
            for (const TensorInfo& t : c.tensors())
                out.append(py::make_tuple(t.name, t.dtype, py::tuple(py::cast(t.shape)), t.nbytes, t.file->path(),
                                          t.offset));
            return out;
        })
        // A zero-copy read-only view of tensor `name` as `dtype` with `shape`, which must
        // span exactly the tensor's bytes; which dtype and shape is the caller's choice.
        .def("view", [](const Checkpoint& c, const std::string& name, const py::dtype& dtype,
                        const std::vector<py::ssize_t>& shape) {
            const TensorInfo* t = c.find(name);
            if (!t) throw py::key_error(name);
            uint64_t bytes = static_cast<uint64_t>(dtype.itemsize());
            for (py::ssize_t dim : shape)
                if (dim < 0 || __builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes))
                    throw py::value_error("invalid shape for tensor '" + name + "'");
            if (bytes != t->nbytes)
                throw py::value_error("tensor '" + name + "' holds " + std::to_string(t->nbytes) +
                                      " bytes; the requested view spans " + std::to_string(bytes));
            return mapped_view(t->file, t->offset, dtype, shape);
        }, py::arg("name"), py::arg("dtype"), py::arg("shape"));

    m.def("safetensors_open", [](const std::string& path) {
        py::gil_scoped_release release;  // header parsing and shard validation touch only C++ data
        return Checkpoint::open(path);
    }, py::arg("path"));
}

}  // namespace lockstep::bindings
