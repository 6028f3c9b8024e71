"""The synthetic model zoo: Hugging Face model folders with random weights and a real tokenizer.

Tests and benchmarks need models of every supported architecture without downloading any.
`tiny_model(name)` builds a small random-weight model with transformers (seconds, a few MB);
`full_shape(name)` writes the tensors of a real model's shape (TinyLlama-1.1B, BitNet-2B-4T)
straight to safetensors shards, for benchmarks only. Both are deterministic (fixed seeds) and
cached under `cache_dir()`, keyed by a hash of everything that determines their content.

The tokenizer of every zoo model is the real byte-level BPE vocabulary of the default model
(SmolLM2, 49,152 tokens; the first 4,096 of them for tiny models), rebuilt as a
`tokenizer.json` with the `tokenizers` library, so that transformers and llama.cpp both
tokenize real text. Zoo entries vary its pre-tokenizer to cover the pre-tokenizer types the
converter recognises.

Needs the `hf` extra (torch, transformers, safetensors) and the `tokenizers` package.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lockstep.text import pretokenizers
from lockstep.zoo.known_models import default_model_path

# Bump when the generated content changes for the same spec, so stale caches are not reused.
GENERATOR_VERSION = 2


@dataclass(frozen=True)
class ZooSpec:
    """Everything that determines one zoo model's files."""

    name: str
    model_class: str  # transformers class, e.g. "LlamaForCausalLM"
    config: dict[str, Any]  # keyword arguments of the transformers config class
    pre_tokenizer: str  # one of pretokenizers.KNOWN (llama.cpp's tokenizer.ggml.pre names)
    add_bos: bool  # whether the tokenizer prepends BOS, as Llama 3 and Mistral do
    seed: int = 0
    description: str = ""
    config_class: str = field(default="")

    def __post_init__(self) -> None:
        if not self.config_class:
            object.__setattr__(self, "config_class", self.model_class.replace("ForCausalLM", "Config"))


def _small(**overrides: Any) -> dict[str, Any]:
    """A tiny config: GQA (4 query heads sharing 2 KV heads), two layers, the zoo vocabulary."""
    config: dict[str, Any] = dict(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        intermediate_size=128,
        vocab_size=TINY_VOCAB_SIZE,
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
    )
    config.update(overrides)
    return config


# The default model's vocabulary size; its ids 1 and 2 are <|im_start|> and <|im_end|>.
ZOO_VOCAB_SIZE = 49152
# Tiny models keep the first 4,096 tokens (and the merges among them): loading a 49,152-token
# tokenizer or GGUF vocabulary costs seconds, which every test would pay.
TINY_VOCAB_SIZE = 4096

