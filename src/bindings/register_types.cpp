#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/register.h"
#include "quant/types.h"

namespace py = pybind11;

namespace lockstep::bindings {

void register_types(py::module_& m) {
    // ggml_types() -> {name: (id, block_size, block_bytes)}; the Python side builds its
    // type lookups from this one table.
    m.def("ggml_types", []() {
        py::dict out;
        for (uint32_t id = 0; id < 64; ++id)
            if (auto t = type_traits(id)) out[py::str(std::string(t->name))] = py::make_tuple(id, t->block_size, t->block_bytes);
        return out;
    });
}

}  // namespace lockstep::bindings
