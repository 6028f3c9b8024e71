"""Which backends can run an inspected model, in what order, and whether each is ready here.

route(info) asks each backend in turn (native, llama.cpp, hf) whether it runs this format,
architecture and tensor types; the ones that do become Routes with a reason and a preflight,
the ones that do not leave a refusal that explains why. No route at all is a RouteError that
says what to convert the model to, and how.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lockstep.errors import RouteError
from lockstep.inspection.model_info import ModelInfo
from lockstep.routing.preflight import Preflight, check_hf, check_llama_cpp, check_native
from lockstep.routing.support import (
    LLAMA_CPP_ARCHITECTURES,
    LLAMA_CPP_NOT_STANDALONE,
    LLAMA_CPP_PINNED_VERSION,
    LLAMA_CPP_UNSUPPORTED_GGML_TYPES,
    NATIVE_GGML_TYPES,
    NATIVE_GGUF_ARCHITECTURES,
    NATIVE_HF_MODEL_TYPES,
    NATIVE_SAFETENSORS_DTYPES,
    TRANSFORMERS_GGML_TYPES,
    TRANSFORMERS_GGUF_ARCHITECTURES,
)

BACKENDS = ("native", "llama.cpp", "hf")  # also the "auto" order among ready backends
CONVERT_HINT = "`lockstep convert HF_DIR OUT.gguf`"
_GRAPH_FORMATS = {"onnx": "ONNX", "tflite": "TFLite/LiteRT", "saved_model": "a TensorFlow SavedModel", "torchscript": "TorchScript"}


@dataclass(frozen=True)
class Route:
    backend: str  # "native" | "llama.cpp" | "hf"
    reason: str
    preflight: Preflight
    path: str  # what to hand to lockstep.load(path, backend=...)

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "reason": self.reason, "path": self.path, "preflight": self.preflight.to_dict()}


def route(info: ModelInfo, prefer: str = "auto", fallback: bool = True) -> list[Route]:
    """The backends that can run `info`, best first.

    "auto" orders ready backends (preflight ok) before unready ones, then native, llama.cpp,
    hf. `prefer` puts that backend first; with fallback=False only it is returned, or
    RouteError says why it cannot run the model.
    """
    if prefer != "auto" and prefer not in BACKENDS:
        raise ValueError(f"unknown backend {prefer!r}; choose one of: auto, {', '.join(BACKENDS)}")
    routes: list[Route] = []
    refusals: dict[str, str] = {}
    for backend, judge in _JUDGES.items():
        verdict = judge(info)
        if isinstance(verdict, Route):
            routes.append(verdict)
        else:
            refusals[backend] = verdict
    if not routes:
        raise RouteError(_no_route_message(info, refusals))
    ordered = sorted(routes, key=lambda item: (not item.preflight.ok, BACKENDS.index(item.backend)))
    if prefer == "auto":
        return ordered if fallback else ordered[:1]
    preferred = [item for item in ordered if item.backend == prefer]
    if not preferred:
        if fallback:
            return ordered
        raise RouteError(f"{prefer} cannot run {info.path}: {refusals[prefer]}")
    others = [item for item in ordered if item.backend != prefer]
    return preferred + others if fallback else preferred


# --- one judge per backend: a Route, or why not ---------------------------------------------


def _native(info: ModelInfo) -> Route | str:
    arch = info.architecture
    if info.format == "gguf":
        if arch not in NATIVE_GGUF_ARCHITECTURES:
            return f"the native engine runs the GGUF architectures {_names(NATIVE_GGUF_ARCHITECTURES)}, not {arch}"
        unsupported = _types(info) - NATIVE_GGML_TYPES
        if unsupported:
            return f"the native engine does not read the tensor types {_names(unsupported)}"
        reason = f"lockstep's own C++ engine runs GGUF {arch} models, weights kept {_names(_types(info))} in the memory map"
        return Route("native", reason, check_native(), info.path)
    if info.weights_format == "safetensors" and info.model_dir is not None:
        if arch not in NATIVE_HF_MODEL_TYPES:
            return f"the native engine runs Hugging Face model types {_names(NATIVE_HF_MODEL_TYPES)}, not {arch}"
        unsupported = _types(info) - NATIVE_SAFETENSORS_DTYPES
        if unsupported:
            return f"the native engine reads F32/F16/BF16 safetensors, not {_names(unsupported)}"
        reason = f"lockstep's own C++ engine runs Hugging Face safetensors folders of {arch} ({_names(_types(info))})"
        return Route("native", reason, check_native(), info.model_dir)
    return "the native engine runs GGUF files and Hugging Face safetensors folders"


def _llama_cpp(info: ModelInfo) -> Route | str:
    if info.format != "gguf":
        return f"llama.cpp runs GGUF files; convert a Hugging Face folder with {CONVERT_HINT}"
    arch = info.architecture
    if arch not in LLAMA_CPP_ARCHITECTURES or arch in LLAMA_CPP_NOT_STANDALONE:
        return f"llama.cpp {LLAMA_CPP_PINNED_VERSION} does not run the architecture {arch} on its own"
    unsupported = _types(info) & LLAMA_CPP_UNSUPPORTED_GGML_TYPES
    if unsupported:
        return f"llama.cpp does not know the tensor types {_names(unsupported)} (bitnet.cpp's own formats)"
    reason = f"llama.cpp (llama-cpp-python {LLAMA_CPP_PINNED_VERSION}) runs GGUF {arch} models"
    return Route("llama.cpp", reason, check_llama_cpp(), info.path)


def _hf(info: ModelInfo) -> Route | str:
    if info.format == "gguf":
        if info.architecture not in TRANSFORMERS_GGUF_ARCHITECTURES:
            return f"transformers' GGUF loader does not support the architecture {info.architecture}"
        unsupported = _types(info) - TRANSFORMERS_GGML_TYPES
        if unsupported:
            return f"transformers cannot dequantize the tensor types {_names(unsupported)}"
        reason = f"transformers loads GGUF {info.architecture} models (gguf_file=...), dequantizing every tensor to float32"
        return Route("hf", reason, check_hf("gguf"), info.path)
    if info.model_dir is None:
        return "transformers needs a Hugging Face folder (config.json beside the weights)"
    classes = ", ".join(info.hf_architectures) or info.architecture or "the model"
    if info.weights_format == "safetensors":
        return Route("hf", f"transformers loads {classes} from the safetensors weights in float32", check_hf("safetensors"), info.model_dir)
    if info.weights_format in {"pytorch-zip", "pytorch-legacy", "pytorch"}:
        reason = (
            f"transformers loads {classes} from a PyTorch pickle with torch.load(weights_only=True); "
            "use this route only if you accept loading a pickle (lockstep itself never unpickles it)"
        )
        return Route("hf", reason, check_hf("torch"), info.model_dir)
    return f"transformers does not load {info.weights_format or 'missing'} weights here"


_JUDGES: dict[str, Callable[[ModelInfo], Route | str]] = {"native": _native, "llama.cpp": _llama_cpp, "hf": _hf}


# --- what to do when nothing runs it -----------------------------------------------------------


def _no_route_message(info: ModelInfo, refusals: dict[str, str]) -> str:
    graph_format = _GRAPH_FORMATS.get(info.weights_format or "")
    convert_dir = CONVERT_HINT.replace("HF_DIR", "DIR")
    if graph_format:
        return (
            f"no backend can run {info.path}: {graph_format} is an exported graph, which no lockstep backend runs "
            "and which does not convert back reliably. Export the source PyTorch / Hugging Face model again instead: "
            f"save it as a Hugging Face folder with model.save_pretrained(DIR) (safetensors; the hf backend runs it), "
            f"then {convert_dir} for llama.cpp and the native engine"
        )
    if info.format == "unknown":
        return (
            f"no backend can run {info.path}: lockstep does not recognise it (see the format detail). Use a GGUF "
            f"file or a Hugging Face folder; convert a Hugging Face checkpoint to GGUF with {CONVERT_HINT}"
        )
    if info.model_dir is None and info.format in {"safetensors", "pytorch"}:
        advice = (
            "these are bare weights without their config.json. Put them in their Hugging Face folder (config.json "
            "and tokenizer files beside them), or load the model in transformers and save it with "
            f"model.save_pretrained(DIR); then {convert_dir} makes a GGUF"
        )
    elif info.format == "gguf":
        advice = f"no backend runs GGUF {info.architecture}; convert the original Hugging Face checkpoint with {CONVERT_HINT}"
    else:
        advice = (
            "save the model as safetensors with transformers (model.save_pretrained(DIR)), "
            f"then {convert_dir} for llama.cpp and the native engine"
        )
    why = "; ".join(f"{backend}: {reason}" for backend, reason in refusals.items())
    return f"no backend can run {info.path}: {advice} ({why})"


def _types(info: ModelInfo) -> set[str]:
    return {stat.type for stat in info.tensor_types}


def _names(names: set[str] | frozenset[str]) -> str:
    return ", ".join(sorted(names))
