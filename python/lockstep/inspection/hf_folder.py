"""A Hugging Face model folder: config.json, weight files, tokenizer files, chat template."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from lockstep.errors import format_error
from lockstep.formats.json_files import read_json_object
from lockstep.inspection.hf_tokenizer import tokenizer_from_folder
from lockstep.inspection.model_info import ModelInfo
from lockstep.inspection.pytorch_file import describe_pytorch
from lockstep.inspection.safetensors_file import INDEX_SUFFIX, shard_files, summarize
from lockstep.inspection.tasks import architectures, bitnet_from_hf_config, task_from_hf_config
from lockstep.text.hints import chat_template_from_folder

CONFIG = "config.json"
_PYTORCH_INDEX = "pytorch_model.bin.index.json"
_PYTORCH_FILES = ("pytorch_model.bin", "model.pt", "model.pth")
_ADAPTER_FILES = frozenset({"adapter_model.safetensors"})  # PEFT adapters are not the model
# Weights no lockstep backend reads, named so the report says what is there.
_OTHER_WEIGHTS = (("model.onnx", "onnx"), ("onnx/model.onnx", "onnx"), ("tf_model.h5", "tensorflow-h5"), ("flax_model.msgpack", "flax"))
_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "max_target_positions")
_PEEK_BYTES = 64


def is_hf_folder(folder: Path) -> bool:
    return (folder / CONFIG).is_file()


def describe_hf_folder(folder: Path) -> ModelInfo:
    weights_format, weights, detail = _weights(folder)
    base = ModelInfo(path=str(folder), format="hf", format_detail=detail, weights_format=weights_format)
    if weights_format == "safetensors":
        summary = summarize(weights)
        base = dataclasses.replace(
            base,
            weight_files=summary.files,
            sharded=summary.sharded,
            n_params=summary.n_params,
            n_tensors=summary.n_tensors,
            tensor_bytes=summary.tensor_bytes,
            tensor_types=summary.tensor_types,
            format_detail=f"{detail}: {summary.n_tensors} tensors",
        )
    elif weights_format is not None and weights_format.startswith("pytorch"):
        described = [_require_pytorch(path) for path in weights]
        kinds = sorted({info.weights_format or "" for info in described})
        byte_counts = [info.tensor_bytes for info in described]
        base = dataclasses.replace(
            base,
            weights_format=kinds[0] if len(kinds) == 1 else "pytorch",
            weight_files=tuple(path.name for path in weights),
            sharded=len(weights) > 1,
            tensor_bytes=None if None in byte_counts else sum(count for count in byte_counts if count is not None),
            format_detail=f"{detail}; {described[0].format_detail}",
        )
    elif weights:
        base = dataclasses.replace(base, weight_files=tuple(str(path.relative_to(folder)) for path in weights))
    else:
        base = dataclasses.replace(base, warnings=("the folder has config.json but no weight files",))
    return with_folder_context(base, folder)


def _weights(folder: Path) -> tuple[str | None, list[Path], str]:
    """(weights format, the files to open, a description) for the weights in the folder."""
    index = folder / f"model{INDEX_SUFFIX}"
    if index.is_file():
        return "safetensors", [index], f"Hugging Face folder, sharded safetensors ({index.name})"
    single = folder / "model.safetensors"
    if single.is_file():
        return "safetensors", [single], "Hugging Face folder, safetensors (model.safetensors)"
    others = sorted(path for path in folder.glob("*.safetensors") if path.name not in _ADAPTER_FILES)
    if others:
        return "safetensors", others, f"Hugging Face folder, safetensors ({len(others)} files)"
    pytorch_index = folder / _PYTORCH_INDEX
    if pytorch_index.is_file():
        shards = [folder / name for name in shard_files(pytorch_index)]
        return "pytorch", shards, f"Hugging Face folder, sharded PyTorch checkpoint ({_PYTORCH_INDEX})"
    for name in _PYTORCH_FILES:
        if (folder / name).is_file():
            return "pytorch", [folder / name], f"Hugging Face folder, PyTorch checkpoint ({name})"
    for name, weights_format in _OTHER_WEIGHTS:
        if (folder / name).is_file():
            return weights_format, [folder / name], f"Hugging Face folder with {weights_format} weights ({name})"
    return None, [], "Hugging Face folder without weight files"


def _require_pytorch(path: Path) -> ModelInfo:
    if not path.is_file():
        raise format_error(path, None, "listed in the checkpoint index but missing")
    with path.open("rb") as stream:
        head = stream.read(_PEEK_BYTES)
    info = describe_pytorch(path, head)
    if info is None:
        raise format_error(path, 0, f"named like a PyTorch checkpoint but starts with {head[:16].hex(' ')}")
    return info


def with_folder_context(info: ModelInfo, folder: Path) -> ModelInfo:
    """Add what config.json and the tokenizer files of `folder` say about the model."""
    config = read_json_object(folder / CONFIG)
    model_type = config.get("model_type") if isinstance(config.get("model_type"), str) else None
    classes = architectures(config)
    bitnet = bitnet_from_hf_config(config)
    # Gemma's config names it hidden_activation.
    declared = config.get("hidden_act", config.get("hidden_activation"))
    activation = declared if isinstance(declared, str) else None
    if activation is None and model_type == "gemma3_text":
        activation = "gelu_pytorch_tanh"  # Gemma3TextConfig's default
    template = chat_template_from_folder(folder)
    warnings = list(info.warnings)
    if model_type is None:
        warnings.append("config.json has no model_type")
    return dataclasses.replace(
        info,
        model_dir=str(folder),
        architecture=model_type,
        hf_architectures=classes,
        task=task_from_hf_config(config, sentence_transformers=(folder / "modules.json").is_file()),
        is_bitnet=bitnet is not None,
        bitnet_evidence=bitnet,
        ffn_activation=activation,
        ffn_activation_source=(None if activation is None else "config.json hidden_act" if "hidden_act" in config
                               else "config.json hidden_activation" if "hidden_activation" in config
                               else "Gemma3TextConfig's default hidden_activation"),
        tokenizer=tokenizer_from_folder(folder),
        chat_template=template[0] if template else None,
        chat_template_source=template[1] if template else None,
        context_length=_context_length(config),
        name=config.get("_name_or_path") if isinstance(config.get("_name_or_path"), str) and config.get("_name_or_path") else None,
        warnings=tuple(warnings),
    )


def _context_length(config: dict[str, Any]) -> int | None:
    for scope in (config, config.get("text_config")):
        if isinstance(scope, dict):
            for key in _CONTEXT_KEYS:
                value = scope.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    return value
    return None