TINY: dict[str, ZooSpec] = {
    spec.name: spec
    for spec in (
        ZooSpec(
            "llama", "LlamaForCausalLM", _small(tie_word_embeddings=True), "smollm", add_bos=False,
            description="SmolLM2-style llama: tied embeddings, Q/K rows permuted by the converter",
        ),
        ZooSpec(
            "llama-256", "LlamaForCausalLM",
            # Rows of 256 elements: every block size fits, the K-quants' 256 included.
            _small(hidden_size=256, head_dim=64, intermediate_size=512, tie_word_embeddings=False),
            "smollm", add_bos=False,
            description="llama with 256-wide rows, so that every quantization type applies (K-quants included)",
        ),
        ZooSpec(
            "llama3", "LlamaForCausalLM",
            _small(
                tie_word_embeddings=False,
                max_position_embeddings=131072,
                rope_parameters={
                    "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192,
                },
            ),
            "llama-bpe", add_bos=True,
            description="Llama-3.1-style llama: llama3 RoPE scaling (rope_freqs tensor), separate output",
        ),
        ZooSpec(
            "mistral", "MistralForCausalLM", _small(tie_word_embeddings=False, sliding_window=None), "gpt-2",
            add_bos=True, description="mistral: written as llama.cpp's llama architecture",
        ),
        ZooSpec(
            "qwen2", "Qwen2ForCausalLM", _small(tie_word_embeddings=True), "qwen2", add_bos=False,
            description="qwen2: Q/K/V biases, NEOX RoPE (no permutation)",
        ),
        ZooSpec(
            "qwen3", "Qwen3ForCausalLM", _small(tie_word_embeddings=True), "qwen2", add_bos=False,
            description="qwen3: an RMSNorm over each query and key head, no Q/K/V biases",
        ),
        ZooSpec(
            # Phi-4-mini's layout: the phi3 architecture with a byte-level BPE vocabulary and three
            # quarters of each head rotated. Not named "phi3": llama.cpp gives a model whose
            # general.name says phi-3 SentencePiece's "</s>" token, which this vocabulary lacks.
            "phi4-mini", "Phi3ForCausalLM",
            _small(tie_word_embeddings=False, partial_rotary_factor=0.75, original_max_position_embeddings=2048,
                   sliding_window=None),
            "smollm", add_bos=False,
            description="phi3 architecture (Phi-4-mini style): fused QKV and gate/up matrices, partial rotary",
        ),
        ZooSpec(
            "gemma3", "Gemma3ForCausalLM",
            # Six layers: llama.cpp fixes gemma3's pattern at five sliding-window layers, then a global
            # one. A window of 4 tokens, so that every test prompt reaches past it; the query scale,
            # the sliding layers' RoPE base and no final soft-cap are what llama.cpp assumes.
            _small(num_hidden_layers=6, sliding_window=4, query_pre_attn_scalar=16, final_logit_softcapping=None,
                   hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
                   rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                    "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}}),
            "smollm", add_bos=True, config_class="Gemma3TextConfig",
            description="gemma3 (text): scaled embeddings, (1 + w) norms around attention and GeGLU, Q/K norms, "
                        "sliding-window layers with their own RoPE base",
        ),
        ZooSpec(
            "bitnet", "BitNetForCausalLM",
            # Rows must be multiples of 256 for TQ1_0/TQ2_0; llama.cpp's bitnet graph uses SiLU.
            _small(hidden_size=256, head_dim=64, intermediate_size=512, hidden_act="silu", tie_word_embeddings=True),
            "llama-bpe", add_bos=True,
            description="BitNet b1.58 with SiLU (1bitLLM style, llama.cpp's 'bitnet' architecture)",
        ),
        ZooSpec(
            "bitnet-b1.58", "BitNetForCausalLM",
            _small(
                hidden_size=256, head_dim=64, intermediate_size=512, hidden_act="relu2", tie_word_embeddings=True,
                rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
            ),
            "llama-bpe", add_bos=True,
            description="BitNet b1.58 with squared ReLU (BitNet-2B-4T style, bitnet.cpp's 'bitnet-b1.58')",
        ),
    )
}

FULL: dict[str, ZooSpec] = {
    spec.name: spec
    for spec in (
        ZooSpec(
            "tinyllama-1.1b", "LlamaForCausalLM",
            dict(
                hidden_size=2048, num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4,
                head_dim=64, intermediate_size=5632, vocab_size=32000, max_position_embeddings=2048,
                rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            ),
            "smollm", add_bos=True,
            description="TinyLlama-1.1B's shape; vocabulary: the zoo's BPE cut to 32,000 tokens",
        ),
        ZooSpec(
            "bitnet-b1.58-2b-4t", "BitNetForCausalLM",
            dict(
                hidden_size=2560, num_hidden_layers=30, num_attention_heads=20, num_key_value_heads=5,
                head_dim=128, intermediate_size=6912, vocab_size=128256, max_position_embeddings=4096,
                rms_norm_eps=1e-5, hidden_act="relu2", tie_word_embeddings=True, bos_token_id=1,
                eos_token_id=2, rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
            ),
            "llama-bpe", add_bos=True,
            description="BitNet-b1.58-2B-4T's shape; the 49,152 real tokens, the rest of the rows unused",
        ),
    )
}


def cache_dir() -> Path:
    """Where generated models live: $LOCKSTEP_CACHE/synthetic, else ~/.cache/lockstep/synthetic."""
    root = os.environ.get("LOCKSTEP_CACHE") or Path.home() / ".cache" / "lockstep"
    return Path(root).expanduser() / "synthetic"


def tiny_model(name: str, out_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder of tiny zoo model `name` (see TINY), built on first use.

    With `out_dir`, the model is written (or found) there instead of the cache.
    """
    spec = _lookup(TINY, name)
    return _materialize(spec, out_dir, _write_tiny)


def full_shape(name: str, dtype: str = "bfloat16", out_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder of a full-size random-weight model (see FULL), built on first use.

    Several GB: for benchmarks only. `dtype` is the safetensors dtype ("bfloat16", "float16"
    or "float32").
    """
    spec = _lookup(FULL, name)
    if dtype not in _NUMPY_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_NUMPY_DTYPES)}, got {dtype!r}")
    return _materialize(spec, out_dir, lambda s, d: _write_full(s, d, dtype), dtype)


