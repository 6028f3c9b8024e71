"""The Hugging Face architectures the converter supports, and what llama.cpp expects of each:
the GGUF architecture name, tensor names, hyperparameter keys and weight transformations.

Facts taken from llama.cpp (convert_hf_to_gguf.py, src/llama-model.cpp, src/models/*.cpp):
- Mistral is written as the llama architecture (its sliding_window is not carried over: llama.cpp's
  llama graph attends to the whole context, as Mistral v0.2 and later do).
- llama uses "normal" RoPE, which rotates adjacent pairs (x[2i], x[2i+1]), while Hugging Face
  checkpoints rotate the two halves of each head (x[i], x[i + d/2]). The converter therefore
  reorders the rows of Q and K (weights and biases) head by head; qwen2 and bitnet use NEOX
  RoPE, the Hugging Face order, and are written unchanged (so are qwen3, phi3 and gemma3).
- llama.cpp's bitnet graph reads logits through token_embd (no output tensor), gates the FFN
  with SiLU, and has no key for the activation; BitNet-2B-4T's squared ReLU is bitnet.cpp's
  "bitnet-b1.58" architecture, so that is the name written for hidden_act "relu2" by default.
  llama.cpp's own converter writes every BitNetForCausalLM as "bitnet" (relu2 included, which
  its graph then runs with SiLU); `gguf_arch="bitnet"` writes such a file, with the same tensor
  and metadata names, plus lockstep's `lockstep.ffn_activation = "relu2"`, which llama.cpp
  ignores and the native engine reads.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import gguf
import numpy as np

from lockstep.errors import ConvertError
from lockstep.routing.support import NATIVE_FFN_ACTIVATION_KEY, NATIVE_GGUF_FFN_ACTIVATIONS

T = gguf.MODEL_TENSOR

# The BitLinear projections of BitNet b1.58, whose weights are ternary.
TERNARY_TENSORS = frozenset({T.ATTN_Q, T.ATTN_K, T.ATTN_V, T.ATTN_OUT, T.FFN_GATE, T.FFN_UP, T.FFN_DOWN})

# transformers' BitNet names its sub-norms differently from the 1bitLLM checkpoints that the
# gguf package's TensorNameMap knows.
_EXTRA_NAMES = (
    (re.compile(r"model\.layers\.(\d+)\.self_attn\.attn_sub_norm\.weight"), T.ATTN_SUB_NORM),
    (re.compile(r"model\.layers\.(\d+)\.mlp\.ffn_sub_norm\.weight"), T.FFN_SUB_NORM),
)

# Checkpoint tensors that carry no weights llama.cpp uses.
_IGNORED_SUFFIXES = (".rotary_emb.inv_freq",)


@dataclass(frozen=True)
class Architecture:
    hf_class: str
    name: str  # general.architecture
    tensor_names: gguf.MODEL_ARCH  # whose TensorNameMap names the tensors
    interleave_rope: bool  # llama.cpp "normal" RoPE: permute Q/K rows
    ternary: bool  # BitNet b1.58: the projections are ternarized
    writes_vocab_and_rope_dims: bool  # llama.cpp writes vocab_size and rope.dimension_count for llama only
    # Written under lockstep.ffn_activation when the name means another activation (relu2 as "bitnet").
    ffn_activation_key: str | None = None
    # Added to every "*norm.weight" on the way to the file: gemma's RMSNorm multiplies by (1 + weight).
    norm_shift: float = 0.0


_LLAMA = dict(name="llama", tensor_names=gguf.MODEL_ARCH.LLAMA, interleave_rope=True, ternary=False,
              writes_vocab_and_rope_dims=True)
_BY_CLASS: dict[str, dict[str, Any]] = {
    "LlamaForCausalLM": _LLAMA,
    "MistralForCausalLM": _LLAMA,
    "Qwen2ForCausalLM": dict(name="qwen2", tensor_names=gguf.MODEL_ARCH.QWEN2, interleave_rope=False, ternary=False,
                             writes_vocab_and_rope_dims=False),
    # Qwen3Model in llama.cpp's converter: qwen2's keys, plus the per-head attn_q_norm / attn_k_norm.
    "Qwen3ForCausalLM": dict(name="qwen3", tensor_names=gguf.MODEL_ARCH.QWEN3, interleave_rope=False, ternary=False,
                             writes_vocab_and_rope_dims=False),
    # Phi3MiniModel: fused attn_qkv and ffn_up (gate rows, then up rows), keys of its own (phi3_hyperparameters).
    "Phi3ForCausalLM": dict(name="phi3", tensor_names=gguf.MODEL_ARCH.PHI3, interleave_rope=False, ternary=False,
                            writes_vocab_and_rope_dims=False),
    # Gemma3Model: norms written as 1 + weight, keys of its own (_write_gemma3_hyperparameters).
    "Gemma3ForCausalLM": dict(name="gemma3", tensor_names=gguf.MODEL_ARCH.GEMMA3, interleave_rope=False, ternary=False,
                              writes_vocab_and_rope_dims=False, norm_shift=1.0),
    "BitNetForCausalLM": dict(name="bitnet", tensor_names=gguf.MODEL_ARCH.BITNET, interleave_rope=False,
                              ternary=True, writes_vocab_and_rope_dims=False),
}
_CLASS_BY_MODEL_TYPE = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                        "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "phi3": "Phi3ForCausalLM", "gemma3_text": "Gemma3ForCausalLM", "bitnet": "BitNetForCausalLM"}
# The GGUF names a BitNet checkpoint can be written under, by hidden_act; the first is the default.
_BITNET_NAMES_BY_ACTIVATION = {"silu": ("bitnet",), "relu2": ("bitnet-b1.58", "bitnet")}

SUPPORTED = tuple(_BY_CLASS)


def resolve(config: dict[str, Any], gguf_arch: str | None = None) -> Architecture:
    """The architecture of a config.json, or ConvertError saying why it is not supported.

    `gguf_arch`: the general.architecture to write instead of the default, one of the names
    this model can be written under (a squared-ReLU BitNet: "bitnet-b1.58" or llama.cpp's "bitnet").
    """
    classes = config.get("architectures")
    if isinstance(classes, list) and classes and isinstance(classes[0], str):
        hf_class = "BitNetForCausalLM" if classes[0] == "BitnetForCausalLM" else classes[0]
    else:
        hf_class = _CLASS_BY_MODEL_TYPE.get(str(config.get("model_type")), "")
    if hf_class not in _BY_CLASS:
        found = classes[0] if isinstance(classes, list) and classes else config.get("model_type")
        raise ConvertError(f"unsupported architecture {found!r}; supported: {', '.join(SUPPORTED)}")
    fields = dict(_BY_CLASS[hf_class])
    activation = config.get("hidden_act", "silu")
    names: tuple[str, ...] = (fields["name"],)
    if fields["ternary"]:
        if activation not in _BITNET_NAMES_BY_ACTIVATION:
            raise ConvertError(f"BitNet with hidden_act {activation!r} is not supported (silu or relu2)")
        names = _BITNET_NAMES_BY_ACTIVATION[activation]
        if not config.get("tie_word_embeddings", False):
            raise ConvertError("BitNet without tied embeddings: GGUF bitnet models compute logits with token_embd")
        if config.get("quantization_config"):
            raise ConvertError("packed (quantization_config) BitNet checkpoints are not supported; "
                               "convert a checkpoint with float weights")
    elif hf_class == "Gemma3ForCausalLM":
        gelu = config.get("hidden_activation") or config.get("hidden_act") or "gelu_pytorch_tanh"
        if gelu != "gelu_pytorch_tanh":
            raise ConvertError(f"Gemma3 with hidden_activation {gelu!r}: llama.cpp's graph uses tanh GELU")
        if config.get("attn_logit_softcapping") is not None:
            raise ConvertError("Gemma3 with attn_logit_softcapping: llama.cpp's converter refuses it")
    elif activation != "silu":
        raise ConvertError(f"{hf_class} with hidden_act {activation!r}: llama.cpp's graph uses SiLU")
    if gguf_arch is not None and gguf_arch not in names:
        raise ConvertError(f"{hf_class} with hidden_act {activation!r} is written as {' or '.join(names)}, "
                           f"not {gguf_arch!r}")
    fields["name"] = gguf_arch or names[0]
    if fields["ternary"] and NATIVE_GGUF_FFN_ACTIVATIONS[fields["name"]] != activation:
        fields["ffn_activation_key"] = activation
    return Architecture(hf_class=hf_class, **fields)


def _config_int(config: dict[str, Any], key: str) -> int:
    value = config.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConvertError(f"config.json: {key!r} must be a positive integer, found {value!r}")
    return value


@dataclass(frozen=True)
class Shape:
    """The hyperparameters the conversion itself depends on."""

    n_layers: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_vocab: int

    @classmethod
    def of(cls, config: dict[str, Any]) -> Shape:
        n_head = _config_int(config, "num_attention_heads")
        n_embd = _config_int(config, "hidden_size")
        default_head_dim = 256 if config.get("model_type") == "gemma3_text" else n_embd // n_head  # transformers'
        head_dim = config.get("head_dim") or default_head_dim
        n_head_kv = config.get("num_key_value_heads") or n_head
        if not isinstance(head_dim, int) or head_dim % 2 or not isinstance(n_head_kv, int) or n_head % n_head_kv:
            raise ConvertError(f"config.json: inconsistent heads (head_dim {head_dim!r}, "
                               f"{n_head} heads, {n_head_kv!r} KV heads)")
        return cls(_config_int(config, "num_hidden_layers"), n_embd, n_head, n_head_kv, head_dim,
                   _config_int(config, "vocab_size"))


class TensorNamer:
    """Hugging Face tensor name -> (GGUF tensor kind, GGUF name), or None for tensors to skip."""

    def __init__(self, architecture: Architecture, shape: Shape, tied_embeddings: bool):
        self._map = gguf.get_tensor_name_map(architecture.tensor_names, shape.n_layers)
        self._tied = tied_embeddings
        self._arch = architecture

    def __call__(self, hf_name: str) -> tuple[gguf.MODEL_TENSOR, str] | None:
        if hf_name.endswith(_IGNORED_SUFFIXES):
            return None
        if self._tied and hf_name == "lm_head.weight":
            return None  # some checkpoints store the tied copy; llama.cpp reuses token_embd
        found = self._map.get_type_and_name(hf_name, try_suffixes=(".weight", ".bias"))
        if found is not None:
            return found
        for pattern, kind in _EXTRA_NAMES:
            if match := pattern.fullmatch(hf_name):
                return kind, gguf.TENSOR_NAMES[kind].format(bid=int(match.group(1))) + ".weight"
        raise ConvertError(f"tensor {hf_name!r} has no GGUF name in the {self._arch.name} architecture")


def interleave_rotary_halves(rows: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder the rows of a Q or K projection (or bias) from Hugging Face's rotate-half layout to
    llama.cpp's adjacent-pair layout: within each head, row i of the first half and row i of the
    second half become rows 2i and 2i+1."""
    head_dim = rows.shape[0] // n_heads
    half = head_dim // 2
    within_head = np.arange(head_dim).reshape(2, half).T.reshape(-1)  # 0, half, 1, half+1, ...
    order = (np.arange(n_heads)[:, None] * head_dim + within_head).reshape(-1)
    return rows[order]


def ternarize(weight: np.ndarray) -> np.ndarray:
    """BitNet b1.58's absmean weight quantization, as its BitLinear layers apply it on the fly and
    llama.cpp's converter bakes it in: scale by the mean |w|, round to -1/0/+1, scale back.

    The steps follow transformers' WeightQuant (multiply by the float32 inverse scale, divide by
    it again). The mean is summed in float64, so the scale may differ from torch's float32 sum
    in the last bit; the -1/0/+1 pattern is the same.
    """
    mean_abs = np.float32(max(float(np.mean(np.abs(weight), dtype=np.float64)), 1e-5))
    inverse = np.float32(1.0) / mean_abs
    return (np.clip(np.round(weight * inverse), -1.0, 1.0) / inverse).astype(np.float32)


def rope_metadata(config: dict[str, Any]) -> dict[str, Any]:
    """RoPE base and scaling: transformers 5 `rope_parameters`, or older `rope_theta` + `rope_scaling`."""
    parameters = config.get("rope_parameters") or config.get("rope_scaling") or {}
    if not isinstance(parameters, dict):
        raise ConvertError("config.json: rope_parameters must be an object")
    parameters = dict(parameters)
    if "rope_theta" not in parameters and "rope_theta" in config:
        parameters["rope_theta"] = config["rope_theta"]
    parameters.setdefault("rope_type", parameters.get("type", "default"))
    if parameters["rope_type"] == "su":
        parameters["rope_type"] = "longrope"
    if parameters["rope_type"] not in ("default", "linear", "yarn", "llama3", "longrope"):
        raise ConvertError(f"RoPE scaling {parameters['rope_type']!r} is not supported (linear, yarn, llama3, longrope)")
    return parameters


def llama3_rope_factors(parameters: dict[str, Any], head_dim: int) -> np.ndarray:
    """Llama 3.1's per-frequency RoPE divisors, written as the rope_freqs tensor.

    Frequencies whose wavelength is below original_context/high_freq_factor keep their value,
    those above original_context/low_freq_factor are divided by `factor`, and the band between
    interpolates smoothly (the scheme of Meta's reference code and transformers).
    """
    base = float(parameters.get("rope_theta", 10000.0))
    factor = float(parameters.get("factor", 8.0))
    low = float(parameters.get("low_freq_factor", 1.0))
    high = float(parameters.get("high_freq_factor", 4.0))
    original = float(parameters.get("original_max_position_embeddings", 8192))
    frequencies = 1.0 / base ** (np.arange(0, head_dim, 2, dtype=np.float32) / np.float32(head_dim))
    wavelengths = 2 * np.pi / frequencies
    smooth = (original / wavelengths - low) / (high - low)
    divisors = np.where(
        wavelengths < original / high, 1.0,
        np.where(wavelengths > original / low, factor, 1.0 / ((1 - smooth) / factor + smooth)),
    )
    return divisors.astype(np.float32)


def phi3_rope_dims(config: dict[str, Any], shape: Shape) -> int:
    """Phi3MiniModel's rope.dimension_count: the rotated share of n_embd / n_head."""
    partial = config.get("partial_rotary_factor") or rope_metadata(config).get("partial_rotary_factor") or 1.0
    return int(float(partial) * shape.n_embd) // shape.n_head


def original_context(config: dict[str, Any]) -> int:
    value = config.get("original_max_position_embeddings") or rope_metadata(config).get("original_max_position_embeddings")
    if not isinstance(value, int) or value <= 0:
        raise ConvertError("config.json: phi3 needs original_max_position_embeddings")
    return value


def longrope_factors(config: dict[str, Any], shape: Shape) -> tuple[np.ndarray, np.ndarray] | None:
    """(long, short) LongRoPE factors, written as rope_factors_long / rope_factors_short; None without LongRoPE."""
    rope = rope_metadata(config)
    if rope["rope_type"] != "longrope":
        return None
    long, short = rope.get("long_factor"), rope.get("short_factor")
    pairs = phi3_rope_dims(config, shape) // 2
    if not isinstance(long, list) or not isinstance(short, list) or len(long) != pairs or len(short) != pairs:
        raise ConvertError(f"config.json: LongRoPE needs long_factor and short_factor of {pairs} values each")
    return np.asarray(long, np.float32), np.asarray(short, np.float32)


def _write_phi3_hyperparameters(writer: gguf.GGUFWriter, config: dict[str, Any], shape: Shape) -> None:
    """Phi3MiniModel.set_gguf_parameters and its LongRoPE attention factor."""
    original = original_context(config)
    writer.add_context_length(_config_int(config, "max_position_embeddings"))
    writer.add_rope_scaling_orig_ctx_len(original)
    writer.add_embedding_length(shape.n_embd)
    writer.add_feed_forward_length(_config_int(config, "intermediate_size"))
    writer.add_block_count(shape.n_layers)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-5)))
    writer.add_rope_dimension_count(phi3_rope_dims(config, shape))
    writer.add_rope_freq_base(float(rope_metadata(config).get("rope_theta", 10000.0)))
    writer.add_sliding_window(int(config.get("sliding_window") or 0))  # 0 marks Phi-4, says llama.cpp
    if longrope_factors(config, shape) is not None:
        scale = _config_int(config, "max_position_embeddings") / original
        writer.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(original)) if scale > 1 else 1.0)


