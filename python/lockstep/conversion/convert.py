"""Convert a Hugging Face model folder to a GGUF file that llama.cpp loads.

    report = lockstep.conversion.convert.convert("path/to/hf_model", "model.gguf", "q8_0")

Supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM,
Phi3ForCausalLM, Gemma3ForCausalLM and BitNetForCausalLM with
float safetensors weights and a byte-level BPE tokenizer.json. The tensor names, metadata keys
and tokenizer keys are the ones llama.cpp's own convert_hf_to_gguf.py writes for these
architectures (lockstep.conversion.* documents each rule and the few deliberate differences).
Tensors are converted one at a time, so memory stays near the size of the largest tensor.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

from lockstep.conversion import tensor_types
from lockstep.conversion.architectures import (
    TERNARY_TENSORS,
    Architecture,
    Shape,
    TensorNamer,
    interleave_rotary_halves,
    llama3_rope_factors,
    longrope_factors,
    resolve,
    rope_metadata,
    ternarize,
    write_hyperparameters,
)
from lockstep.conversion.checkpoint import Checkpoint
from lockstep.conversion.tensor_types import OUTPUT_TYPES, OutputType
from lockstep.conversion.vocabulary import read_vocabulary
from lockstep.errors import ConvertError, UnsupportedTypeError

__all__ = ["ConversionReport", "ConvertError", "OUTPUT_TYPES", "TensorRecord", "UnsupportedTypeError", "convert"]


@dataclass(frozen=True)
class TensorRecord:
    name: str
    ggml_type: str
    shape: tuple[int, ...]  # numpy order: the row length is last
    fallback: str | None = None  # why the requested type was not used


@dataclass
class ConversionReport:
    output: Path
    architecture: str
    output_type: str
    tensors: list[TensorRecord] = field(default_factory=list)

    @property
    def fallbacks(self) -> list[TensorRecord]:
        return [record for record in self.tensors if record.fallback]

    def type_counts(self) -> dict[str, int]:
        return dict(Counter(record.ggml_type for record in self.tensors))


@dataclass
class _Planned:
    record: TensorRecord
    ggml_type: int
    nbytes: int
    produce: Callable[[], np.ndarray]  # the float32 values to encode


def _transform(architecture: Architecture, shape: Shape, kind: gguf.MODEL_TENSOR,
               hf_name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The change llama.cpp's converter makes to one tensor kind on the way to the file."""
    if architecture.norm_shift and hf_name.endswith("norm.weight"):
        return lambda values: values + np.float32(architecture.norm_shift)
    if architecture.interleave_rope and kind == gguf.MODEL_TENSOR.ATTN_Q:
        return lambda values: interleave_rotary_halves(values, shape.n_head)
    if architecture.interleave_rope and kind == gguf.MODEL_TENSOR.ATTN_K:
        return lambda values: interleave_rotary_halves(values, shape.n_head_kv)
    if architecture.ternary and kind in TERNARY_TENSORS:
        return ternarize
    return lambda values: values


def _expected_rows(kind: gguf.MODEL_TENSOR, shape: Shape) -> int | None:
    if kind == gguf.MODEL_TENSOR.ATTN_Q:
        return shape.n_head * shape.head_dim
    if kind == gguf.MODEL_TENSOR.ATTN_K:
        return shape.n_head_kv * shape.head_dim
    return None


def _constant(values: np.ndarray) -> Callable[[], np.ndarray]:
    return lambda: values


def _loader(checkpoint: Checkpoint, hf_name: str, transform: Callable[[np.ndarray], np.ndarray]) -> Callable[[], np.ndarray]:
    """Reads and transforms one tensor when the writer asks for it (one tensor in memory at a time)."""
    return lambda: transform(checkpoint.load(hf_name))


