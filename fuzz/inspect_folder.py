"""Fuzz target: `lockstep inspect` (lockstep.inspect: describe + route) on an arbitrary folder,
a bundle of files with the names a model folder holds (config.json, safetensors, an index,
PyTorch zips and pickles, ONNX, TFLite, SavedModel, tokenizer files).

Bad input must raise lockstep.FormatError (exit 5) or RouteError; inspect never unpickles or
loads weights, so any file must be described from its headers.
"""

import atheris
from _harness import fresh_folder, main, outcome, unbundle

# Python coverage from the modules that parse this input (instrumenting the whole package slows the start).
INSTRUMENTED = ["lockstep.inspection", "lockstep.routing", "lockstep.formats"]
with atheris.instrument_imports(include=INSTRUMENTED):
    import lockstep
    from lockstep.errors import FormatError, RouteError

NAMES = ("config.json", "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "model.onnx",
         "model.tflite", "saved_model.pb", "tokenizer.json", "tokenizer_config.json", "generation_config.json",
         "adapter_config.json", "model.gguf", "chat_template.jinja", "model-00001-of-00002.safetensors")


def test_one_input(data: bytes) -> None:
    folder = fresh_folder()
    files = unbundle(NAMES, data)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    targets = [folder] + [folder / name for name in files]
    for target in targets[:3]:
        try:
            info = lockstep.inspect(target)
        except FormatError as error:
            outcome(error.reason if isinstance(getattr(error, "reason", None), str) else str(error))
            continue
        except RouteError as error:
            outcome(str(error))
            continue
        outcome(f"{info.format} {info.format_detail[:40]}")
        info.to_dict()


if __name__ == "__main__":
    main(test_one_input, "inspect_folder")
