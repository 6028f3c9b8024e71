#include "bindings/register.h"

PYBIND11_MODULE(_core, m) {
    m.doc() = "lockstep's compiled core. Use the `lockstep` package, not this module.";
    lockstep::bindings::register_errors(m);
    lockstep::bindings::register_types(m);
    lockstep::bindings::register_kernels(m);
    // Classes before the functions and properties that take or return them (their signatures
    // name them): the tokenizer before the model that holds one.
    lockstep::bindings::register_tokenizer(m);
    lockstep::bindings::register_model(m);
    lockstep::bindings::register_results(m);
    lockstep::bindings::register_compare(m);
    lockstep::bindings::register_dispatch(m);
    lockstep::bindings::register_gguf(m);
    lockstep::bindings::register_safetensors(m);
    lockstep::bindings::register_quant(m);
    lockstep::bindings::register_native_backend(m);
    lockstep::bindings::register_sampling(m);
}
