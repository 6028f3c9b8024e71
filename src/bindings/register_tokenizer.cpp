#include <memory>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/register.h"
#include "tokenizer/pre_families.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

using tokenizer::TokenId;
using tokenizer::Tokenizer;

py::array_t<int32_t> to_array(std::vector<TokenId>&& ids) {
    auto* owned = new std::vector<TokenId>(std::move(ids));
    py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<TokenId>*>(p); });
    return py::array_t<int32_t>({static_cast<py::ssize_t>(owned->size())}, {sizeof(int32_t)}, owned->data(), owner);
}

std::vector<TokenId> ids_from(const py::handle& ids) {
    // Any sequence of integers or a 1-D integer array.
    auto arr = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(ids);
    if (!arr || arr.ndim() != 1) throw py::type_error("ids must be a 1-D sequence of integers");
    std::vector<TokenId> out(static_cast<size_t>(arr.size()));
    const int64_t* data = arr.data();
    for (size_t i = 0; i < out.size(); ++i) {
        if (data[i] < INT32_MIN || data[i] > INT32_MAX)
            throw py::value_error("token id " + std::to_string(data[i]) + " is outside the vocabulary");
        out[i] = static_cast<TokenId>(data[i]);
    }
    return out;
}

py::object optional_id(TokenId id) { return id == tokenizer::kNoToken ? py::object(py::none()) : py::int_(id); }

// Encodes without the GIL: the tokenizer is immutable, and the text is our own copy.
py::array_t<int32_t> encode_released(const Tokenizer& t, const std::string& utf8, bool add_special, bool parse_special) {
    std::vector<TokenId> ids;
    {
        py::gil_scoped_release release;
        ids = t.encode(utf8, add_special, parse_special);
    }
    return to_array(std::move(ids));
}

}  // namespace

void register_tokenizer(py::module_& m) {
    py::register_exception<std::out_of_range>(m, "TokenIdError", PyExc_ValueError);

    py::class_<Tokenizer, std::shared_ptr<Tokenizer>>(m, "Tokenizer")
        .def_static(
            "from_file",
            [](const std::string& path) {
                py::gil_scoped_release release;
                return std::make_shared<Tokenizer>(Tokenizer::from_file(path));
            },
            py::arg("path"))
        .def(
            "encode",
            [](const Tokenizer& t, const py::str& text, bool add_special, bool parse_special) {
                std::string utf8;
                {
                    // Lone surrogates cannot be UTF-8: report them as invalid text.
                    PyObject* bytes = PyUnicode_AsEncodedString(text.ptr(), "utf-8", "surrogatepass");
                    if (!bytes) throw py::error_already_set();
                    utf8.assign(PyBytes_AS_STRING(bytes), static_cast<size_t>(PyBytes_GET_SIZE(bytes)));
                    Py_DECREF(bytes);
                }
                return encode_released(t, utf8, add_special, parse_special);
            },
            py::arg("text"), py::arg("add_special") = false, py::arg("parse_special") = false)
        .def(
            "encode_bytes",
            [](const Tokenizer& t, const py::bytes& text, bool add_special, bool parse_special) {
                return encode_released(t, std::string(text), add_special, parse_special);
            },
            py::arg("text"), py::arg("add_special") = false, py::arg("parse_special") = false)
        .def(
            "decode_bytes",
            [](const Tokenizer& t, const py::handle& ids, bool skip_special) {
                const auto v = ids_from(ids);
                std::string out;
                {
                    py::gil_scoped_release release;
                    out = t.decode(v, skip_special);
                }
                return py::bytes(out);
            },
            py::arg("ids"), py::arg("skip_special") = false)
        .def(
            "token_to_piece",
            [](const Tokenizer& t, int64_t id) {
                if (id < INT32_MIN || id > INT32_MAX) throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary");
                return py::bytes(t.token_to_piece(static_cast<TokenId>(id)));
            },
            py::arg("id"))
        .def("token_text",
             [](const Tokenizer& t, int64_t id) {
                 if (id < 0 || static_cast<size_t>(id) >= t.vocab_size())
                     throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary");
                 return t.vocab().tokens[static_cast<size_t>(id)];
             })
        .def("is_control", [](const Tokenizer& t, int64_t id) {
            if (id < INT32_MIN || id > INT32_MAX) throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary");
            return t.is_control(static_cast<TokenId>(id));
        })
        .def_property_readonly("vocab_size", &Tokenizer::vocab_size)
        .def_property_readonly("bos_id", [](const Tokenizer& t) { return optional_id(t.bos_id()); })
        .def_property_readonly("eos_id", [](const Tokenizer& t) { return optional_id(t.eos_id()); })
        .def_property_readonly("add_bos", [](const Tokenizer& t) { return t.add_bos(); })
        .def_property_readonly("add_eos", [](const Tokenizer& t) { return t.add_eos(); });

    // For tests of the pre-tokenizer against other regex engines.
    m.def(
        "pre_tokenizer_patterns",
        [](const std::string& family) {
            const auto f = tokenizer::pre_family(family);
            if (!f) throw py::value_error("unknown pre-tokenizer family '" + family + "'");
            std::vector<std::string> patterns;
            for (const auto& rule : f->splits) patterns.push_back(rule.pattern);
            return patterns;
        },
        py::arg("family"));
    m.def(
        "regex_split",
        [](const std::string& pattern, const std::string& text) {
            // `text` arrives as UTF-8 (pybind11 str -> std::string); split into isolated pieces.
            std::vector<std::string> out;
            py::gil_scoped_release release;  // compiling and matching touch only C++ data
            const tokenizer::PreTokenizer pre({{pattern, tokenizer::SplitBehavior::kIsolated, false}});
            const std::u32string cps = tokenizer::decode_utf8(text);
            std::vector<uint16_t> flags(cps.size());
            for (size_t i = 0; i < cps.size(); ++i) flags[i] = tokenizer::codepoint_flags(cps[i]);
            std::vector<tokenizer::Span> pieces{{0, static_cast<uint32_t>(cps.size())}};
            if (cps.empty()) pieces.clear();
            try {
                pre.split({cps.data(), flags.data(), cps.size()}, pieces);
            } catch (const tokenizer::RegexTooSlow& e) {
                throw py::value_error(e.what());
            }
            for (const auto& s : pieces) out.push_back(tokenizer::encode_utf8(std::u32string_view(cps).substr(s.begin, s.end - s.begin)));
            return out;
        },
        py::arg("pattern"), py::arg("text"));

    py::class_<tokenizer::StreamingDecoder>(m, "StreamingDecoder")
        .def(py::init([](std::shared_ptr<Tokenizer> t, bool skip_special) {
                 return new tokenizer::StreamingDecoder(*t, skip_special);
             }),
             py::arg("tokenizer"), py::arg("skip_special") = false, py::keep_alive<1, 2>())
        .def("push", [](tokenizer::StreamingDecoder& d, int64_t id) {
            if (id < INT32_MIN || id > INT32_MAX) throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary");
            return py::str(d.push(static_cast<TokenId>(id)));
        })
        .def("flush", [](tokenizer::StreamingDecoder& d) { return py::str(d.flush()); });
}

}  // namespace lockstep::bindings
