"""A GGUF file described from its header (metadata and tensor infos) through lockstep's reader."""

from __future__ import annotations

from collections.abc import Sized
from numbers import Integral
from pathlib import Path

from lockstep import _core
from lockstep.inspection.model_info import ModelInfo, TokenizerInfo, tensor_type_stats
from lockstep.inspection.tasks import bitnet_from_gguf, task_from_gguf

GGUF_MAGIC = b"GGUF"

# tokenizer.ggml.model -> tokenizer family (llama.cpp's names for its vocab types).
_TOKENIZER_KINDS = {
    "llama": "spm",
    "gpt2": "bpe",
    "bert": "wordpiece",
    "t5": "unigram",
    "rwkv": "rwkv",
    "plamo2": "plamo2",
    "no_vocab": "none",
    "none": "none",
}


# What each GGUF architecture name means for the feed-forward activation, and the key that names
# another one (src/model/config.h: kArchitectureNames, kFfnActivationKey).
_NATIVE = _core.native_support()
_ACTIVATION_BY_ARCHITECTURE: dict[str, str] = dict(_NATIVE["gguf_ffn_activations"])
_ACTIVATION_KEY: str = _NATIVE["ffn_activation_key"]


def describe_gguf(path: Path) -> ModelInfo:
    from lockstep.formats import gguf  # lockstep's own memory-mapped reader; raises FormatError

    reader = gguf.open(path)
    metadata = reader.metadata
    warnings: list[str] = []
    architecture = metadata.get("general.architecture")
    if not isinstance(architecture, str):
        warnings.append("general.architecture is missing: architecture and task are unknown")
        architecture = None
    tensors = reader.tensor_infos
    entries = [(info.ggml_type.name, int(info.n_elements), int(info.nbytes)) for info in tensors]
    type_stats = tensor_type_stats(entries)
    bitnet = bitnet_from_gguf(architecture, (stat.type for stat in type_stats))
    template = metadata.get("tokenizer.chat_template")
    has_template = isinstance(template, str)
    activation, activation_source = _ffn_activation(metadata, architecture)
    return ModelInfo(
        path=str(path),
        format="gguf",
        format_detail=f"GGUF v{reader.version}: {len(tensors)} tensors, {len(metadata)} metadata keys",
        weights_format="gguf",
        weight_files=(path.name,),
        architecture=architecture,
        task=task_from_gguf(architecture, metadata) if architecture else None,
        n_params=sum(n_elements for _, n_elements, _ in entries),
        n_tensors=len(tensors),
        tensor_bytes=sum(nbytes for _, _, nbytes in entries),
        tensor_types=type_stats,
        is_bitnet=bitnet is not None,
        bitnet_evidence=bitnet,
        ffn_activation=activation,
        ffn_activation_source=activation_source,
        tokenizer=_tokenizer(metadata),
        chat_template=template if has_template else None,
        chat_template_source="tokenizer.chat_template" if has_template else None,
        context_length=_int_or_none(metadata.get(f"{architecture}.context_length")) if architecture else None,
        name=metadata.get("general.name") if isinstance(metadata.get("general.name"), str) else None,
        warnings=tuple(warnings),
    )


def _ffn_activation(metadata: dict, architecture: str | None) -> tuple[str | None, str | None]:
    """The activation the file declares: its lockstep.ffn_activation key, else the one its architecture means."""
    named = metadata.get(_ACTIVATION_KEY)
    if isinstance(named, str):
        return named, _ACTIVATION_KEY
    if architecture in _ACTIVATION_BY_ARCHITECTURE:
        return _ACTIVATION_BY_ARCHITECTURE[architecture], f"general.architecture = {architecture}"
    return None, None


def _tokenizer(metadata: dict) -> TokenizerInfo | None:
    model = metadata.get("tokenizer.ggml.model")
    if not isinstance(model, str):
        return None
    tokens = metadata.get("tokenizer.ggml.tokens")
    pre = metadata.get("tokenizer.ggml.pre")
    return TokenizerInfo(
        kind=_TOKENIZER_KINDS.get(model, model),
        vocab_size=len(tokens) if isinstance(tokens, Sized) and not isinstance(tokens, str) else None,
        source=f"tokenizer.ggml.model = {model}",
        pre=pre if isinstance(pre, str) else None,
    )


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, Integral) and not isinstance(value, bool) else None
