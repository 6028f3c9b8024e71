#include "bindings/register.h"

PYBIND11_MODULE(_core, m) {
    m.doc() = "lockstep's compiled core. Use the `lockstep` package, not this module.";
    lockstep::bindings::register_errors(m);
    lockstep::bindings::register_types(m);
    lockstep::bindings::register_gguf(m);
    lockstep::bindings::register_tokenizer(m);
}
