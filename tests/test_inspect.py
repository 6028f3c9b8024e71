"""lockstep.inspect on real files of every format, checked against the formats' own libraries."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import gguf
import numpy as np
import pytest
import safetensors
import torch
import transformers
from tokenizers import Tokenizer

import lockstep
from inspect_models import (
    CHAT_TEMPLATE,
    onnx_model_bytes,
    save_hf_model,
    saved_model_bytes,
    sparse_gguf,
    sparse_safetensors,
    tflite_bytes,
    tiny_bert_config,
    tiny_llama_config,
    tiny_llama_gguf,
    write_gguf,
)

Q = gguf.GGMLQuantizationType


def reference_gguf_types(path: Path) -> dict[str, tuple[int, int, int]]:
    """Per ggml type: (tensors, elements, bytes), as the gguf package reads the file."""
    totals: dict[str, list[int]] = {}
    for tensor in gguf.GGUFReader(str(path)).tensors:
        total = totals.setdefault(tensor.tensor_type.name, [0, 0, 0])
        total[0] += 1
        total[1] += int(tensor.n_elements)
        total[2] += int(tensor.n_bytes)
    return {name: tuple(values) for name, values in totals.items()}


def reference_safetensors(paths: list[Path]) -> tuple[int, Counter]:
    """(parameters, tensors per dtype) as the safetensors package reads the files."""
    n_params, dtypes = 0, Counter()
    for path in paths:
        with safetensors.safe_open(str(path), "np") as handle:
            for name in handle.keys():
                sliced = handle.get_slice(name)
                n_params += int(np.prod(sliced.get_shape()))
                dtypes[sliced.get_dtype()] += 1
    return n_params, dtypes


def type_table(info: lockstep.ModelInfo) -> dict[str, tuple[int, int, int]]:
    return {stat.type: (stat.count, stat.n_elements, stat.nbytes) for stat in info.tensor_types}


# --- GGUF -----------------------------------------------------------------------------------------


def test_default_model_matches_the_gguf_package():
    path = lockstep.default_model_path()
    reader = gguf.GGUFReader(str(path))
    tokens = reader.fields["tokenizer.ggml.tokens"]
    info = lockstep.inspect(path)

    assert info.format == "gguf"
    assert info.architecture == reader.fields["general.architecture"].contents() == "llama"
    assert info.task == "text-generation"
    assert type_table(info) == reference_gguf_types(path)
    assert "Q4_1" in type_table(info)
    assert info.n_params == sum(int(tensor.n_elements) for tensor in reader.tensors)
    assert 130e6 < info.n_params < 140e6  # SmolLM2-135M
    assert info.tokenizer.kind == "bpe" and info.tokenizer.vocab_size == len(tokens.data) == 49152
    assert info.chat_template == reader.fields["tokenizer.chat_template"].contents()
    assert info.context_length == reader.fields["llama.context_length"].contents()
    assert not info.is_bitnet
    assert "llama.cpp" in [route.backend for route in info.routes]


def test_quantized_gguf_types_counts_and_bytes(tmp_path):
    path = tiny_llama_gguf(tmp_path / "tiny.gguf", Q.Q4_1)
    info = lockstep.inspect(path)
    assert type_table(info) == reference_gguf_types(path)
    assert type_table(info)["Q4_1"][0] == 2
    assert info.tokenizer.kind == "bpe" and info.tokenizer.vocab_size == 32
    assert info.has_chat_template and info.chat_template_source == "tokenizer.chat_template"


def test_extension_does_not_decide(tmp_path):
    path = tiny_llama_gguf(tmp_path / "weights.bin")
    assert lockstep.inspect(path).format == "gguf"


@pytest.mark.parametrize(
    ("arch", "metadata", "tokenizer_model", "task", "kind"),
    [
        ("bert", {"bert.pooling_type": 2}, "bert", "embedding", "wordpiece"),
        ("nomic-bert", {}, "bert", "embedding", "wordpiece"),
        ("qwen2", {"qwen2.pooling_type": 3}, "gpt2", "embedding", "bpe"),
        ("qwen2", {"qwen2.pooling_type": 4}, "gpt2", "text-classification", "bpe"),  # a reranker
        ("t5", {}, "t5", "text2text-generation", "unigram"),
        ("llama", {}, "llama", "text-generation", "spm"),
    ],
)
def test_gguf_task_and_tokenizer_from_metadata(tmp_path, arch, metadata, tokenizer_model, task, kind):
    tensors = {"token_embd.weight": (np.ones((32, 8), np.float32), Q.F32)}
    path = write_gguf(tmp_path / "m.gguf", arch, tensors, metadata=metadata, tokenizer_model=tokenizer_model, chat_template=None)
    info = lockstep.inspect(path)
    assert (info.architecture, info.task, info.tokenizer.kind) == (arch, task, kind)
    assert not info.has_chat_template


@pytest.mark.parametrize("qtype", [Q.TQ1_0, Q.TQ2_0])
def test_bitnet_by_ternary_tensor_types(tmp_path, qtype):
    info = lockstep.inspect(tiny_llama_gguf(tmp_path / "model.gguf", qtype))
    assert info.is_bitnet and qtype.name in info.bitnet_evidence


def test_bitnet_by_architecture(tmp_path):
    info = lockstep.inspect(tiny_llama_gguf(tmp_path / "model.gguf", Q.F32, arch="bitnet-b1.58"))
    assert info.is_bitnet and "bitnet-b1.58" in info.bitnet_evidence


def test_bitnet_never_by_file_name(tmp_path):
    info = lockstep.inspect(tiny_llama_gguf(tmp_path / "bitnet-b1.58-2B-4T-i2_s.gguf", Q.Q8_0))
    assert not info.is_bitnet and info.bitnet_evidence is None


def test_gguf_without_tokenizer_or_architecture(tmp_path):
    tensors = {"w": (np.ones((4, 32), np.float32), Q.F32)}
    path = write_gguf(tmp_path / "m.gguf", "llama", tensors, tokenizer_model=None, chat_template=None)
    info = lockstep.inspect(path)
    assert info.tokenizer is None and info.chat_template is None


@pytest.mark.parametrize("keep", [4, 8, 24, 40, 100, 200, -8])
def test_truncated_gguf_is_a_format_error(tmp_path, keep):
    whole = tiny_llama_gguf(tmp_path / "whole.gguf").read_bytes()
    path = tmp_path / "cut.gguf"
    path.write_bytes(whole[:keep])
    with pytest.raises(lockstep.FormatError) as caught:
        lockstep.inspect(path)
    assert str(path) in str(caught.value)


# --- Hugging Face folders and safetensors ---------------------------------------------------------


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory):
    return save_hf_model(tmp_path_factory.mktemp("llama"), transformers.LlamaForCausalLM(tiny_llama_config()))


def test_hf_llama_folder(llama_folder):
    info = lockstep.inspect(llama_folder)
    n_params, dtypes = reference_safetensors([llama_folder / "model.safetensors"])
    assert info.format == "hf" and info.weights_format == "safetensors" and not info.sharded
    assert info.architecture == "llama" and info.hf_architectures == ("LlamaForCausalLM",)
    assert info.task == "text-generation"
    assert info.n_params == n_params
    assert {stat.type: stat.count for stat in info.tensor_types} == dict(dtypes)
    reference = Tokenizer.from_file(str(llama_folder / "tokenizer.json"))
    assert info.tokenizer.kind == "bpe"
    assert info.tokenizer.vocab_size == reference.get_vocab_size(with_added_tokens=True)
    assert info.chat_template == CHAT_TEMPLATE
    assert info.context_length == 64
    assert not info.is_bitnet


def test_safetensors_file_in_its_folder_takes_the_folder_context(llama_folder):
    info = lockstep.inspect(llama_folder / "model.safetensors")
    assert info.format == "safetensors" and info.model_dir == str(llama_folder)
    assert info.architecture == "llama" and info.task == "text-generation"


def test_bare_safetensors_file(tmp_path):
    from safetensors.numpy import save_file

    save_file({"a": np.zeros((3, 4), np.float16), "b": np.zeros(5, np.float32)}, str(tmp_path / "weights.bin"))
    info = lockstep.inspect(tmp_path / "weights.bin")
    assert info.format == "safetensors" and info.model_dir is None
    assert info.n_params == 17 and type_table(info) == {"F16": (1, 12, 24), "F32": (1, 5, 20)}
    assert info.routes == () and "config.json" in info.route_error


def test_sharded_safetensors(tmp_path):
    folder = save_hf_model(tmp_path / "sharded", transformers.LlamaForCausalLM(tiny_llama_config()), max_shard_size="20KB")
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1
    n_params, _ = reference_safetensors([folder / name for name in shards])
    for target in (folder, folder / "model.safetensors.index.json"):
        info = lockstep.inspect(target)
        assert info.sharded and list(info.weight_files) == shards
        assert info.n_params == n_params and info.architecture == "llama"


@pytest.mark.parametrize(
    ("model_class", "task"),
    [
        ("BertModel", "embedding"),
        ("BertForSequenceClassification", "text-classification"),
        ("BertForTokenClassification", "token-classification"),
        ("BertForMaskedLM", "fill-mask"),
    ],
)
def test_bert_heads_give_the_task(tmp_path, model_class, task):
    folder = save_hf_model(tmp_path / model_class, getattr(transformers, model_class)(tiny_bert_config()), tokenizer="wordpiece")
    info = lockstep.inspect(folder)
    assert (info.architecture, info.hf_architectures, info.task) == ("bert", (model_class,), task)
    reference = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert info.tokenizer.kind == "wordpiece"
    assert info.tokenizer.vocab_size == reference.get_vocab_size(with_added_tokens=True)


def test_whisper_is_speech_recognition(tmp_path):
    config = transformers.WhisperConfig(
        vocab_size=64, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=8,
        max_source_positions=16, max_target_positions=16, pad_token_id=0, bos_token_id=1, eos_token_id=2,
        decoder_start_token_id=3,
    )  # fmt: skip
    folder = save_hf_model(tmp_path / "whisper", transformers.WhisperForConditionalGeneration(config), tokenizer=None)
    info = lockstep.inspect(folder)
    assert (info.architecture, info.task) == ("whisper", "speech-recognition")
    assert info.tokenizer is None


@pytest.mark.parametrize(
    ("config_class", "class_name", "task"),
    [
        ("LlavaConfig", "LlavaForConditionalGeneration", "image-to-text"),
        ("T5Config", "T5ForConditionalGeneration", "text2text-generation"),
        ("Qwen2Config", "Qwen2ForCausalLM", "text-generation"),
        ("VisionEncoderDecoderConfig", "VisionEncoderDecoderModel", "image-to-text"),
    ],
)
def test_task_from_real_configs(tmp_path, config_class, class_name, task):
    if config_class == "VisionEncoderDecoderConfig":
        config = transformers.VisionEncoderDecoderConfig.from_encoder_decoder_configs(
            transformers.ViTConfig(), transformers.GPT2Config()
        )
    else:
        config = getattr(transformers, config_class)()
    config.architectures = [class_name]
    config.save_pretrained(tmp_path)
    info = lockstep.inspect(tmp_path)
    assert info.task == task
    assert info.weights_format is None and "no weight files" in " ".join(info.warnings)


def test_bitnet_hf_by_model_type(tmp_path):
    config = transformers.BitNetConfig(
        vocab_size=300, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=64,
    )  # fmt: skip
    folder = save_hf_model(tmp_path / "bitnet", transformers.BitNetForCausalLM(config))
    info = lockstep.inspect(folder)
    assert info.is_bitnet and info.architecture == "bitnet" and info.task == "text-generation"


def test_bitnet_hf_by_quantization_config(tmp_path, llama_folder):
    folder = tmp_path / "quantized"
    folder.mkdir()
    for child in llama_folder.iterdir():
        (folder / child.name).write_bytes(child.read_bytes())
    config = json.loads((folder / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "bitnet", "linear_class": "autobitlinear"}
    (folder / "config.json").write_text(json.dumps(config))
    info = lockstep.inspect(folder)
    assert info.is_bitnet and "quant_method" in info.bitnet_evidence


def test_sentence_transformers_folder_is_embedding(tmp_path, llama_folder):
    for child in llama_folder.iterdir():
        (tmp_path / child.name).write_bytes(child.read_bytes())
    (tmp_path / "modules.json").write_text("[]")
    assert lockstep.inspect(tmp_path).task == "embedding"


def test_malformed_config_json_names_the_byte(tmp_path, llama_folder):
    text = '{"model_type": "llama", oops}'
    (tmp_path / "config.json").write_text(text)
    (tmp_path / "model.safetensors").write_bytes((llama_folder / "model.safetensors").read_bytes())
    with pytest.raises(lockstep.FormatError) as caught:
        lockstep.inspect(tmp_path)
    assert caught.value.offset == text.index("oops") and caught.value.path.endswith("config.json")


@pytest.mark.parametrize("cut", [4, 9, 40, -1])
def test_damaged_safetensors_is_a_format_error(tmp_path, llama_folder, cut):
    whole = (llama_folder / "model.safetensors").read_bytes()
    path = tmp_path / "model.safetensors"
    path.write_bytes(whole[:cut])
    if cut == 4:  # too short to be recognised at all
        assert lockstep.inspect(path).format == "unknown"
        return
    with pytest.raises(lockstep.FormatError):
        lockstep.inspect(path)


# --- PyTorch pickles: recognised, never unpickled -------------------------------------------------


class _Trap:
    """Unpickling this object creates a directory: proof that inspect never unpickles."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("zip_format", [True, False])
