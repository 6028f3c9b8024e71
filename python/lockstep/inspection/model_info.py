"""ModelInfo: what lockstep.inspect() found out about a model, and its JSON form (docs/inspect-json.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

SCHEMA_VERSION = 1


class RouteLike(Protocol):
    """What ModelInfo holds of a route (lockstep.routing.route.Route, a later stage)."""

    @property
    def backend(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def preflight(self) -> Any: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TensorTypeStat:
    """All tensors of one storage type: a ggml type name (GGUF) or a safetensors dtype."""

    type: str
    count: int
    n_elements: int
    nbytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "count": self.count, "n_elements": self.n_elements, "nbytes": self.nbytes}


@dataclass(frozen=True)
class TokenizerInfo:
    """kind: spm | bpe | wordpiece | unigram | wordlevel | rwkv | ... (the tokenizer families of llama.cpp)."""

    kind: str
    vocab_size: int | None
    source: str  # where it was read, e.g. "tokenizer.ggml.model = gpt2" or "tokenizer.json"
    pre: str | None = None  # GGUF tokenizer.ggml.pre: the pre-tokenizer regex family

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "vocab_size": self.vocab_size, "source": self.source, "pre": self.pre}


@dataclass(frozen=True)
class ModelInfo:
    path: str
    format: str  # gguf | safetensors | hf | pytorch | onnx | tflite | saved_model | unknown
    format_detail: str  # how it was recognised; for "unknown": what the bytes are and what was expected
    weights_format: str | None = None  # the weight files' format (for "hf": safetensors or pytorch)
    weight_files: tuple[str, ...] = ()
    sharded: bool = False
    model_dir: str | None = None  # the folder holding config.json, when there is one
    architecture: str | None = None  # GGUF general.architecture, or config.json model_type
    hf_architectures: tuple[str, ...] = ()  # config.json "architectures" (class names)
    task: str | None = None
    n_params: int | None = None  # None: not knowable without unpickling / parsing the graph
    n_tensors: int | None = None
    tensor_bytes: int | None = None
    tensor_types: tuple[TensorTypeStat, ...] = ()
    is_bitnet: bool = False
    bitnet_evidence: str | None = None
    ffn_activation: str | None = None  # the feed-forward activation the model declares ("silu", "relu2", ...)
    ffn_activation_source: str | None = None  # where: "config.json hidden_act", a GGUF key or architecture
    tokenizer: TokenizerInfo | None = None
    chat_template: str | None = None
    chat_template_source: str | None = None
    context_length: int | None = None
    name: str | None = None
    routes: tuple[RouteLike, ...] = ()  # filled in by routing (lockstep.inspect)
    route_error: str | None = None  # why no backend runs it, and what to convert it to
    warnings: tuple[str, ...] = field(default=())

    @property
    def has_chat_template(self) -> bool:
        return self.chat_template is not None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form, schema_version 1 (documented in docs/inspect-json.md)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "path": self.path,
            "format": self.format,
            "format_detail": self.format_detail,
            "weights_format": self.weights_format,
            "weight_files": list(self.weight_files),
            "sharded": self.sharded,
            "model_dir": self.model_dir,
            "architecture": self.architecture,
            "hf_architectures": list(self.hf_architectures),
            "task": self.task,
            "n_params": self.n_params,
            "n_tensors": self.n_tensors,
            "tensor_bytes": self.tensor_bytes,
            "tensor_types": [stat.to_dict() for stat in self.tensor_types],
            "is_bitnet": self.is_bitnet,
            "bitnet_evidence": self.bitnet_evidence,
            "ffn_activation": self.ffn_activation,
            "ffn_activation_source": self.ffn_activation_source,
            "tokenizer": self.tokenizer.to_dict() if self.tokenizer else None,
            "has_chat_template": self.has_chat_template,
            "chat_template": self.chat_template,
            "chat_template_source": self.chat_template_source,
            "context_length": self.context_length,
            "name": self.name,
            "routes": [route.to_dict() for route in self.routes],
            "route_error": self.route_error,
            "warnings": list(self.warnings),
        }


def tensor_type_stats(entries: list[tuple[str, int, int]]) -> tuple[TensorTypeStat, ...]:
    """Group (type, n_elements, nbytes) per tensor into per-type totals, most bytes first."""
    totals: dict[str, list[int]] = {}
    for type_name, n_elements, nbytes in entries:
        total = totals.setdefault(type_name, [0, 0, 0])
        total[0] += 1
        total[1] += n_elements
        total[2] += nbytes
    stats = [TensorTypeStat(name, count, elements, nbytes) for name, (count, elements, nbytes) in totals.items()]
    return tuple(sorted(stats, key=lambda stat: (-stat.nbytes, stat.type)))
