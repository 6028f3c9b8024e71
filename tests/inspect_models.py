"""Small real model files of every format lockstep.inspect recognises, built with the formats'
own tools (gguf's GGUFWriter, transformers' save_pretrained, torch.save) or, where no tool is
installed (ONNX, TFLite, SavedModel), hand-encoded from the formats' field numbers."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import gguf
import numpy as np

# --- GGUF ----------------------------------------------------------------------------------------


def write_gguf(
    path: Path,
    arch: str,
    tensors: dict[str, tuple[np.ndarray, gguf.GGMLQuantizationType]],
    metadata: dict[str, object] | None = None,
    tokenizer_model: str | None = "gpt2",
    n_vocab: int = 32,
    chat_template: str | None = "{% for m in messages %}{{ m['content'] }}{% endfor %}",
) -> Path:
    """A GGUF with the given float tensors, stored in the given types (quantized by gguf.quants)."""
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(f"tiny {arch}")
    writer.add_context_length(64)
    for key, value in (metadata or {}).items():
        if isinstance(value, int):
            writer.add_uint32(key, value)
        else:
            writer.add_string(key, str(value))
    if tokenizer_model is not None:
        writer.add_tokenizer_model(tokenizer_model)
        writer.add_token_list([f"tok{index}" for index in range(n_vocab)])
    if chat_template is not None:
        writer.add_chat_template(chat_template)
    for name, (values, qtype) in tensors.items():
        if qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            writer.add_tensor(name, values.astype(np.float32 if qtype == gguf.GGMLQuantizationType.F32 else np.float16))
        else:
            writer.add_tensor(name, gguf.quants.quantize(values, qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def tiny_llama_gguf(path: Path, quant: gguf.GGMLQuantizationType = gguf.GGMLQuantizationType.Q8_0, arch: str = "llama") -> Path:
    rng = np.random.default_rng(0)
    tensors = {
        "token_embd.weight": (rng.standard_normal((32, 64), dtype=np.float32), gguf.GGMLQuantizationType.F32),
        "blk.0.attn_q.weight": (rng.standard_normal((64, 256), dtype=np.float32), quant),
        "blk.0.ffn_up.weight": (rng.standard_normal((32, 256), dtype=np.float32), quant),
        "output_norm.weight": (rng.standard_normal(64, dtype=np.float32), gguf.GGMLQuantizationType.F32),
    }
    return write_gguf(path, arch, tensors)


def sparse_gguf(path: Path, total_bytes: int) -> Path:
    """A valid GGUF header describing one F32 tensor of ~total_bytes; the data is a sparse hole."""
    n_elements = total_bytes // 4
    rows = n_elements // 4096
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor_info("token_embd.weight", (rows, 4096), np.dtype(np.float32), rows * 4096 * 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    header_bytes = path.stat().st_size
    data_start = -(-header_bytes // gguf.GGUF_DEFAULT_ALIGNMENT) * gguf.GGUF_DEFAULT_ALIGNMENT
    os.truncate(path, data_start + rows * 4096 * 4)
    return path


def sparse_safetensors(path: Path, total_bytes: int) -> Path:
    rows = total_bytes // (4 * 4096)
    header = json.dumps({"weight": {"dtype": "F32", "shape": [rows, 4096], "data_offsets": [0, rows * 4096 * 4]}}).encode()
    header += b" " * (-len(header) % 8)
    with path.open("wb") as stream:
        stream.write(struct.pack("<Q", len(header)) + header)
    os.truncate(path, 8 + len(header) + rows * 4096 * 4)
    return path


# --- Hugging Face folders ------------------------------------------------------------------------

CHAT_TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"


def save_bpe_tokenizer(folder: Path, chat_template: str | None = CHAT_TEMPLATE) -> None:
    """A byte-level BPE tokenizer trained on a few words, saved the transformers way."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(["the quick brown fox jumps over the lazy dog"] * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    fast.add_special_tokens({"additional_special_tokens": ["<|user|>", "<|assistant|>"]})
    if chat_template is not None:
        fast.chat_template = chat_template
    fast.save_pretrained(folder)


def save_wordpiece_tokenizer(folder: Path) -> None:
    from transformers import BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox", "##es"]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)


def tiny_llama_config(**overrides):
    from transformers import LlamaConfig

    settings = dict(
        vocab_size=300,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
    )
    settings.update(overrides)
    return LlamaConfig(**settings)


def tiny_bert_config():
    from transformers import BertConfig

    return BertConfig(
        vocab_size=10, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32
    )


def save_hf_model(folder: Path, model, tokenizer: str | None = "bpe", **save_options) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, **save_options)
    if tokenizer == "bpe":
        save_bpe_tokenizer(folder)
    elif tokenizer == "wordpiece":
        save_wordpiece_tokenizer(folder)
    return folder


# --- hand-encoded protobuf and FlatBuffer files ---------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    """A protobuf field: varint for ints, length-delimited for bytes."""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def onnx_model_bytes(ir_version: int = 9, producer: str = "pytorch", producer_version: str = "2.13.0") -> bytes:
    """An ONNX ModelProto (onnx.proto field numbers) holding a one-node Identity graph."""
    node = _field(1, b"x") + _field(2, b"y") + _field(4, b"Identity")  # NodeProto: input, output, op_type
    graph = _field(1, node) + _field(2, b"graph") + _field(11, _field(1, b"x")) + _field(12, _field(1, b"y"))
    opset = _field(1, b"") + _field(2, 17)  # OperatorSetIdProto: domain, version
    return (
        _field(1, ir_version)
        + _field(2, producer.encode())
        + _field(3, producer_version.encode())
        + _field(7, graph)
        + _field(8, opset)
    )


def saved_model_bytes(meta_graphs: int = 1) -> bytes:
    """A SavedModel protobuf: saved_model_schema_version = 1, then (empty) MetaGraphDefs."""
    return _field(1, 1) + b"".join(_field(2, _field(1, b"")) for _ in range(meta_graphs))


def tflite_bytes(version: int = 3) -> bytes:
    """A minimal TFLite FlatBuffer: root table offset, "TFL3", a vtable, and Model.version."""
    vtable = struct.pack("<HHH", 6, 8, 4) + b"\0\0"  # vtable size, table size, field 0 at +4; pad to 8
    table_at = 8 + len(vtable)
    table = struct.pack("<iI", table_at - 8, version)  # soffset back to the vtable, then version
    return struct.pack("<I", table_at) + b"TFL3" + vtable + table
