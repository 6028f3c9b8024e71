"""Fuzz target: lockstep's GGUF reader (header, metadata, tensor infos, tensor views).

Bad input must raise lockstep.FormatError; a file that opens must let every metadata value,
typed lookup and tensor view be read without a crash (a view's first and last byte are touched).
"""


import atheris
from _harness import main, outcome, write_file

# Python coverage from the modules that parse this input (instrumenting the whole package slows the start).
INSTRUMENTED = ["lockstep.formats"]
with atheris.instrument_imports(include=INSTRUMENTED):
    from lockstep.errors import FormatError
    from lockstep.formats import gguf

_GETTERS = ("get_string", "get_uint", "get_float", "get_bool", "get_strings", "get_floats", "get_ints")


def test_one_input(data: bytes) -> None:
    path = write_file("input.gguf", data)
    try:
        model = gguf.open(path)
    except FormatError as error:
        outcome(error.reason)
        return
    types = sorted({info.ggml_type.name for info in model.tensor_infos})
    outcome(f"ok v{model.version} {len(model.tensor_infos)} {types} {sorted(set(model.metadata_types.values()))}")
    for key in model.metadata_types:
        for getter in _GETTERS:
            try:
                getattr(model, getter)(key)
            except FormatError:
                pass  # mistyped for this getter: the documented answer
    assert len(model.metadata) == len(model.metadata_types)
    for name in model.tensors:
        view = model.tensors[name]
        raw = view.view("u1").reshape(-1) if view.size else view
        if raw.size:
            int(raw[0]) + int(raw[-1])
    repr(model)


if __name__ == "__main__":
    main(test_one_input, "gguf_file")