def gemma3_global_rope(config: dict[str, Any]) -> dict[str, Any]:
    """The global layers' RoPE: transformers 5 nests it under rope_parameters.full_attention."""
    parameters = config.get("rope_parameters")
    if isinstance(parameters, dict) and isinstance(parameters.get("full_attention"), dict):
        return rope_metadata({**config, "rope_parameters": parameters["full_attention"]})
    return rope_metadata(config)


def _write_gemma3_hyperparameters(writer: gguf.GGUFWriter, config: dict[str, Any], shape: Shape) -> None:
    """Gemma3Model.set_gguf_parameters, transformers' defaults for absent keys. llama.cpp fixes the
    layer pattern (five sliding layers, one global) and the sliding layers' RoPE (base 10000) itself."""
    writer.add_context_length(int(config.get("max_position_embeddings", 131072)))
    writer.add_embedding_length(shape.n_embd)
    writer.add_block_count(shape.n_layers)
    writer.add_feed_forward_length(_config_int(config, "intermediate_size"))
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    rope = gemma3_global_rope(config)
    writer.add_rope_freq_base(float(rope.get("rope_theta", 1_000_000.0)))
    if rope["rope_type"] == "linear" and rope.get("factor") is not None:
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(rope["factor"]))
    elif rope["rope_type"] != "default":
        raise ConvertError(f"Gemma3 with {rope['rope_type']!r} RoPE scaling is not supported (linear)")
    if config.get("final_logit_softcapping"):
        writer.add_final_logit_softcapping(float(config["final_logit_softcapping"]))
    if config.get("sliding_window_pattern") != 1:
        writer.add_sliding_window(int(config.get("sliding_window", 4096)))


