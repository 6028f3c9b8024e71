// One register_* function per concept; module.cpp calls them all. No logic lives here.
#pragma once

#include <pybind11/pybind11.h>

namespace lockstep::bindings {

void register_errors(pybind11::module_& m);
void register_types(pybind11::module_& m);
void register_kernels(pybind11::module_& m);
void register_model(pybind11::module_& m);
void register_results(pybind11::module_& m);
void register_compare(pybind11::module_& m);
void register_dispatch(pybind11::module_& m);
void register_gguf(pybind11::module_& m);
void register_safetensors(pybind11::module_& m);
void register_quant(pybind11::module_& m);
void register_tokenizer(pybind11::module_& m);
void register_native_backend(pybind11::module_& m);
void register_sampling(pybind11::module_& m);

}  // namespace lockstep::bindings
