#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/numpy_views.h"
#include "bindings/register.h"
#include "formats/gguf.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

using gguf::Value;
using gguf::ValueType;

// numpy dtype of a fixed-size GGUF value type (all little-endian in the file).
const char* numpy_format(ValueType t) {
    switch (t) {
        case ValueType::UINT8: return "<u1";
        case ValueType::INT8: return "<i1";
        case ValueType::UINT16: return "<u2";
        case ValueType::INT16: return "<i2";
        case ValueType::UINT32: return "<u4";
        case ValueType::INT32: return "<i4";
        case ValueType::UINT64: return "<u8";
        case ValueType::INT64: return "<i8";
        case ValueType::FLOAT32: return "<f4";
        case ValueType::FLOAT64: return "<f8";
        case ValueType::BOOL: return "?";  // the reader guarantees 0 or 1
        case ValueType::STRING: case ValueType::ARRAY: break;
    }
    throw std::logic_error("no numpy dtype for GGUF type " + std::string(gguf::value_type_name(t)));
}

py::str to_str(std::string_view s) { return {s.data(), s.size()}; }  // UTF-8 validated by the reader

// Scalars as Python scalars, numeric arrays as (small) numpy copies, string arrays as
// lists of str, nested arrays as lists.
py::object to_python(const Value& v) {
    const ValueType t = v.type();
    if (gguf::is_unsigned_integer(t)) return py::int_(v.unsigned_value());
    if (gguf::is_signed_integer(t)) return py::int_(v.signed_value());
    if (gguf::is_float(t)) return py::float_(v.float_value());
    if (t == ValueType::BOOL) return py::bool_(v.bool_value());
    if (t == ValueType::STRING) return to_str(v.string_value());
    if (v.element_type() == ValueType::STRING) {
        const auto& items = v.strings();
        py::list out(items.size());
        for (size_t i = 0; i < items.size(); ++i) out[i] = to_str(items[i]);
        return out;
    }
    if (v.element_type() == ValueType::ARRAY) {
        const auto& items = v.arrays();
        py::list out(items.size());
        for (size_t i = 0; i < items.size(); ++i) out[i] = to_python(items[i]);
        return out;
    }
    const gguf::NumberArray& a = v.numbers();
    py::array out(py::dtype(numpy_format(a.element_type)), std::vector<py::ssize_t>{static_cast<py::ssize_t>(a.count)});
    if (a.count > 0) std::memcpy(out.mutable_data(), a.data, a.count * gguf::value_type_size(a.element_type));
    return out;
}

}  // namespace

void register_gguf(py::module_& m) {
    using gguf::File;
    py::class_<File, std::shared_ptr<File>>(m, "GGUFFile",
                                            "A validated GGUF file; use lockstep.gguf.open, which wraps this.")
        .def_property_readonly("path", &File::path)
        .def_property_readonly("version", &File::version)
        .def_property_readonly("alignment", &File::alignment)
        .def_property_readonly("data_offset", &File::data_offset)
        .def("metadata",
             [](const File& f) {
                 py::dict out;
                 for (const auto& [key, value] : f.metadata()) out[py::str(key)] = to_python(value);
                 return out;
             })
        .def("metadata_types",
             [](const File& f) {
                 py::dict out;
                 for (const auto& [key, value] : f.metadata()) out[py::str(key)] = value.type_name();
                 return out;
             })
        // The typed lookups of the C++ API (None or [] when absent, FormatError when mistyped).
        .def("get_string", &File::get_string, py::arg("key"))
        .def("get_uint", &File::get_uint, py::arg("key"))
        .def("get_float", &File::get_float, py::arg("key"))
        .def("get_bool", &File::get_bool, py::arg("key"))
        .def("get_strings", &File::get_strings, py::arg("key"))
        .def("get_floats", &File::get_floats, py::arg("key"))
        .def("get_ints", &File::get_ints, py::arg("key"))
        // (name, ggml type name, ne in ggml order, absolute offset, nbytes, n_elements)
        .def("tensor_infos",
             [](const File& f) {
                 py::list out;
                 for (const auto& t : f.tensors())
                     out.append(py::make_tuple(t.name, std::string(t.type.name), py::tuple(py::cast(t.ne)), t.offset,
                                               t.nbytes, t.n_elements));
                 return out;
             })
        // The tensor's bytes as a zero-copy read-only uint8 view whose base keeps the map alive.
        .def("tensor_bytes", [](const File& f, const std::string& name) {
            const gguf::TensorInfo* t = f.tensor(name);
            if (t == nullptr) throw py::key_error(name);
            return mapped_view(f.file(), t->offset, py::dtype("u1"), {static_cast<py::ssize_t>(t->nbytes)});
        });

    m.def(
        "gguf_open",
        [](const std::string& path) {
            py::gil_scoped_release release;  // parsing a large vocabulary takes a while
            return std::make_shared<File>(File::open(path));
        },
        py::arg("path"));
}

}  // namespace lockstep::bindings
