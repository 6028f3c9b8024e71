// The native backend in the dispatcher's registry, and the catalogue of faults.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/register.h"
#include "dispatch/native_backend.h"
#include "kernels/matmul.h"
#include "model/config.h"
#include "model/faults.h"
#include "quant/types.h"

namespace py = pybind11;

namespace lockstep::bindings {

void register_native_backend(py::module_& m) {
    dispatch::register_native_backend();

    m.def("engine_version", &dispatch::engine_version, "\"lockstep X.Y.Z\": the version this engine was built as.");

    m.def(
        "fault_catalogue",
        []() {
            std::vector<std::pair<std::string, std::string>> out;
            for (const auto& f : model::kFaults) out.emplace_back(std::string(f.name), std::string(f.description));
            return out;
        },
        "(name, description) of every fault the native engine can inject.");

    m.def(
        "native_support",
        []() {
            py::dict out;
            std::vector<std::string> names, types, dtypes;
            for (const auto& entry : model::kArchitectureNames) names.emplace_back(entry.name);
            for (uint32_t id = 0; id < 64; ++id) {
                const auto traits = type_traits(id);
                if (traits && kernels::matmul_supports(static_cast<GGMLType>(id))) types.emplace_back(traits->name);
            }
            for (auto dtype : model::kSafetensorsDtypes) dtypes.emplace_back(dtype);
            out["architectures"] = names;
            out["ggml_types"] = types;
            out["safetensors_dtypes"] = dtypes;
            py::dict activations;
            for (const auto& entry : model::kArchitectureNames)
                activations[py::str(std::string(entry.name))] = std::string(model::ffn_activation_name(entry.gguf_activation));
            out["gguf_ffn_activations"] = activations;
            out["ffn_activation_key"] = std::string(model::kFfnActivationKey);
            return out;
        },
        "What the native engine runs: architecture names (GGUF general.architecture and config.json "
        "model_type), the ggml types its matmul reads, the safetensors dtypes it reads, the feed-forward "
        "activation of each GGUF architecture and the GGUF key that overrides it.");
}

}  // namespace lockstep::bindings
