// lockstep._core.kernels: the compute kernels one by one, for tests that compare every
// instruction set against the scalar reference and the references against numpy/gguf.
#include <cstring>
#include <stdexcept>
#include <string>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/register.h"
#include "kernels/activation_formats.h"
#include "kernels/fp16.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul.h"
#include "quant/types.h"
#include "kernels/thread_pool.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using namespace lockstep::kernels;

const KernelTable& table(const std::string& isa) {
    try {
        return kernel_table(compiled_isa(isa));
    } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
    }
}

ActivationFormat parse_format(const std::string& name) {
    if (name == "f32") return ActivationFormat::F32;
    if (name == "q8_0") return ActivationFormat::Q8_0;
    if (name == "q8_1") return ActivationFormat::Q8_1;
    if (name == "q8_k") return ActivationFormat::Q8_K;
    if (name == "i8") return ActivationFormat::I8;
    throw py::value_error("unknown activation format '" + name + "'");
}

FloatArray like(const FloatArray& x) { return FloatArray(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim())); }

}  // namespace

void register_kernels(py::module_& parent) {
    auto m = parent.def_submodule("kernels", "Compute kernels, exposed one by one for testing.");

    m.def("compiled_isas", [] {
        std::vector<std::string> out;
        for (Isa isa : compiled_isas()) out.emplace_back(isa_name(isa));
        return out;
    });
    m.def("supported_isas", [] {
        std::vector<std::string> out;
        for (Isa isa : compiled_isas())
            if (cpu_supports(isa)) out.emplace_back(isa_name(isa));
        return out;
    });
    m.def("best_isa", [] { return std::string(isa_name(best_isa())); });
    m.def("default_isa", [] { return std::string(isa_name(default_isa())); },
          "The table used when none is named: LOCKSTEP_ISA if set, else the best this CPU supports.");

    m.def(
        "matmul",
        [](const std::string& isa, const std::string& type_name, py::array_t<uint8_t, py::array::c_style> weight,
           int64_t rows, int64_t cols, FloatArray x, float scale, int n_threads) {
            const auto traits = type_traits_by_name(type_name);
            if (!traits) throw py::value_error("unknown ggml type '" + type_name + "'");
            if (x.ndim() != 2 || x.shape(1) != cols) throw py::value_error("x must be [n_tokens, cols]");
            if (rows <= 0 || cols <= 0 || cols % traits->block_size != 0)
                throw py::value_error("cols must be a positive multiple of the block size");
            WeightMatrix w{traits->type, rows, cols, weight.data(),
                           static_cast<uint64_t>(cols) / traits->block_size * traits->block_bytes, scale};
            if (static_cast<uint64_t>(weight.size()) < w.row_bytes * static_cast<uint64_t>(rows))
                throw py::value_error("weight holds fewer bytes than rows x row bytes");
            if (!matmul_supports(w.type)) throw py::value_error("matmul does not support " + type_name);
            const KernelTable& k = table(isa);
            FloatArray y({x.shape(0), static_cast<py::ssize_t>(rows)});
            const MatmulOutput out{&w, y.mutable_data()};
            const float* activations = x.data();
            const int64_t n_tokens = x.shape(0);
            {
                py::gil_scoped_release release;  // the arrays stay referenced by this call's arguments
                ThreadPool pool(n_threads);
                std::vector<uint8_t> scratch;
                matmul(k, pool, activations, n_tokens, {&out, 1}, scratch);
            }
            return y;
        },
        py::arg("isa"), py::arg("weight_type"), py::arg("weight"), py::arg("rows"), py::arg("cols"), py::arg("x"),
        py::arg("scale") = 1.0f, py::arg("n_threads") = 1);

    m.def(
        "row_dot",
        [](const std::string& isa, const std::string& type_name, py::array_t<uint8_t, py::array::c_style> weight_row,
           FloatArray x) {
            const auto traits = type_traits_by_name(type_name);
            if (!traits || !matmul_supports(traits->type)) throw py::value_error("row_dot does not support " + type_name);
            const int64_t n = x.ndim() == 1 ? x.shape(0) : -1;
            if (n <= 0 || n % traits->block_size != 0) throw py::value_error("x must be 1-d, a multiple of the block size");
            if (static_cast<uint64_t>(weight_row.size()) < static_cast<uint64_t>(n) / traits->block_size * traits->block_bytes)
                throw py::value_error("weight_row holds fewer bytes than one row of x's width");
            return row_dot_floats(table(isa), traits->type, weight_row.data(), x.data(), n);
        },
        py::arg("isa"), py::arg("weight_type"), py::arg("weight_row"), py::arg("x"),
        "The table's dot of one weight row with one activation row (quantized as matmul does), without tiling.");

    m.def("quantize_activations", [](const std::string& isa, const std::string& format_name, FloatArray x) {
        const auto format = parse_format(format_name);
        const int64_t block = format == ActivationFormat::Q8_K ? QK_K : (format == ActivationFormat::I8 ? 1 : QK8_0);
        if (x.ndim() != 1 || x.shape(0) % block != 0) throw py::value_error("x must be 1-d, a whole number of blocks");
        py::array_t<uint8_t> out(static_cast<py::ssize_t>(activation_row_bytes(format, x.shape(0))));
        const KernelTable& k = table(isa);
        switch (format) {
            case ActivationFormat::F32: std::memcpy(out.mutable_data(), x.data(), x.nbytes()); break;
            case ActivationFormat::Q8_0: k.quantize_q8_0(x.data(), out.mutable_data(), x.shape(0)); break;
            case ActivationFormat::Q8_1: k.quantize_q8_1(x.data(), out.mutable_data(), x.shape(0)); break;
            case ActivationFormat::Q8_K: k.quantize_q8_k(x.data(), out.mutable_data(), x.shape(0)); break;
            case ActivationFormat::I8: k.quantize_i8(x.data(), out.mutable_data(), x.shape(0)); break;
        }
        return out;
    });

    m.def("rms_norm", [](const std::string& isa, FloatArray x, FloatArray w, float eps) {
        if (x.ndim() != 1 || w.ndim() != 1 || x.shape(0) != w.shape(0)) throw py::value_error("x and w: same 1-d length");
        auto y = like(x);
        table(isa).rms_norm(x.data(), w.data(), eps, y.mutable_data(), x.shape(0));
        return y;
    });
    m.def("softmax", [](const std::string& isa, FloatArray x) {
        if (x.ndim() != 1 || x.shape(0) == 0) throw py::value_error("x must be 1-d and not empty");
        FloatArray y = like(x);
        std::memcpy(y.mutable_data(), x.data(), x.nbytes());
        table(isa).softmax(y.mutable_data(), y.shape(0));
        return y;
    });
    m.def("axpy", [](const std::string& isa, float a, FloatArray x, FloatArray y) {
        if (x.ndim() != 1 || y.ndim() != 1 || x.shape(0) != y.shape(0)) throw py::value_error("x and y: same 1-d length");
        FloatArray out = like(y);
        std::memcpy(out.mutable_data(), y.data(), y.nbytes());
        table(isa).axpy(a, x.data(), out.mutable_data(), x.shape(0));
        return out;
    });
    // Keys / values as [count, stride] rows of which the first n = len(query) (or n) are used.
    m.def("attention_scores", [](const std::string& isa, FloatArray query, FloatArray keys, float scale) {
        if (query.ndim() != 1 || keys.ndim() != 2 || keys.shape(1) < query.shape(0))
            throw py::value_error("query [n] and keys [count, stride >= n]");
        FloatArray scores(keys.shape(0));
        table(isa).attention_scores(query.data(), keys.data(), keys.shape(1), keys.shape(0), query.shape(0), scale,
                                    scores.mutable_data());
        return scores;
    });
    m.def("attention_values", [](const std::string& isa, FloatArray weights, FloatArray values, int64_t n) {
        if (weights.ndim() != 1 || values.ndim() != 2 || values.shape(0) != weights.shape(0) || n < 0 || values.shape(1) < n)
            throw py::value_error("weights [count] and values [count, stride >= n]");
        FloatArray out(n);
        table(isa).attention_values(weights.data(), values.data(), values.shape(1), values.shape(0), n, out.mutable_data());
        return out;
    });
    for (const char* name : {"silu_mul", "relu2_mul", "gelu_tanh_mul"}) {
        const std::string which = name;
        m.def(name, [which](const std::string& isa, FloatArray gate, FloatArray up) {
            if (gate.ndim() != 1 || up.ndim() != 1 || gate.shape(0) != up.shape(0))
                throw py::value_error("gate and up: same 1-d length");
            FloatArray out = like(gate);
            const KernelTable& k = table(isa);
            const auto kernel = which == "silu_mul" ? k.silu_mul : which == "relu2_mul" ? k.relu2_mul : k.gelu_tanh_mul;
            kernel(gate.data(), up.data(), out.mutable_data(), gate.shape(0));
            return out;
        });
    }
    m.def("rope", [](const std::string& isa, FloatArray head, FloatArray cos, FloatArray sin, int64_t n_rot,
                     const std::string& layout) {
        if (head.ndim() != 1 || n_rot % 2 != 0 || n_rot > head.shape(0) || cos.size() != n_rot / 2 || sin.size() != n_rot / 2)
            throw py::value_error("rope: head [d], cos and sin [n_rot/2], n_rot even and <= d");
        if (layout != "interleaved" && layout != "neox") throw py::value_error("layout: 'interleaved' or 'neox'");
        FloatArray out = like(head);
        std::memcpy(out.mutable_data(), head.data(), head.nbytes());
        table(isa).rope(out.mutable_data(), cos.data(), sin.data(), n_rot,
                        layout == "neox" ? RopeLayout::Neox : RopeLayout::Interleaved);
        return out;
    });

    m.def("fp16_to_fp32", [](py::array_t<uint16_t, py::array::c_style> h) {
        py::array_t<float> out(h.size());
        for (py::ssize_t i = 0; i < h.size(); ++i) out.mutable_data()[i] = fp16_to_fp32(h.data()[i]);
        return out;
    });
    m.def("fp32_to_fp16", [](FloatArray f) {
        py::array_t<uint16_t> out(f.size());
        for (py::ssize_t i = 0; i < f.size(); ++i) out.mutable_data()[i] = fp32_to_fp16(f.data()[i]);
        return out;
    });
}

}  // namespace lockstep::bindings