def _lookup(table: dict[str, ZooSpec], name: str) -> ZooSpec:
    if name not in table:
        raise KeyError(f"unknown zoo model {name!r}; known: {', '.join(table)}")
    return table[name]


def spec_digest(spec: ZooSpec, *extra: str) -> str:
    """Names a cached model: the spec, the generator version and the vocabulary's source file."""
    vocabulary_source = default_model_path().stat().st_size
    payload = json.dumps([GENERATOR_VERSION, asdict(spec), vocabulary_source, *extra], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _materialize(spec: ZooSpec, out_dir, write, *extra: str) -> Path:
    target = Path(out_dir) if out_dir is not None else cache_dir() / f"{spec.name}-{spec_digest(spec, *extra)}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the target and rename: a reader never sees a half-written model. If another
    # process finished the same model first, its copy is kept and ours discarded.
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=target.parent))
    try:
        write(spec, staging)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise FileExistsError(f"{target} exists and is not a zoo model; remove it or choose another folder") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# ---------------------------------------------------------------------------- tokenizer


def _default_vocabulary() -> dict[str, Any]:
    """Tokens, token types, merges and special-token metadata of the default model's GGUF."""
    from lockstep.formats import gguf as gguf_reader

    model = gguf_reader.open(default_model_path())
    vocabulary: dict[str, Any] = {
        "tokens": model.get_strings("tokenizer.ggml.tokens"),
        "token_types": model.get_ints("tokenizer.ggml.token_type"),
        "merges": model.get_strings("tokenizer.ggml.merges"),
        "chat_template": model.get_string("tokenizer.chat_template"),
    }
    for key in ("bos_token_id", "eos_token_id", "unknown_token_id", "padding_token_id"):
        vocabulary[key] = model.get_uint(f"tokenizer.ggml.{key}")
    return vocabulary