def _plan(checkpoint: Checkpoint, architecture: Architecture, shape: Shape, output: OutputType) -> Iterator[_Planned]:
    config = checkpoint.config
    rope = rope_metadata(config)
    if rope["rope_type"] == "llama3":
        factors = llama3_rope_factors(rope, shape.head_dim)
        name = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight"
        yield _Planned(TensorRecord(name, "F32", factors.shape), gguf.GGMLQuantizationType.F32, factors.nbytes,
                       lambda: factors)

    longrope = longrope_factors(config, shape) if architecture.name == "phi3" else None
    if longrope is not None:
        for kind, values in zip((gguf.MODEL_TENSOR.ROPE_FACTORS_LONG, gguf.MODEL_TENSOR.ROPE_FACTORS_SHORT), longrope):
            name = gguf.TENSOR_NAMES[kind] + ".weight"
            yield _Planned(TensorRecord(name, "F32", values.shape), gguf.GGMLQuantizationType.F32, values.nbytes,
                           _constant(values))

    namer = TensorNamer(architecture, shape, bool(config.get("tie_word_embeddings", False)))
    seen_embedding = False
    for hf_name in checkpoint.names():
        named = namer(hf_name)
        if named is None:
            continue
        kind, gguf_name = named
        tensor_shape = checkpoint.shape(hf_name)
        if kind == gguf.MODEL_TENSOR.TOKEN_EMBD:
            seen_embedding = True
            if tensor_shape != (shape.n_vocab, shape.n_embd):
                raise ConvertError(f"{hf_name}: shape {tensor_shape}, expected (vocab_size, hidden_size) = "
                                   f"{(shape.n_vocab, shape.n_embd)}")
        rows = _expected_rows(kind, shape)
        if rows is not None and tensor_shape[0] != rows:
            raise ConvertError(f"{hf_name}: {tensor_shape[0]} rows, expected heads x head_dim = {rows}")
        choice = tensor_types.choose(kind, gguf_name, tensor_shape, output)
        transform = _transform(architecture, shape, kind, hf_name)
        yield _Planned(
            TensorRecord(gguf_name, tensor_types.type_name(choice.ggml_type), tensor_shape, choice.fallback),
            choice.ggml_type,
            tensor_types.nbytes(choice.ggml_type, tensor_shape),
            _loader(checkpoint, hf_name, transform),
        )
    if not seen_embedding:
        raise ConvertError(f"{checkpoint.folder}: no token embedding tensor")


def convert(
    hf_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    out_type: str = "f16",
    *,
    pre: str | None = None,
    gguf_arch: str | None = None,
    progress: Callable[[int, int, TensorRecord], None] | None = None,
) -> ConversionReport:
    """Write the model in `hf_dir` to `out_path` as GGUF with tensors of type `out_type`.

    `pre` overrides the detected `tokenizer.ggml.pre`. `gguf_arch` writes another GGUF architecture
    name the model can have: "bitnet", llama.cpp's converter's name for every BitNet, for a
    squared-ReLU BitNet (default "bitnet-b1.58"; see lockstep.conversion.architectures).
    `progress(done, total, record)` is called
    after each tensor. Raises ConvertError for an input that cannot be converted and
    UnsupportedTypeError for an output type that does not fit the model. The file appears only
    when complete.
    """
    output = OUTPUT_TYPES.get(out_type.lower())
    if output is None:
        raise UnsupportedTypeError(f"unknown output type {out_type!r}; choose from {', '.join(OUTPUT_TYPES)}")
    out_path = Path(out_path)
    checkpoint = Checkpoint(Path(hf_dir))
    architecture = resolve(checkpoint.config, gguf_arch)
    if output.ternary and not architecture.ternary:
        raise UnsupportedTypeError(
            f"{output.name} packs ternary (BitNet b1.58) weights; {architecture.hf_class} weights are not ternary"
        )
    shape = Shape.of(checkpoint.config)
    vocabulary = read_vocabulary(checkpoint.folder, shape.n_vocab, pre)
    plan = list(_plan(checkpoint, architecture, shape, output))

    writer = gguf.GGUFWriter(None, architecture.name)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(checkpoint.folder.resolve().name)
    n_params = sum(int(np.prod(planned.record.shape)) for planned in plan)
    writer.add_size_label(gguf.size_label(n_params, 0, 0, 0))
    write_hyperparameters(writer, architecture, checkpoint.config, shape)
    writer.add_file_type(output.file_type)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    vocabulary.write(writer)
    for planned in plan:
        # The dtype argument only matters for raw_dtype=None; the shape given is the logical one.
        writer.add_tensor_info(planned.record.name, planned.record.shape, np.dtype(np.float32),
                               planned.nbytes, raw_dtype=planned.ggml_type)  # type: ignore[arg-type]  # I2_S (36) is not a gguf enum member

    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".partial", dir=out_path.parent)
    os.close(handle)
    try:
        writer.write_header_to_file(path=Path(staging))
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for done, planned in enumerate(plan, start=1):
            data = tensor_types.encode(planned.produce(), planned.ggml_type)
            if data.nbytes != planned.nbytes:
                raise AssertionError(f"{planned.record.name}: encoded {data.nbytes} bytes, planned {planned.nbytes}")
            writer.write_tensor_data(data)
            if progress is not None:
                progress(done, len(plan), planned.record)
        writer.close()
        os.replace(staging, out_path)
    finally:
        writer.close()
        if os.path.exists(staging):
            os.unlink(staging)
    return ConversionReport(out_path, architecture.name, output.name, [planned.record for planned in plan])