def test_pytorch_checkpoints_are_never_unpickled(tmp_path, zip_format):
    marker = tmp_path / "unpickled"
    path = tmp_path / "checkpoint.pt"
    state = {"weight": torch.zeros(4, 8), "bias": torch.zeros(8, dtype=torch.float16), "trap": _Trap(marker)}
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)

    info = lockstep.inspect(path)
    assert not marker.exists()
    assert info.format == "pytorch"
    assert info.weights_format == ("pytorch-zip" if zip_format else "pytorch-legacy")
    assert info.n_params is None and info.tensor_types == ()
    if zip_format:
        with zipfile.ZipFile(path) as archive:
            storages = [entry for entry in archive.infolist() if "/data/" in entry.filename]
        assert info.tensor_bytes == sum(entry.file_size for entry in storages) == 4 * 8 * 4 + 8 * 2
    assert "config.json" in info.route_error

    torch.load(path, weights_only=False)  # the trap is real: unpickling springs it
    assert marker.exists()


def test_hf_folder_with_pytorch_bin(tmp_path):
    model = transformers.LlamaForCausalLM(tiny_llama_config())
    model.config.save_pretrained(tmp_path)
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    info = lockstep.inspect(tmp_path)
    assert info.format == "hf" and info.weights_format == "pytorch-zip"
    assert info.weight_files == ("pytorch_model.bin",) and info.architecture == "llama"
    assert [route.backend for route in info.routes] == ["hf"]
    assert "weights_only=True" in info.routes[0].reason and "accept" in info.routes[0].reason


