"""Tiny llama GGUF files for crossval tests and threshold measurements.

Random weights, the real byte-level BPE vocabulary of the default model (SmolLM2; its first
``vocab_size`` tokens and the merges among them), written with the gguf package's GGUFWriter
so that llama.cpp and transformers (through its GGUF loading) both read them. Variants of one
model differ in exactly one controlled way: the vocabulary permuted, extended with extra tokens,
one weight tensor perturbed, BOS added by the tokenizer, or the weights quantized.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

import lockstep

# GGUF token types (llama.cpp's llama_token_type).
NORMAL, CONTROL, USER_DEFINED = 1, 3, 4


@dataclass(frozen=True)
class TinyLlama:
    vocab_size: int = 4096  # leading tokens of the SmolLM2 vocabulary
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 128
    n_layer: int = 2
    seed: int = 0
    logit_scale: float = 2.0  # std of the logits, so that distributions are peaked like a real model's
    weight_type: str = "F32"  # F32 | F16 | Q8_0 | Q4_0 | Q4_1 for the 2-D weights of the blocks
    add_bos: bool = False  # tokenizer.ggml.add_bos_token
    # Variants:
    permute_vocab_seed: int | None = None  # shuffle the token ids (pieces, rows and BOS/EOS ids follow)
    extra_tokens: tuple[tuple[str, int], ...] = ()  # (piece, token type) appended to the vocabulary
    perturb: tuple[str, float] | None = None  # (tensor name, relative std of Gaussian noise added)
    metadata: dict = field(default_factory=dict)  # extra key/values (strings only)


def smollm2_vocabulary(size: int) -> tuple[list[str], list[int], list[str]]:
    """(tokens, token types, merges) of the first ``size`` SmolLM2 tokens; only merges whose
    parts and result are all kept survive, so BPE never produces an id outside the vocabulary."""
    meta = lockstep.gguf.open(lockstep.default_model_path()).metadata
    tokens = meta["tokenizer.ggml.tokens"][:size]
    types = [int(t) for t in meta["tokenizer.ggml.token_type"][:size]]
    kept = set(tokens)
    merges = []
    for merge in meta["tokenizer.ggml.merges"]:
        left, right = merge.split(" ", 1)
        if left in kept and right in kept and left + right in kept:
            merges.append(merge)
    return list(tokens), list(types), merges


_VOCABULARIES: dict[int, tuple[list[str], list[int], list[str]]] = {}


def add_typed_tensor(writer: gguf.GGUFWriter, name: str, values: np.ndarray, qtype: gguf.GGMLQuantizationType) -> None:
    """Write float32 `values` as `qtype`: F32 as is, F16 converted, any other type quantized by gguf.quants."""
    if qtype == gguf.GGMLQuantizationType.F32:
        writer.add_tensor(name, values)
    elif qtype == gguf.GGMLQuantizationType.F16:
        writer.add_tensor(name, values.astype(np.float16))
    else:
        writer.add_tensor(name, gguf.quants.quantize(values, qtype), raw_dtype=qtype)


def write_tiny_llama(path: str | Path, spec: TinyLlama = TinyLlama()) -> Path:
    path = Path(path)
    if spec.vocab_size not in _VOCABULARIES:
        _VOCABULARIES[spec.vocab_size] = smollm2_vocabulary(spec.vocab_size)
    tokens, types, merges = (list(x) for x in _VOCABULARIES[spec.vocab_size])
    bos, eos = 1, 2  # <|im_start|>, <|im_end|> as in SmolLM2
    rng = np.random.default_rng(spec.seed)
    head_dim = spec.n_embd // spec.n_head

    def normal(shape: tuple[int, ...], std: float) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    n_vocab = len(tokens)
    weights: dict[str, np.ndarray] = {"token_embd.weight": normal((n_vocab, spec.n_embd), 1.0)}
    for layer in range(spec.n_layer):
        p = f"blk.{layer}."
        weights[p + "attn_norm.weight"] = 1 + normal((spec.n_embd,), 0.1)
        weights[p + "attn_q.weight"] = normal((spec.n_head * head_dim, spec.n_embd), spec.n_embd**-0.5)
        weights[p + "attn_k.weight"] = normal((spec.n_head_kv * head_dim, spec.n_embd), spec.n_embd**-0.5)
        weights[p + "attn_v.weight"] = normal((spec.n_head_kv * head_dim, spec.n_embd), spec.n_embd**-0.5)
        weights[p + "attn_output.weight"] = normal((spec.n_embd, spec.n_head * head_dim), spec.n_embd**-0.5)
        weights[p + "ffn_norm.weight"] = 1 + normal((spec.n_embd,), 0.1)
        weights[p + "ffn_gate.weight"] = normal((spec.n_ff, spec.n_embd), spec.n_embd**-0.5)
        weights[p + "ffn_up.weight"] = normal((spec.n_ff, spec.n_embd), spec.n_embd**-0.5)
        weights[p + "ffn_down.weight"] = normal((spec.n_embd, spec.n_ff), spec.n_ff**-0.5)
    weights["output_norm.weight"] = 1 + normal((spec.n_embd,), 0.1)
    weights["output.weight"] = normal((n_vocab, spec.n_embd), spec.logit_scale * spec.n_embd**-0.5)

    if spec.perturb is not None:
        name, relative = spec.perturb
        w = weights[name]
        noise_rng = np.random.default_rng(spec.seed + 1)
        weights[name] = (w + noise_rng.standard_normal(w.shape).astype(np.float32) * relative * w.std()).astype(np.float32)

    if spec.extra_tokens:
        extra = len(spec.extra_tokens)
        extra_rng = np.random.default_rng(spec.seed + 2)
        tokens += [piece for piece, _ in spec.extra_tokens]
        types += [kind for _, kind in spec.extra_tokens]
        for name, std in (("token_embd.weight", 1.0), ("output.weight", spec.logit_scale * spec.n_embd**-0.5)):
            rows = (extra_rng.standard_normal((extra, spec.n_embd)) * std).astype(np.float32)
            weights[name] = np.concatenate([weights[name], rows])
        n_vocab += extra

    if spec.permute_vocab_seed is not None:
        # new id j holds old id order[j]
        order = np.random.default_rng(spec.permute_vocab_seed).permutation(n_vocab)
        new_id = np.empty(n_vocab, dtype=np.int64)
        new_id[order] = np.arange(n_vocab)
        tokens = [tokens[i] for i in order]
        types = [types[i] for i in order]
        for name in ("token_embd.weight", "output.weight"):
            weights[name] = np.ascontiguousarray(weights[name][order])
        bos, eos = int(new_id[bos]), int(new_id[eos])

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("lockstep tiny llama")
    writer.add_context_length(2048)
    writer.add_embedding_length(spec.n_embd)
    writer.add_block_count(spec.n_layer)
    writer.add_feed_forward_length(spec.n_ff)
    writer.add_head_count(spec.n_head)
    writer.add_head_count_kv(spec.n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32 if spec.weight_type == "F32" else gguf.LlamaFileType.MOSTLY_F16)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(bos)
    writer.add_eos_token_id(eos)
    writer.add_pad_token_id(eos)
    writer.add_add_bos_token(spec.add_bos)
    for key, value in spec.metadata.items():
        writer.add_string(key, value)

    quant = gguf.GGMLQuantizationType[spec.weight_type]
    for name, w in weights.items():
        add_typed_tensor(writer, name, w, quant if w.ndim == 2 and name.startswith("blk.") else gguf.GGMLQuantizationType.F32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


# --- Variants of an existing GGUF file (the real default model included) ---------------------

TensorEdit = Callable[[str, np.ndarray, gguf.GGMLQuantizationType], "np.ndarray | None"]


# (name, stored data, type) -> (new data, new type), or None to keep the tensor's type.
TensorRetype = Callable[[str, np.ndarray, gguf.GGMLQuantizationType],
                        "tuple[np.ndarray, gguf.GGMLQuantizationType] | None"]


def copy_gguf(src: str | Path, dst: str | Path, *, metadata: dict | None = None, edit: TensorEdit | None = None,
              dequantize: bool = False, retype: TensorRetype | None = None) -> Path:
    """Copy a GGUF file, replacing metadata values (same type as the original) and editing tensors.

    ``edit(name, data, type)`` gets each tensor's stored data (quantized: the raw uint8 rows) and
    returns replacement data of the same type and byte shape, or None to keep it.
    ``dequantize`` stores every tensor as float32 (a float32 file of the same model).
    ``retype(name, data, type)`` may store a tensor in another type (e.g. float32 weights
    quantized): it returns the new data (quantized: uint8 rows) and type, or None.
    """
    reader = gguf.GGUFReader(str(src))
    writer = gguf.GGUFWriter(str(dst), reader.fields["general.architecture"].contents())
    overrides = dict(metadata or {})
    for f in reader.fields.values():
        if f.name == "general.architecture" or f.name.startswith("GGUF."):
            continue
        kind = f.types[0]
        sub = f.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        value = overrides.pop(f.name, None)
        if f.name == "general.file_type" and dequantize:
            value = int(gguf.LlamaFileType.ALL_F32)
        writer.add_key_value(f.name, f.contents() if value is None else value, kind, sub_type=sub)
    if overrides:
        raise KeyError(f"not in {src}: {', '.join(overrides)}")
    tensors = []
    for t in reader.tensors:
        data, kind = np.asarray(t.data), t.tensor_type
        if dequantize and kind != gguf.GGMLQuantizationType.F32:
            data, kind = gguf.quants.dequantize(data, kind).astype(np.float32), gguf.GGMLQuantizationType.F32
        if retype is not None and (retyped := retype(t.name, data, kind)) is not None:
            data, kind = retyped
        if edit is not None:
            edited = edit(t.name, data, kind)
            if edited is not None:
                if edited.shape != data.shape or edited.dtype != data.dtype:
                    raise ValueError(f"edit of {t.name} changed its shape or dtype")
                data = edited
        tensors.append((t.name, data, kind))
        writer.add_tensor_info(t.name, data.shape, data.dtype, data.nbytes, kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _, data, _ in tensors:
        writer.write_tensor_data(data)
    writer.close()
    return Path(dst)


def rope_layout_swapped(n_head: int, n_head_kv: int, layer: int) -> TensorEdit:
    """A tensor edit: the rows of one layer's Q and K weights reordered from GGUF's interleaved
    rotary pairs to the half-split layout of Hugging Face checkpoints (the permutation a
    converter must apply and a buggy one forgets). Rows move whole, so quantized rows work."""

    def order(n_rows: int, heads: int) -> np.ndarray:
        head_dim = n_rows // heads
        rows = np.arange(n_rows).reshape(heads, head_dim // 2, 2)
        return rows.transpose(0, 2, 1).reshape(-1)

    def edit(name: str, data: np.ndarray, kind) -> np.ndarray | None:
        if name == f"blk.{layer}.attn_q.weight":
            return np.ascontiguousarray(data[order(data.shape[0], n_head)])
        if name == f"blk.{layer}.attn_k.weight":
            return np.ascontiguousarray(data[order(data.shape[0], n_head_kv)])
        return None

    return edit


def perturbed(names: set[str], relative: float, seed: int = 0) -> TensorEdit:
    """A tensor edit: float32 tensors in ``names`` get Gaussian noise of ``relative`` times each
    element's magnitude (a ``relative`` perturbation, e.g. 0.01 for 1%)."""
    rng = np.random.default_rng(seed)

    def edit(name: str, data: np.ndarray, kind) -> np.ndarray | None:
        if name not in names:
            return None
        if kind != gguf.GGMLQuantizationType.F32:
            raise ValueError(f"{name} is {kind.name}; only float32 tensors are perturbed")
        return (data * (1 + relative * rng.standard_normal(data.shape))).astype(np.float32)

    return edit
