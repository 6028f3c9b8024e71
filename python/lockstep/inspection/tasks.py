"""What a model is for, and whether it is a BitNet b1.58 model, from its config or GGUF metadata."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Integral
from typing import Any

# transformers head classes are named <Model><Head>; the head says the task.
# "ForConditionalGeneration" depends on the inputs and is decided in _task_from_class.
_HEAD_SUFFIX_TASKS = (
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMaskedLM", "fill-mask"),
    ("ForPreTraining", "fill-mask"),
    ("ForMultipleChoice", "multiple-choice"),
    ("ForImageClassification", "image-classification"),
    ("ForAudioClassification", "audio-classification"),
    ("ForCTC", "speech-recognition"),
    ("ForSpeechSeq2Seq", "speech-recognition"),
    ("ForVision2Seq", "image-to-text"),
    ("ForImageTextToText", "image-to-text"),
    ("ForObjectDetection", "object-detection"),
    ("ForSemanticSegmentation", "image-segmentation"),
)

# Encoder-decoder models whose encoder reads audio features: their ForConditionalGeneration
# transcribes speech.
_SPEECH_MODEL_TYPES = frozenset({"whisper", "speech_to_text", "seamless_m4t", "seamless_m4t_v2", "moonshine"})

# llama.cpp architectures that only encode (their GGUFs are used for embeddings).
_GGUF_ENCODER_ARCHITECTURES = frozenset(
    {
        "bert",
        "modern-bert",
        "nomic-bert",
        "nomic-bert-moe",
        "neo-bert",
        "jina-bert-v2",
        "jina-bert-v3",
        "eurobert",
        "gemma-embedding",
        "llama-embed",
        "t5encoder",
    }
)

# llama.cpp's enum llama_pooling_type, as stored in <arch>.pooling_type.
_POOLING_NONE, _POOLING_RANK = 0, 4

BITNET_GGUF_ARCHITECTURES = frozenset({"bitnet", "bitnet-b1.58", "bitnet-25"})
TERNARY_GGML_TYPES = frozenset({"TQ1_0", "TQ2_0", "I2_S"})


def architectures(config: Mapping[str, Any]) -> tuple[str, ...]:
    """config.json's `architectures`: the names in its list; () when it is absent or not a list
    (a hostile or broken file may hold any JSON value there)."""
    value = config.get("architectures")
    return tuple(name for name in value if isinstance(name, str)) if isinstance(value, list) else ()


def task_from_hf_config(config: Mapping[str, Any], sentence_transformers: bool) -> str | None:
    """The task of a transformers model, from config.json's `architectures` (its head class)."""
    if sentence_transformers:
        return "embedding"
    for class_name in architectures(config):
        task = _task_from_class(class_name, config)
        if task is not None:
            return task
    return None


def _task_from_class(class_name: str, config: Mapping[str, Any]) -> str | None:
    if class_name == "VisionEncoderDecoderModel":
        return "image-to-text"
    if class_name == "SpeechEncoderDecoderModel":
        return "speech-recognition"
    if class_name.endswith("ForConditionalGeneration"):
        if "vision_config" in config:
            return "image-to-text"
        if config.get("model_type") in _SPEECH_MODEL_TYPES or "num_mel_bins" in config:
            return "speech-recognition"
        return "text2text-generation"
    for suffix, task in _HEAD_SUFFIX_TASKS:
        if class_name.endswith(suffix):
            return task
    if class_name.endswith("Model"):  # a bare encoder/decoder without a head: its output is features
        return "embedding"
    return None


def task_from_gguf(architecture: str, metadata: Mapping[str, Any]) -> str:
    """The task of a GGUF model: pooling metadata marks embedding and reranking models."""
    pooling = metadata.get(f"{architecture}.pooling_type")
    if isinstance(pooling, Integral) and pooling == _POOLING_RANK:
        return "text-classification"  # a reranker: a classification head scores query/document pairs
    if isinstance(pooling, Integral) and pooling != _POOLING_NONE:
        return "embedding"
    if architecture in _GGUF_ENCODER_ARCHITECTURES:
        return "embedding"
    if architecture == "t5":
        return "text2text-generation"
    if architecture == "clip":
        return "image-encoder"  # a multimodal projector (mmproj), used next to a text model
    return "text-generation"


def bitnet_from_gguf(architecture: str | None, type_names: Iterable[str]) -> str | None:
    """Why a GGUF is a BitNet b1.58 model (ternary tensor types or a BitNet architecture), or None."""
    ternary = sorted(TERNARY_GGML_TYPES.intersection(type_names))
    if ternary:
        return f"ternary tensor types {', '.join(ternary)}"
    if architecture in BITNET_GGUF_ARCHITECTURES:
        return f"general.architecture = {architecture}"
    return None


def bitnet_from_hf_config(config: Mapping[str, Any]) -> str | None:
    """Why a transformers model is BitNet b1.58 (its quantization config or architecture), or None."""
    quantization = config.get("quantization_config")
    if isinstance(quantization, Mapping) and str(quantization.get("quant_method", "")).lower() == "bitnet":
        return "quantization_config.quant_method = bitnet"
    if config.get("model_type") == "bitnet":
        return "model_type = bitnet"
    for class_name in architectures(config):
        if class_name.lower().startswith("bitnet"):
            return f"architectures = {class_name}"
    return None