def save_tokenizer(out_dir: Path, pre_tokenizer: str, add_bos: bool, n_vocab: int = ZOO_VOCAB_SIZE) -> None:
    """Write tokenizer.json, tokenizer_config.json and the chat template of the zoo vocabulary.

    With n_vocab below the default model's 49,152 the vocabulary is cut to its first n_vocab
    tokens, keeping only the merges whose parts and result survive (still a valid BPE).
    """
    import gguf
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors
    from transformers import PreTrainedTokenizerFast

    vocabulary = _default_vocabulary()
    tokens, token_types, merges = vocabulary["tokens"], vocabulary["token_types"], vocabulary["merges"]
    n_keep = min(n_vocab, len(tokens))
    vocab = {token: i for i, token in enumerate(tokens[:n_keep])}
    pairs = [tuple(merge.split(" ", 1)) for merge in merges]
    pairs = [(a, b) for a, b in pairs if a in vocab and b in vocab and a + b in vocab]
    control = [token for token, kind in zip(tokens[:n_keep], token_types) if kind == gguf.TokenType.CONTROL]

    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=pairs))
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in control])
    bos, eos = tokens[vocabulary["bos_token_id"]], tokens[vocabulary["eos_token_id"]]
    if add_bos:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A $B:1", special_tokens=[(bos, vocabulary["bos_token_id"])]
        )
    else:
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    # The pre-tokenizer goes in as its tokenizer.json section, the form the converter reads back.
    document = json.loads(tokenizer.to_str())
    document["pre_tokenizer"] = pretokenizers.KNOWN[pre_tokenizer]
    tokenizer = Tokenizer.from_str(json.dumps(document))

    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        unk_token=tokens[vocabulary["unknown_token_id"]],
        pad_token=tokens[vocabulary["padding_token_id"]],
        clean_up_tokenization_spaces=False,
    )
    wrapped.chat_template = vocabulary["chat_template"]
    wrapped.save_pretrained(out_dir)


# ------------------------------------------------------------------------------ weights


def _config(spec: ZooSpec):
    import transformers

    config = getattr(transformers, spec.config_class)(**spec.config)
    config.architectures = [spec.model_class]
    return config


def _initial_value(name: str, shape: tuple[int, ...], rng: np.random.Generator, gemma: bool = False) -> np.ndarray:
    """Random weights scaled so activations and logits stay O(1) through the tiny network.

    Norm weights are near 1 and biases near 0 but random, so a mis-wired norm or bias shows in
    the logits. Embeddings have std 0.5 (when tied they also produce logits of std ~4).
    """
    draw = rng.standard_normal(shape, dtype=np.float32)
    if len(shape) == 1 and name.endswith("norm.weight"):
        return (0.0 if gemma else 1.0) + 0.1 * draw  # gemma multiplies by 1 + weight
    if len(shape) == 1:
        return 0.1 * draw
    if "embed_tokens" in name:
        return 0.5 * draw
    return draw / np.float32(np.sqrt(shape[1]))


# A float BitNet checkpoint holds latent weights: BitNet b1.58 (and llama.cpp's converter)
# ternarize its projections with the absmean quantizer, while transformers without a
# quantization_config, like the native engine on the folder, multiplies them as they are. The zoo
# stores them as ±mean|w|, the quantizer's one fixed point, so that the folder and its GGUF
# conversions hold the same weights and a difference between backends is one of the engines.
_BITNET_PROJECTIONS = frozenset({"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"})


def _already_ternary(value: np.ndarray) -> np.ndarray:
    magnitude = np.float32(np.mean(np.abs(value), dtype=np.float64))
    return np.where(value >= 0, magnitude, -magnitude).astype(np.float32)


def _write_tiny(spec: ZooSpec, out_dir: Path) -> None:
    import torch
    import transformers

    config = _config(spec)
    model = getattr(transformers, spec.model_class)(config).eval()
    rng = np.random.default_rng(spec.seed)
    with torch.no_grad():
        for name, parameter in sorted(model.named_parameters(), key=lambda item: item[0]):
            value = _initial_value(name, tuple(parameter.shape), rng, gemma=spec.model_class.startswith("Gemma"))
            if spec.model_class == "BitNetForCausalLM" and name.rsplit(".", 2)[-2] in _BITNET_PROJECTIONS:
                value = _already_ternary(value)
            parameter.copy_(torch.from_numpy(value))
    model.save_pretrained(out_dir)
    save_tokenizer(out_dir, spec.pre_tokenizer, spec.add_bos, config.vocab_size)


_NUMPY_DTYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": None}  # bfloat16 via ml_dtypes
_SHARD_BYTES = 1 << 30


def _numpy_dtype(dtype: str):
    if dtype == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    return _NUMPY_DTYPES[dtype]


