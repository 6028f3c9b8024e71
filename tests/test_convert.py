"""lockstep convert against independent references.

- The GGUF as the gguf package reads it: the tensor names, shapes, types and metadata keys
  llama.cpp's loader asks for, and a tokenizer equal to the Hugging Face one.
- llama.cpp (llama-cpp-python) running the converted F32 file gives the logits of transformers
  (float32, eager attention) on the same ids: this proves the Q/K permutation (llama, mistral),
  its absence (qwen2, bitnet), the RoPE metadata and the tensor wiring.
- Quantized tensors hold exactly gguf.quants' bytes for the (permuted, ternarized) weights, and
  llama.cpp runs them close to transformers running the same quantized weights.
- The CLI's exit codes, and malformed folders failing cleanly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gguf
import llama_cpp
import numpy as np
import pytest
import torch
import transformers
from safetensors.numpy import load_file

from lockstep.cli.main import main
from lockstep.conversion.convert import convert
from lockstep.errors import ConvertError, UnsupportedTypeError
from lockstep.zoo import synthetic

Q = gguf.GGMLQuantizationType
# Digits in runs, contractions, repeated spaces, a newline and non-ASCII text: the cases where
# the pre-tokenizers differ.
TEXT = (
    "The quick brown fox jumps over the lazy dog; 12345 apples aren't oranges, I'd say.\n"
    "  Hello there,   general Kenobi! 3.14 'RE Ünïcödé naïve café — once upon a time"
)
N_TOKENS = 32
GGUF_ARCH = {"llama": "llama", "llama3": "llama", "mistral": "llama", "qwen2": "qwen2", "bitnet": "bitnet",
             "bitnet-b1.58": "bitnet-b1.58", "qwen3": "qwen3", "phi4-mini": "phi3", "gemma3": "gemma3"}
RUNNABLE = ["llama", "llama3", "mistral", "qwen2", "bitnet", "qwen3", "phi4-mini", "gemma3"]  # no bitnet-b1.58 graph
# gemma3: measured 1.3e-4 (llama.cpp's float16 GELU table; emulated in transformers, 2.7e-5).
LLAMA_CPP_F32_TOLERANCE = {"gemma3": 3e-4}
TERNARY_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def config_of(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def field(reader: gguf.GGUFReader, key: str):
    return reader.fields[key].contents() if key in reader.fields else None


# ------------------------------------------------------------------ independent references


def llama_cpp_order(rows: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp's Q/K permutation as its converter states it (reshape, swap, reshape)."""
    return rows.reshape(n_heads, 2, rows.shape[0] // n_heads // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def transformers_weight_quant(weight: np.ndarray) -> np.ndarray:
    """BitNet's absmean ternarization as transformers' own BitNet integration computes it."""
    import torch._dynamo
    from transformers.integrations.bitnet import WeightQuant

    with torch._dynamo.config.patch(disable=True):  # run eagerly, without compiling
        return WeightQuant.apply(torch.from_numpy(weight)).numpy()


def hf_model(folder: Path, rewrite=None):
    """transformers in float32 with eager attention; `rewrite(name, weight)` may replace 2-D weights."""
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    if model.config.model_type == "bitnet":  # BitLinear semantics: the projections run ternarized
        inner = rewrite
        def rewrite(name, weight):
            if name.rsplit(".", 2)[-2] in TERNARY_PROJECTIONS:
                weight = transformers_weight_quant(weight)
            return inner(name, weight) if inner else weight
    if rewrite is not None:
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if parameter.ndim == 2:
                    parameter.copy_(torch.from_numpy(np.ascontiguousarray(rewrite(name, parameter.numpy()))))
    return model


def hf_logits(model, ids: list[int]) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


def llama_cpp_logits(path: Path, ids: list[int]) -> np.ndarray:
    # F32 KV cache: llama.cpp's default F16 cache would round K and V.
    llm = llama_cpp.Llama(str(path), n_ctx=64, n_batch=64, logits_all=True, verbose=False, type_k=0, type_v=0)
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


def prompt_ids(folder: Path) -> list[int]:
    ids = transformers.AutoTokenizer.from_pretrained(folder)(TEXT).input_ids
    assert len(ids) >= N_TOKENS
    return ids[:N_TOKENS]


# -------------------------------------------------------------- 1. the file llama.cpp reads


def expected_tensors(name: str, config: dict) -> dict[str, list[int]]:
    """The tensors llama.cpp's loader creates for the architecture, in ggml order (row length first)."""
    n_embd, n_ff, n_vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    q_rows = config["num_attention_heads"] * config["head_dim"]
    kv_rows = config["num_key_value_heads"] * config["head_dim"]
    head_dim = config["head_dim"]
    tensors = {"token_embd.weight": [n_embd, n_vocab], "output_norm.weight": [n_embd]}
    if not config["tie_word_embeddings"]:
        tensors["output.weight"] = [n_embd, n_vocab]
    if config["rope_parameters"].get("rope_type") == "llama3":
        tensors["rope_freqs.weight"] = [config["head_dim"] // 2]
    for block in range(config["num_hidden_layers"]):
        layer = {
            "attn_norm.weight": [n_embd], "attn_q.weight": [n_embd, q_rows], "attn_k.weight": [n_embd, kv_rows],
            "attn_v.weight": [n_embd, kv_rows], "attn_output.weight": [q_rows, n_embd], "ffn_norm.weight": [n_embd],
            "ffn_gate.weight": [n_embd, n_ff], "ffn_up.weight": [n_embd, n_ff], "ffn_down.weight": [n_ff, n_embd],
        }
        if name == "qwen2":
            layer.update({"attn_q.bias": [q_rows], "attn_k.bias": [kv_rows], "attn_v.bias": [kv_rows]})
        if name.startswith("bitnet"):
            layer.update({"attn_sub_norm.weight": [n_embd], "ffn_sub_norm.weight": [n_ff]})
        if name in ("qwen3", "gemma3"):
            layer.update({"attn_q_norm.weight": [head_dim], "attn_k_norm.weight": [head_dim]})
        if name == "gemma3":
            layer.update({"post_attention_norm.weight": [n_embd], "post_ffw_norm.weight": [n_embd]})
        if GGUF_ARCH[name] == "phi3":  # fused: Q, K, V rows in one matrix; gate rows then up rows in ffn_up
            for fused in ("attn_q.weight", "attn_k.weight", "attn_v.weight", "ffn_gate.weight"):
                del layer[fused]
            layer.update({"attn_qkv.weight": [n_embd, q_rows + 2 * kv_rows], "ffn_up.weight": [n_embd, 2 * n_ff]})
        tensors.update({f"blk.{block}.{key}": shape for key, shape in layer.items()})
    return tensors


@pytest.mark.parametrize("name", list(GGUF_ARCH))
def test_f32_file_has_llama_cpp_names_shapes_and_metadata(name, zoo, converted):
    folder, config = zoo(name), config_of(zoo(name))
    reader = gguf.GGUFReader(converted(name, "f32"))
    arch = GGUF_ARCH[name]

    tensors = {tensor.name: tensor for tensor in reader.tensors}
    expected = expected_tensors(name, config)
    assert sorted(tensors) == sorted(expected)
    for tensor_name, shape in expected.items():
        assert list(tensors[tensor_name].shape) == shape, tensor_name
        assert tensors[tensor_name].tensor_type == Q.F32

    assert field(reader, "general.architecture") == arch
    assert field(reader, "general.file_type") == gguf.LlamaFileType.ALL_F32
    assert field(reader, f"{arch}.block_count") == config["num_hidden_layers"]
    assert field(reader, f"{arch}.context_length") == config["max_position_embeddings"]
    assert field(reader, f"{arch}.embedding_length") == config["hidden_size"]
    assert field(reader, f"{arch}.feed_forward_length") == config["intermediate_size"]
    assert field(reader, f"{arch}.attention.head_count") == config["num_attention_heads"]
    assert field(reader, f"{arch}.attention.head_count_kv") == config["num_key_value_heads"]
    # Phi3MiniModel writes no key_length (it is n_embd / n_head), the rotated dimensions instead.
    assert field(reader, f"{arch}.attention.key_length") == (None if arch == "phi3" else config["head_dim"])
    rope = config["rope_parameters"].get("full_attention", config["rope_parameters"])  # gemma3 nests by layer type
    assert field(reader, f"{arch}.rope.freq_base") == rope["rope_theta"]
    assert field(reader, f"{arch}.attention.layer_norm_rms_epsilon") == pytest.approx(config["rms_norm_eps"])
    # llama.cpp's converter writes these two for its llama architecture only (and phi3's rotated part).
    assert field(reader, f"{arch}.vocab_size") == (config["vocab_size"] if arch == "llama" else None)
    rotated = {"llama": config["head_dim"], "phi3": int(config.get("partial_rotary_factor", 1) * config["head_dim"])}
    assert field(reader, f"{arch}.rope.dimension_count") == rotated.get(arch)
    if arch == "phi3":
        assert field(reader, "phi3.rope.scaling.original_context_length") == config["original_max_position_embeddings"]
        assert field(reader, "phi3.attention.sliding_window") == 0
    if arch == "gemma3":
        assert field(reader, "gemma3.attention.sliding_window") == config["sliding_window"]
        assert field(reader, "gemma3.final_logit_softcapping") is None
    if arch.startswith("bitnet"):
        assert field(reader, f"{arch}.rope.scaling.type") == "linear"
        assert field(reader, f"{arch}.rope.scaling.factor") == 1.0

    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    document = json.loads((folder / "tokenizer.json").read_text())
    tokens = field(reader, "tokenizer.ggml.tokens")
    assert field(reader, "tokenizer.ggml.model") == "gpt2"
    assert field(reader, "tokenizer.ggml.pre") == synthetic.TINY[name].pre_tokenizer
    assert tokens == tokenizer.convert_ids_to_tokens(list(range(config["vocab_size"])))
    token_types = field(reader, "tokenizer.ggml.token_type")
    control = {i for i, kind in enumerate(token_types) if kind == gguf.TokenType.CONTROL}
    assert control == set(tokenizer.all_special_ids) | {entry["id"] for entry in document["added_tokens"]}
    assert field(reader, "tokenizer.ggml.merges") == [" ".join(pair) for pair in document["model"]["merges"]]
    assert field(reader, "tokenizer.ggml.bos_token_id") == tokenizer.bos_token_id
    assert field(reader, "tokenizer.ggml.eos_token_id") == tokenizer.eos_token_id
    adds_bos = tokenizer("a").input_ids[0] == tokenizer.bos_token_id
    assert field(reader, "tokenizer.ggml.add_bos_token") is adds_bos
    assert field(reader, "tokenizer.ggml.add_eos_token") is False
    assert field(reader, "tokenizer.chat_template") == tokenizer.chat_template


# ------------------------------------------------- 2. llama.cpp computes transformers' logits


@pytest.mark.parametrize("name", RUNNABLE)
def test_llama_cpp_logits_on_f32_file_match_transformers(name, zoo, converted):
    folder = zoo(name)
    path = converted(name, "f32")
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    llm = llama_cpp.Llama(str(path), n_ctx=64, vocab_only=True, verbose=False)
    assert llm.tokenize(TEXT.encode(), add_bos=True, special=False) == tokenizer(TEXT).input_ids

    ids = prompt_ids(folder)
    expected = hf_logits(hf_model(folder), ids)
    got = llama_cpp_logits(path, ids)
    # Measured: max |difference| / max |logit| = 5e-7 .. 7e-7 for every architecture here but
    # gemma3, whose GELU llama.cpp looks up in a float16 table (GGML_GELU_FP16).
    assert np.abs(got - expected).max() <= LLAMA_CPP_F32_TOLERANCE.get(name, 5e-6) * np.abs(expected).max()


# ------------------------------------------------------ 3. quantized bytes and their logits


def expected_type(gguf_name: str, shape: tuple[int, ...], out_type: str) -> Q:
    if len(shape) == 1 or gguf_name.endswith("_norm.weight") or gguf_name.endswith(".bias"):
        return Q.F32
    if out_type.startswith("tq") and gguf_name == "token_embd.weight":
        return Q.F16
    return Q[out_type.upper()]


def expected_values(name: str, config: dict, hf_name: str, weight: np.ndarray) -> np.ndarray:
    if GGUF_ARCH[name] == "llama" and ".q_proj." in hf_name:
        return llama_cpp_order(weight, config["num_attention_heads"])
    if GGUF_ARCH[name] == "llama" and ".k_proj." in hf_name:
        return llama_cpp_order(weight, config["num_key_value_heads"])
    if name.startswith("bitnet") and hf_name.rsplit(".", 2)[-2] in TERNARY_PROJECTIONS:
        return transformers_weight_quant(weight)
    return weight


def gguf_name_of(hf_name: str, config: dict, arch: gguf.MODEL_ARCH) -> str:
    for suffix, short in (("attn_sub_norm.weight", "attn_sub_norm"), ("ffn_sub_norm.weight", "ffn_sub_norm")):
        if hf_name.endswith(suffix):
            return f"blk.{hf_name.split('.')[2]}.{short}.weight"
    return gguf.get_tensor_name_map(arch, config["num_hidden_layers"]).get_name(hf_name, try_suffixes=(".weight", ".bias"))


@pytest.mark.parametrize(
    "name, out_type",
    [("llama", "q8_0"), ("llama", "q4_0"), ("llama3", "q4_1"), ("mistral", "f16"), ("qwen2", "bf16"),
     ("qwen2", "q4_0"), ("bitnet", "tq1_0"), ("bitnet", "tq2_0")],
)
def test_tensor_bytes_equal_gguf_quants_of_the_transformed_weights(name, out_type, zoo, converted):
    folder, config = zoo(name), config_of(zoo(name))
    tensors = {tensor.name: tensor for tensor in gguf.GGUFReader(converted(name, out_type)).tensors}
    arch = {"llama": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2, "bitnet": gguf.MODEL_ARCH.BITNET}[
        GGUF_ARCH[name]]
    checked = 0
    for hf_name, weight in load_file(folder / "model.safetensors").items():
        gguf_name = gguf_name_of(hf_name, config, arch)
        tensor = tensors[gguf_name]
        kind = expected_type(gguf_name, weight.shape, out_type)
        assert tensor.tensor_type == kind, gguf_name
        values = expected_values(name, config, hf_name, weight.astype(np.float32))
        reference = values.astype(np.float16) if kind == Q.F16 else gguf.quants.quantize(values, kind)
        assert tensor.data.tobytes() == reference.tobytes(), gguf_name
        checked += 1
    assert checked == len(tensors) - ("rope_freqs.weight" in tensors)


@pytest.mark.parametrize(
    "name, out_type", [("llama", "q8_0"), ("llama", "q4_0"), ("qwen2", "q4_1"), ("bitnet", "tq1_0"), ("bitnet", "tq2_0")]
)
def test_llama_cpp_runs_quantized_file_close_to_transformers_on_the_same_weights(name, out_type, zoo, converted):
    """llama.cpp also rounds activations to 8 bits in quantized matmuls, so agreement is close, not exact."""
    folder = zoo(name)

    def quantized(hf_name: str, weight: np.ndarray) -> np.ndarray:
        if out_type.startswith("tq") and "embed_tokens" in hf_name:
            return weight.astype(np.float16).astype(np.float32)
        kind = Q[out_type.upper()]
        return gguf.quants.dequantize(gguf.quants.quantize(weight, kind), kind)

    ids = prompt_ids(folder)
    expected = hf_logits(hf_model(folder, quantized), ids)
    got = llama_cpp_logits(converted(name, out_type), ids)
    # Measured: relative RMS difference 1.6% .. 1.8%, top-1 agreement 91% .. 100%.
    assert np.sqrt(np.mean((got - expected) ** 2) / np.mean(expected**2)) < 0.04
    assert np.mean(got.argmax(axis=1) == expected.argmax(axis=1)) >= 0.8


def test_rows_that_do_not_fill_a_block_fall_back_to_f16_and_are_reported(monkeypatch, tmp_path):
    config = {**synthetic.TINY["llama"].config, "intermediate_size": 80}  # ffn_down rows: 80, not 32k
    spec = synthetic.ZooSpec("odd-llama", "LlamaForCausalLM", config, "smollm", add_bos=False)
    monkeypatch.setitem(synthetic.TINY, spec.name, spec)
    report = convert(synthetic.tiny_model(spec.name, tmp_path / "odd"), tmp_path / "odd.gguf", "q8_0")
    assert sorted(record.name for record in report.fallbacks) == ["blk.0.ffn_down.weight", "blk.1.ffn_down.weight"]
    assert all("block of 32" in record.fallback for record in report.fallbacks)
    types = {tensor.name: tensor.tensor_type for tensor in gguf.GGUFReader(tmp_path / "odd.gguf").tensors}
    assert types["blk.0.ffn_down.weight"] == Q.F16 and types["blk.0.ffn_up.weight"] == Q.Q8_0


def test_ternary_types_are_refused_for_models_that_are_not_ternary(zoo, tmp_path):
    with pytest.raises(UnsupportedTypeError, match="not ternary"):
        convert(zoo("llama"), tmp_path / "llama.gguf", "tq2_0")


def i2_s_values(raw: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Decode bitnet.cpp's I2_S from its description: blocks of 128 weights in 32 bytes, byte k
    holding weights k, k+32, k+64, k+96 at bit shifts 6, 4, 2, 0 as codes 0/1/2 for -1/0/+1,
    then one float32 scale for the tensor."""
    count = int(np.prod(shape))
    packed = raw[: count // 4].reshape(-1, 1, 32)
    codes = (packed >> np.array([6, 4, 2, 0], dtype=np.uint8).reshape(1, 4, 1)) & 3
    scale = raw[count // 4 : count // 4 + 4].view(np.float32)[0]
    return (codes.astype(np.float32) - 1).reshape(shape) * scale


def test_i2_s_holds_the_ternary_weights_in_bitnet_cpp_layout(zoo, converted):
    from lockstep.formats import gguf as lockstep_gguf  # gguf.GGUFReader rejects type id 36

    folder = zoo("bitnet")
    model = lockstep_gguf.open(converted("bitnet", "i2_s"))
    assert model.get_string("general.architecture") == "bitnet"
    assert model.get_uint("general.file_type") == 40  # bitnet.cpp's LLAMA_FTYPE_MOSTLY_I2_S
    infos = {info.name: info for info in model.tensor_infos}
    i2_s = 0
    for hf_name, weight in load_file(folder / "model.safetensors").items():
        projection = hf_name.rsplit(".", 2)[-2] in TERNARY_PROJECTIONS
        gguf_name = gguf_name_of(hf_name, config_of(folder), gguf.MODEL_ARCH.BITNET)
        info = infos[gguf_name]
        if projection:
            assert info.ggml_type.id == 36 and info.nbytes == weight.size // 4 + 32
            values = i2_s_values(np.asarray(model.tensors[gguf_name]).reshape(-1), weight.shape)
            expected = transformers_weight_quant(weight)
            assert np.array_equal(np.sign(values), np.sign(expected))
            np.testing.assert_allclose(values, expected, rtol=1e-6, atol=0)  # the scale: float64 vs torch's sum
            i2_s += 1
        else:
            assert info.ggml_type.name == ("F16" if gguf_name == "token_embd.weight" else "F32")
    assert i2_s == 7 * 2  # seven BitLinear projections per block


# ------------------------------------------------------------------------------ 4. CLI


def test_cli_converts_and_reports(zoo, tmp_path, capsys):
    out = tmp_path / "qwen2.gguf"
    assert main(["convert", str(zoo("qwen2")), str(out), "--type", "Q8_0"]) == 0
    assert gguf.GGUFReader(out).fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q8_0
    assert "qwen2" in capsys.readouterr().err


def test_cli_exit_codes_for_bad_folders_and_bad_usage(zoo, tmp_path, capsys):
    out = str(tmp_path / "out.gguf")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["convert", str(empty), out]) == 5
    assert "config.json" in capsys.readouterr().err

    gpt2 = tmp_path / "gpt2"
    gpt2.mkdir()
    (gpt2 / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}))
    assert main(["convert", str(gpt2), out]) == 5
    assert "GPT2LMHeadModel" in capsys.readouterr().err

    assert main(["convert", str(tmp_path / "missing"), out]) == 5
    assert main(["convert", str(zoo("llama")), out, "--type", "q5_k"]) == 64
    assert main(["convert", str(zoo("llama"))]) == 64
    assert main(["convert", str(zoo("llama")), out, "--type", "tq1_0"]) == 64
    assert "not ternary" in capsys.readouterr().err
    assert not Path(out).exists()


# ------------------------------------------------------------------- 5. malformed folders


def damaged_copy(zoo, tmp_path: Path, name: str = "qwen2") -> Path:
    folder = tmp_path / "damaged"
    shutil.copytree(zoo(name), folder)
    return folder


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / "config.json").write_text("{not json"), "not readable as JSON"),
        (lambda f: (f / "config.json").write_text("[1, 2]"), "expected a JSON object"),
        (lambda f: (f / "config.json").write_text(json.dumps({**config_of(f), "num_attention_heads": 0})),
         "num_attention_heads"),
        (lambda f: (f / "config.json").write_text(json.dumps({**config_of(f), "vocab_size": 1000})), "vocab_size"),
        (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:100_000]),
         "model.safetensors"),
        (lambda f: (f / "model.safetensors").write_bytes(b"\xff" * 8 + b"{}"), "model.safetensors"),
        (lambda f: (f / "model.safetensors").unlink(), "no safetensors"),
        (lambda f: (f / "tokenizer.json").unlink(), "no tokenizer.json"),
        (lambda f: (f / "tokenizer.json").write_text('{"model": {"type": "Unigram", "vocab": []}}'), "not a BPE"),
    ],
)
def test_malformed_folders_raise_convert_error_and_leave_no_file(damage, message, zoo, tmp_path):
    folder = damaged_copy(zoo, tmp_path)
    damage(folder)
    out = tmp_path / "out.gguf"
    with pytest.raises(ConvertError, match=message):
        convert(folder, out, "f16")
    assert not out.exists() and not list(tmp_path.glob(".out.gguf.*"))


def test_sharded_index_outside_the_folder_is_refused(zoo, tmp_path):
    folder = damaged_copy(zoo, tmp_path)
    (folder / "model.safetensors").rename(tmp_path / "elsewhere.safetensors")
    index = {"weight_map": {"model.embed_tokens.weight": "../elsewhere.safetensors"}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ConvertError, match="shard name '../elsewhere.safetensors'"):
        convert(folder, tmp_path / "out.gguf")


def test_pickle_only_checkpoints_are_refused_without_unpickling(zoo, tmp_path):
    folder = damaged_copy(zoo, tmp_path)
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"not even a pickle")
    with pytest.raises(ConvertError, match="never unpickles"):
        convert(folder, tmp_path / "out.gguf")


def test_unknown_pre_tokenizer_needs_pre_flag(zoo, tmp_path):
    folder = damaged_copy(zoo, tmp_path)
    document = json.loads((folder / "tokenizer.json").read_text())
    document["pre_tokenizer"] = {"type": "Whitespace"}
    (folder / "tokenizer.json").write_text(json.dumps(document))
    with pytest.raises(ConvertError, match="--pre"):
        convert(folder, tmp_path / "out.gguf")
    convert(folder, tmp_path / "out.gguf", pre="gpt-2")
    assert gguf.GGUFReader(tmp_path / "out.gguf").fields["tokenizer.ggml.pre"].contents() == "gpt-2"


# ------------------------------------------------------------------------ 6. the zoo itself


def test_tiny_models_are_deterministic(zoo, tmp_path):
    again = synthetic.tiny_model("llama", tmp_path / "llama")
    assert (again / "model.safetensors").read_bytes() == (zoo("llama") / "model.safetensors").read_bytes()
    assert (again / "tokenizer.json").read_text() == (zoo("llama") / "tokenizer.json").read_text()


def test_full_shape_writer_streams_sharded_bf16_that_converts(monkeypatch, tmp_path):
    """The full-size path on a tiny shape: sharded bfloat16 safetensors with an index."""
    spec = synthetic.ZooSpec("shape-test", "LlamaForCausalLM", synthetic.TINY["llama"].config, "smollm", add_bos=False)
    monkeypatch.setitem(synthetic.FULL, spec.name, spec)
    monkeypatch.setattr(synthetic, "_SHARD_BYTES", 1 << 18)
    folder = synthetic.full_shape(spec.name, "bfloat16", out_dir=tmp_path / "full")
    shards = sorted(folder.glob("model-*.safetensors"))
    assert len(shards) > 1
    weights = {name: value for shard in shards for name, value in load_file(shard).items()}
    assert transformers.AutoModelForCausalLM.from_pretrained(folder).config.num_hidden_layers == 2

    out = tmp_path / "full.gguf"
    convert(folder, out, "f32")
    tensors = {tensor.name: tensor for tensor in gguf.GGUFReader(out).tensors}
    embedding = weights["model.embed_tokens.weight"]
    assert str(embedding.dtype) == "bfloat16"
    assert np.array_equal(tensors["token_embd.weight"].data, embedding.astype(np.float32))
