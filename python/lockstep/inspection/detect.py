"""Decide what a path holds from its content (magic bytes, headers, config.json), then describe it.

File extensions are never trusted: a GGUF renamed .bin is still GGUF, a text file renamed
.gguf is "unknown" with an explanation of what its first bytes are.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lockstep.errors import FormatError, format_error
from lockstep.formats.json_files import read_json
from lockstep.inspection.gguf_file import GGUF_MAGIC, describe_gguf
from lockstep.inspection.graph_formats import TFLITE_IDENTIFIER, describe_onnx, describe_saved_model, describe_tflite
from lockstep.inspection.hf_folder import CONFIG, describe_hf_folder, is_hf_folder, with_folder_context
from lockstep.inspection.model_info import ModelInfo
from lockstep.inspection.pytorch_file import LEGACY_HEADER, ZIP_MAGIC, describe_pytorch, zip_entry_preview
from lockstep.inspection.safetensors_file import INDEX_SUFFIX, describe_safetensors, looks_like_safetensors

_HEAD_BYTES = 64
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
_EXPECTED = (
    "expected one of: GGUF (starts with 'GGUF'); safetensors (8-byte little-endian header length, then '{'); "
    f"a PyTorch zip checkpoint ({ZIP_MAGIC!r} with <name>/data.pkl and <name>/version); "
    f"a legacy PyTorch pickle (starts {LEGACY_HEADER[:14].hex(' ')}); "
    "ONNX (a protobuf ModelProto with ir_version and graph); "
    f"TFLite/LiteRT ({TFLITE_IDENTIFIER.decode()} at bytes 4..8); "
    "or a folder with config.json (Hugging Face) or saved_model.pb (TensorFlow)"
)


def describe(path: Path) -> ModelInfo:
    """What `path` holds; raises FormatError for a recognised but damaged model, OSError if unreadable."""
    if path.is_dir():
        return _describe_folder(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    with path.open("rb") as stream:
        head = stream.read(_HEAD_BYTES)
    info = _describe_file(path, head)
    if info.format in {"safetensors", "pytorch"} and is_hf_folder(path.parent):
        return with_folder_context(info, path.parent)
    return info


def _describe_file(path: Path, head: bytes) -> ModelInfo:
    if head.startswith(GGUF_MAGIC):
        return describe_gguf(path)
    if looks_like_safetensors(head):
        return describe_safetensors(path)
    if path.name in _SAVED_MODEL_FILES:
        return describe_saved_model(path.parent)
    pytorch = describe_pytorch(path, head)
    if pytorch is not None:
        return pytorch
    tflite = describe_tflite(path, head)
    if tflite is not None:
        return tflite
    if head.lstrip()[:1] == b"{":
        return _describe_json(path)
    onnx = describe_onnx(path)
    if onnx is not None:
        return onnx
    return unknown(path, _explain(path, head))


def _describe_json(path: Path) -> ModelInfo:
    """A JSON file given instead of the model: a checkpoint index or a config.json."""
    try:
        document = read_json(path)
    except FormatError:
        if path.name.endswith(".json"):
            raise  # meant to be JSON: say where it breaks
        return unknown(path, "text that starts like JSON ('{') but is not JSON; " + _EXPECTED)
    if isinstance(document, dict) and isinstance(document.get("weight_map"), dict):
        if path.name.endswith(INDEX_SUFFIX) or any(
            isinstance(name, str) and name.endswith(".safetensors") for name in document["weight_map"].values()
        ):
            return describe_safetensors(path)  # describe() adds the folder's config.json, if any
    if path.name == CONFIG and isinstance(document, dict):
        return describe_hf_folder(path.parent)
    return unknown(path, "a JSON file that is neither a safetensors index (weight_map) nor a config.json; " + _EXPECTED)


def _describe_folder(folder: Path) -> ModelInfo:
    if any((folder / name).is_file() for name in _SAVED_MODEL_FILES):
        return describe_saved_model(folder)
    if is_hf_folder(folder):
        return describe_hf_folder(folder)
    index = folder / f"model{INDEX_SUFFIX}"
    if index.is_file():
        return dataclasses.replace(describe_safetensors(index), path=str(folder))
    if (folder / "adapter_config.json").is_file():
        return unknown(folder, "a PEFT adapter folder (adapter_config.json): it needs its base model; merge the adapter into the base model and save that")
    try:
        names = sorted(child.name for child in folder.iterdir())
    except OSError as error:
        raise format_error(folder, None, f"cannot list the folder: {error.strerror or error}") from error
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "") if names else "nothing"
    return unknown(folder, f"a folder without config.json, saved_model.pb or model{INDEX_SUFFIX} (it holds: {shown}); pass the model file itself, or a Hugging Face folder")


def _explain(path: Path, head: bytes) -> str:
    """What the first bytes are, and what would have been recognised."""
    if not head:
        return "the file is empty; " + _EXPECTED
    if head.startswith(ZIP_MAGIC):
        return f"a zip archive but not a PyTorch checkpoint: {zip_entry_preview(path)}; " + _EXPECTED
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return f"a Python pickle (protocol {head[1]}) without torch's magic number: not a PyTorch checkpoint, and lockstep never unpickles"
    if head.startswith(_HDF5_MAGIC):
        return "an HDF5 file (Keras .h5 / TensorFlow weights); no lockstep backend reads it: export the original model to a Hugging Face folder or GGUF"
    printable = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in head[:16])
    return f"the first bytes are {head[:16].hex(' ')} ({printable!r}), not a known model format; " + _EXPECTED


def unknown(path: Path, explanation: str) -> ModelInfo:
    return ModelInfo(path=str(path), format="unknown", format_detail=explanation)