def _tensor_shapes(spec: ZooSpec) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Names and shapes of the checkpoint tensors, from the model built on the meta device (no memory)."""
    import torch
    import transformers

    config = _config(spec)
    with torch.device("meta"):
        model = getattr(transformers, spec.model_class)(config)
    for name, tensor in model.state_dict().items():
        if config.tie_word_embeddings and name == "lm_head.weight":
            continue  # save_pretrained leaves the tied head out, and so do we
        yield name, tuple(tensor.shape)


def _shard_plan(spec: ZooSpec, item_size: int) -> list[list[tuple[str, tuple[int, ...]]]]:
    """Tensors grouped into shards of about _SHARD_BYTES, in checkpoint order."""
    shards: list[list[tuple[str, tuple[int, ...]]]] = [[]]
    shard_bytes = 0
    for name, shape in _tensor_shapes(spec):
        nbytes = int(np.prod(shape)) * item_size
        if shards[-1] and shard_bytes + nbytes > _SHARD_BYTES:
            shards.append([])
            shard_bytes = 0
        shards[-1].append((name, shape))
        shard_bytes += nbytes
    return shards


def _write_full(spec: ZooSpec, out_dir: Path, dtype: str) -> None:
    """Random tensors into safetensors shards with an index; one shard in memory at a time."""
    from safetensors.numpy import save_file

    numpy_dtype = _numpy_dtype(dtype)
    rng = np.random.default_rng(spec.seed)
    config = _config(spec)
    plan = _shard_plan(spec, np.dtype(numpy_dtype).itemsize)
    weight_map: dict[str, str] = {}
    total = 0
    for index, entries in enumerate(plan):
        file_name = f"model-{index + 1:05d}-of-{len(plan):05d}.safetensors"
        shard = {name: _initial_value(name, shape, rng).astype(numpy_dtype) for name, shape in entries}
        save_file(shard, out_dir / file_name, metadata={"format": "pt"})
        total += sum(value.nbytes for value in shard.values())
        weight_map.update({name: file_name for name in shard})
        del shard
    index_doc = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out_dir / "model.safetensors.index.json").write_text(json.dumps(index_doc, indent=2))
    config.dtype = dtype
    config.save_pretrained(out_dir)
    save_tokenizer(out_dir, spec.pre_tokenizer, spec.add_bos, config.vocab_size)


# ---------------------------------------------------------------------- large vocabularies

# Gemma 3's vocabulary size; its tokenizer has thousands of added tokens.
LARGE_VOCAB_SIZE = 262144


def save_large_tokenizer(out_dir: str | os.PathLike[str], n_vocab: int = LARGE_VOCAB_SIZE, n_added: int = 6144,
                         seed: int = 0) -> Path:
    """A byte-level BPE tokenizer of `n_vocab` tokens whose last `n_added` are added tokens
    (half of them special), written with transformers' save_pretrained; returns the folder.

    The base tokens are the 256 single bytes and random byte strings of 2-6 bytes, so many
    are partial UTF-8 sequences, as in real byte-level vocabularies. No merges: the vocabulary
    is for code that walks every id (vocabulary bridges, piece tables), not for tokenizing.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    to_char = bytes_to_unicode()
    rng = np.random.default_rng(seed)
    pieces: dict[bytes, None] = dict.fromkeys(bytes([b]) for b in range(256))
    while len(pieces) < n_vocab - n_added:
        length = int(rng.integers(2, 7))
        pieces.setdefault(bytes(rng.integers(0, 256, length, dtype=np.uint8).tolist()))
    vocab = {"".join(to_char[b] for b in piece): i for i, piece in enumerate(pieces)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    half = n_added // 2
    tokenizer.add_special_tokens([AddedToken(f"<|reserved_special_{i}|>", special=True) for i in range(half)])
    tokenizer.add_tokens([AddedToken(f"<added_{i}>", special=False, normalized=False) for i in range(n_added - half)])
    out = Path(out_dir)
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|reserved_special_0|>",
                            eos_token="<|reserved_special_1|>").save_pretrained(out)
    return out
