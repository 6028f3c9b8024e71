"""Fuzz target: lockstep's safetensors reader on a single file and on a sharded checkpoint
(model.safetensors.index.json and its shards), as a bundle of files (fuzz/_harness.py).

Bad input must raise lockstep.FormatError; a checkpoint that opens must let every tensor view
be read (first and last byte touched).
"""

import atheris
from _harness import fresh_folder, main, outcome, unbundle

# Python coverage from the modules that parse this input (instrumenting the whole package slows the start).
INSTRUMENTED = ["lockstep.formats"]
with atheris.instrument_imports(include=INSTRUMENTED):
    from lockstep.errors import FormatError
    from lockstep.formats import safetensors

NAMES = ("model.safetensors", "model.safetensors.index.json", "model-00001-of-00002.safetensors",
         "model-00002-of-00002.safetensors")


def test_one_input(data: bytes) -> None:
    folder = fresh_folder()
    files = unbundle(NAMES, data)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    target = folder / NAMES[1] if NAMES[1] in files else folder / NAMES[0]
    try:
        checkpoint = safetensors.open(target)
    except FormatError as error:
        outcome(error.reason)
        return
    outcome(f"ok {len(checkpoint)} {len(checkpoint.files)} {sorted({i.dtype for i in checkpoint.tensor_infos.values()})}")
    for name in checkpoint:
        view = checkpoint[name]
        raw = view.view("u1").reshape(-1) if view.size else view
        if raw.size:
            int(raw[0]) + int(raw[-1])
    repr(checkpoint)


if __name__ == "__main__":
    main(test_one_input, "safetensors_files")