def write_hyperparameters(writer: gguf.GGUFWriter, architecture: Architecture, config: dict[str, Any],
                          shape: Shape) -> None:
    """The `{arch}.*` keys llama.cpp's converter writes for these architectures."""
    if architecture.name == "phi3":
        _write_phi3_hyperparameters(writer, config, shape)
        return
    if architecture.name == "gemma3":
        _write_gemma3_hyperparameters(writer, config, shape)
        return
    writer.add_block_count(shape.n_layers)
    if isinstance(config.get("max_position_embeddings"), int):
        writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(shape.n_embd)
    writer.add_feed_forward_length(_config_int(config, "intermediate_size"))
    writer.add_head_count(shape.n_head)
    if "num_key_value_heads" in config:
        writer.add_head_count_kv(shape.n_head_kv)
    rope = rope_metadata(config)
    if rope["rope_type"] in ("linear", "yarn") and rope.get("factor") is not None:
        scaling = gguf.RopeScalingType.LINEAR if rope["rope_type"] == "linear" else gguf.RopeScalingType.YARN
        writer.add_rope_scaling_type(scaling)
        writer.add_rope_scaling_factor(float(rope["factor"]))
        if scaling == gguf.RopeScalingType.YARN:
            if not isinstance(rope.get("original_max_position_embeddings"), int):
                raise ConvertError("config.json: yarn RoPE scaling without original_max_position_embeddings")
            writer.add_rope_scaling_orig_ctx_len(rope["original_max_position_embeddings"])
    if "rope_theta" in rope:
        writer.add_rope_freq_base(float(rope["rope_theta"]))
    if "rms_norm_eps" in config:
        writer.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
    if config.get("head_dim") is not None:
        writer.add_key_length(shape.head_dim)
        writer.add_value_length(shape.head_dim)
    if architecture.writes_vocab_and_rope_dims:
        writer.add_vocab_size(shape.n_vocab)
        writer.add_rope_dimension_count(shape.head_dim)
    if architecture.ternary:
        # llama.cpp's BitNet converter states "no scaling" explicitly.
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(1.0)
    if architecture.ffn_activation_key is not None:
        writer.add_string(NATIVE_FFN_ACTIVATION_KEY, architecture.ffn_activation_key)