def test_torchscript_archive(tmp_path):
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "scripted.pt")
    info = lockstep.inspect(tmp_path / "scripted.pt")
    assert (info.format, info.weights_format) == ("pytorch", "torchscript")
    assert info.routes == () and "save_pretrained" in info.route_error


def test_plain_pickle_is_unknown_and_not_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"trap": _Trap(marker)}, protocol=4))
    info = lockstep.inspect(path)
    assert info.format == "unknown" and "pickle (protocol 4)" in info.format_detail
    assert not marker.exists()


# --- exported graph formats -----------------------------------------------------------------------


def test_onnx_by_its_protobuf_fields(tmp_path):
    path = tmp_path / "model.bin"  # the extension is irrelevant
    path.write_bytes(onnx_model_bytes(ir_version=9, producer="pytorch", producer_version="2.13.0"))
    info = lockstep.inspect(path)
    assert info.format == "onnx"
    assert "IR version 9" in info.format_detail and "pytorch 2.13.0" in info.format_detail
    assert "save_pretrained" in info.route_error and "lockstep convert" in info.route_error


def test_onnx_cut_short_is_not_onnx(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model_bytes()[:-3])
    assert lockstep.inspect(path).format == "unknown"


def test_tflite_flatbuffer(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(tflite_bytes(version=3))
    info = lockstep.inspect(path)
    assert info.format == "tflite" and "schema version 3" in info.format_detail
    assert "export" in info.route_error.lower()


def test_saved_model_folder(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(saved_model_bytes(meta_graphs=2))
    (tmp_path / "variables").mkdir()
    (tmp_path / "variables" / "variables.index").write_bytes(b"\0")
    info = lockstep.inspect(tmp_path)
    assert info.format == "saved_model" and "2 meta graph(s)" in info.format_detail
    assert "variables/variables.index" in info.weight_files
    assert info.routes == () and info.route_error


def test_damaged_saved_model_is_a_format_error(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"\x12\x7fshort")
    with pytest.raises(lockstep.FormatError, match="saved_model.pb"):
        lockstep.inspect(tmp_path)


# --- anything else --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "explanation"),
    [
        (b"", "empty"),
        (bytes(range(200, 256)) * 3, "c8 c9 ca cb"),
        (b"hello, this is text\n", "'hello, this is"),
        (b"\x89HDF\r\n\x1a\n" + bytes(64), "HDF5"),
        (b"{not json at all", "starts like JSON"),
    ],
)
def test_unknown_files_explain_their_bytes(tmp_path, content, explanation):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    info = lockstep.inspect(path)
    assert info.format == "unknown" and explanation in info.format_detail
    assert info.routes == () and info.route_error


def test_malformed_index_json_is_a_format_error(tmp_path):
    path = tmp_path / "model.safetensors.index.json"
    path.write_text('{"weight_map": ')
    with pytest.raises(lockstep.FormatError) as caught:
        lockstep.inspect(path)
    assert caught.value.offset == len('{"weight_map": ')


def test_zip_that_is_not_pytorch(tmp_path):
    with zipfile.ZipFile(tmp_path / "model.pt", "w") as archive:
        archive.writestr("readme.txt", "hello")
    info = lockstep.inspect(tmp_path / "model.pt")
    assert info.format == "unknown" and "readme.txt" in info.format_detail


def test_folder_without_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    info = lockstep.inspect(tmp_path)
    assert info.format == "unknown" and "notes.txt" in info.format_detail


def test_missing_path_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        lockstep.inspect(tmp_path / "nothing.gguf")


# --- headers only: multi-GB files inspect in well under a second ----------------------------------


@pytest.mark.parametrize("writer", [sparse_gguf, sparse_safetensors])
def test_large_sparse_files_inspect_from_headers_only(tmp_path, writer):
    path = writer(tmp_path / "big.model", 3 * 2**29)  # 1.5 GiB, almost all of it a sparse hole
    try:
        start = time.perf_counter()
        info = lockstep.inspect(path)
        elapsed = time.perf_counter() - start
        assert info.tensor_bytes >= 2**30
        assert elapsed < 1.0, f"inspect took {elapsed:.2f} s on a {path.stat().st_size} byte file"
    finally:
        path.unlink()


# --- JSON form ------------------------------------------------------------------------------------


def _all_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _all_keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _all_keys(item)}
    return set()


