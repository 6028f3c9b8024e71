#include <pybind11/pybind11.h>

#include "bindings/register.h"
#include "formats/errors.h"

namespace py = pybind11;

namespace lockstep::bindings {

void register_errors(py::module_& m) {
    // lockstep.FormatError(ValueError) carries .path, .offset (None when not tied to a
    // place) and .reason besides the full message.
    PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<py::object> storage;
    storage.call_once_and_store_result([&]() {
        return py::reinterpret_steal<py::object>(
            PyErr_NewException("lockstep._core.FormatError", PyExc_ValueError, nullptr));
    });
    m.attr("FormatError") = storage.get_stored();
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const FormatError& e) {
            py::object cls = storage.get_stored();
            py::object inst = cls(e.what());
            inst.attr("path") = e.path();
            inst.attr("offset") = e.offset() == FormatError::kNoOffset ? py::object(py::none()) : py::object(py::int_(e.offset()));
            inst.attr("reason") = e.reason();
            PyErr_SetObject(cls.ptr(), inst.ptr());
        }
    });
}

}  // namespace lockstep::bindings