def test_json_is_stable_and_documented(tmp_path):
    path = tiny_llama_gguf(tmp_path / "tiny.gguf")
    first = json.dumps(lockstep.inspect(path).to_dict(), sort_keys=True)
    assert first == json.dumps(lockstep.inspect(path).to_dict(), sort_keys=True)
    document = json.loads(first)
    assert document["schema_version"] == 1
    assert document["tokenizer"] and document["tensor_types"] and document["routes"]
    doc = (Path(__file__).parents[1] / "docs" / "inspect-json.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, flags=re.MULTILINE))
    assert _all_keys(document) == documented


# --- the command line -----------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(lockstep.__file__).parents[1]))
    return subprocess.run([sys.executable, "-m", "lockstep", *args], capture_output=True, text=True, env=env)


def test_cli_json_on_the_default_model():
    path = lockstep.default_model_path()
    result = run_cli("inspect", str(path), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document == json.loads(json.dumps(lockstep.inspect(path).to_dict()))
    assert result.stdout == json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert (document["architecture"], document["task"], document["has_chat_template"]) == ("llama", "text-generation", True)
    assert {entry["type"] for entry in document["tensor_types"]} >= {"Q4_1", "F32"}
    assert document["tokenizer"]["kind"] == "bpe" and document["tokenizer"]["vocab_size"] == 49152
    assert "llama.cpp" in [entry["backend"] for entry in document["routes"]]


def test_cli_table_on_the_default_model():
    result = run_cli("inspect", str(lockstep.default_model_path()))
    assert result.returncode == 0, result.stderr
    for expected in ("llama", "text-generation", "Q4_1", "Q8_0", "F32", "BPE, 49,152 tokens", "embedded", "llama.cpp"):
        assert expected in result.stdout


def test_cli_malformed_file_exits_5(tmp_path):
    path = tmp_path / "cut.gguf"
    path.write_bytes(tiny_llama_gguf(tmp_path / "whole.gguf").read_bytes()[:30])
    result = run_cli("inspect", str(path), "--json")
    assert result.returncode == 5 and result.stdout == ""
    assert str(path) in result.stderr


def test_cli_unknown_format_exits_5_with_its_explanation(tmp_path):
    path = tmp_path / "noise.bin"
    path.write_bytes(b"\x01\x02\x03 not a model")
    result = run_cli("inspect", str(path), "--json")
    assert result.returncode == 5
    assert json.loads(result.stdout)["format"] == "unknown"


def test_cli_recognised_but_unrunnable_exits_0(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model_bytes())
    result = run_cli("inspect", str(path))
    assert result.returncode == 0 and "ONNX" in result.stdout and "no route" in result.stdout


def test_cli_missing_path_exits_5(tmp_path):
    result = run_cli("inspect", str(tmp_path / "absent.gguf"))
    assert result.returncode == 5 and "absent.gguf" in result.stderr


@pytest.mark.parametrize("args", [("inspect",), ("inspect", "x.gguf", "--bogus")])
def test_cli_usage_errors_exit_64(args):
    result = run_cli(*args)
    assert result.returncode == 64 and "usage" in result.stderr
