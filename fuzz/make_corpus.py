"""Regenerates the seed corpora in fuzz/corpus/ from the files the tests use: the default
model's metadata and vocabulary (cut small), tests/inspect_models.py's GGUF, safetensors,
ONNX, TFLite and SavedModel files, tokenizer.json files of the zoo's pre-tokenizers and of
every model type, and the pre-tokenizer regexes. Deterministic; a few hundred kilobytes.

    python fuzz/make_corpus.py          # needs the test extra (gguf, tokenizers, transformers, safetensors)
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import gguf  # noqa: E402
import inspect_folder  # noqa: E402  (the targets' bundle names)
import safetensors_files  # noqa: E402
import tokenizer_json  # noqa: E402
from _harness import bundle  # noqa: E402

import inspect_models  # noqa: E402  (tests/inspect_models.py)
from lockstep import _core  # noqa: E402
from lockstep.formats import gguf as ls_gguf  # noqa: E402
from lockstep.zoo.known_models import default_model_path  # noqa: E402

CORPUS = HERE / "corpus"
N_TOKENS = 320
TEXT = "Hello world! It's 2024: ümlaut, 日本語, emojis 😀👍, tabs\t\tand  spaces, code: x+=1;\n"


def _clear(name: str) -> Path:
    folder = CORPUS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _default_vocabulary() -> dict:
    """The default model's tokens cut to N_TOKENS, the merges that stay valid, and its other keys."""
    model = ls_gguf.open(default_model_path())
    meta = model.metadata
    tokens = list(meta["tokenizer.ggml.tokens"][:N_TOKENS])
    kept = set(tokens)
    merges = [m for m in meta["tokenizer.ggml.merges"] if (lambda a, b: a in kept and b in kept and a + b in kept)(*m.split(" ", 1))]
    return {"meta": meta, "types": model.metadata_types, "tokens": tokens, "merges": merges,
            "token_types": [int(t) for t in meta["tokenizer.ggml.token_type"][:N_TOKENS]]}


def _vocab_gguf(path: Path, model: str, tokens: list[str], *, pre: str | None = None, merges: list[str] | None = None,
                scores: list[float] | None = None, token_types: list[int] | None = None, extra: dict | None = None,
                tensors: bool = False) -> None:
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(64)
    writer.add_block_count(1)
    writer.add_tokenizer_model(model)
    if pre is not None:
        writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    if merges is not None:
        writer.add_token_merges(merges)
    if scores is not None:
        writer.add_token_scores(scores)
    if token_types is not None:
        writer.add_token_types(token_types)
    for key, value in (extra or {}).items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        else:
            writer.add_string(key, value)
    if tensors:
        rng = np.random.default_rng(0)
        writer.add_tensor("token_embd.weight", rng.standard_normal((4, 32), dtype=np.float32))
        writer.add_tensor("blk.0.attn_q.weight", rng.standard_normal((2, 32), dtype=np.float32).astype(np.float16))
        for qtype, rows in ((gguf.GGMLQuantizationType.Q8_0, 2), (gguf.GGMLQuantizationType.Q5_1, 1)):
            values = rng.standard_normal((rows, 256), dtype=np.float32)
            writer.add_tensor(f"blk.0.{qtype.name.lower()}.weight", gguf.quants.quantize(values, qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def gguf_seeds(vocabulary: dict) -> None:
    file_dir, vocab_dir = _clear("gguf_file"), _clear("gguf_vocab")
    tokens, merges, types = vocabulary["tokens"], vocabulary["merges"], vocabulary["token_types"]
    special = {"tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
               "tokenizer.chat_template": vocabulary["meta"].get("tokenizer.chat_template", "")}
    _vocab_gguf(file_dir / "smollm2_cut.gguf", "gpt2", tokens, pre="smollm", merges=merges, token_types=types,
                extra=special, tensors=True)
    inspect_models.tiny_llama_gguf(file_dir / "tiny_llama_q8_0.gguf")
    inspect_models.tiny_llama_gguf(file_dir / "tiny_llama_q4_0.gguf", gguf.GGMLQuantizationType.Q4_0)
    for pre in ("smollm", "llama-bpe", "qwen2", "gpt-2"):
        _vocab_gguf(vocab_dir / f"gpt2_{pre}.gguf", "gpt2", tokens, pre=pre, merges=merges, token_types=types, extra=special)
    # SentencePiece (llama): control tokens, byte fallback pieces, scored word pieces.
    pieces = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + \
        ["▁", "▁the", "▁a", "he", "ll", "o", "▁w", "or", "ld", "▁H", "ello", "日本", "語", "ü"]
    spm_types = [2, 3, 3] + [6] * 256 + [1] * 14
    spm_scores = [0.0] * 259 + [-float(i) for i in range(14)]
    _vocab_gguf(vocab_dir / "llama_spm.gguf", "llama", pieces, scores=spm_scores, token_types=spm_types,
                extra={"tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2, "tokenizer.ggml.add_bos_token": True})
    # WordPiece (bert).
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "the", "##s", "##ed", "!", "it", "'", "日", "本"]
    _vocab_gguf(vocab_dir / "bert_wordpiece.gguf", "bert", words, token_types=[3, 2, 3, 3, 3] + [1] * 10,
                extra={"tokenizer.ggml.cls_token_id": 2, "tokenizer.ggml.seperator_token_id": 3,
                       "tokenizer.ggml.unknown_token_id": 1})
    # Unigram (t5).
    t5 = ["<pad>", "</s>", "<unk>", "▁", "▁hello", "▁world", "s", "e", "l", "o", "h", "w", "r", "d", "!"]
    _vocab_gguf(vocab_dir / "t5_unigram.gguf", "t5", t5, scores=[0.0, 0.0, 0.0] + [-1.0 - i for i in range(12)],
                token_types=[3, 3, 2] + [1] * 12, extra={"tokenizer.ggml.unknown_token_id": 2, "tokenizer.ggml.eos_token_id": 1})


def safetensors_seeds() -> None:
    from safetensors.numpy import save

    out = _clear("safetensors_files")
    rng = np.random.default_rng(0)
    names = safetensors_files.NAMES
    single = save({"a": rng.standard_normal((2, 3), dtype=np.float32), "b": np.arange(4, dtype=np.int64),
                   "c": rng.standard_normal(5).astype(np.float16)}, metadata={"format": "pt"})
    (out / "single").write_bytes(bundle(names, {"model.safetensors": single}))
    shard1 = save({"x.weight": rng.standard_normal((4,), dtype=np.float32)})
    shard2 = save({"y.weight": np.ones((2, 2), dtype=np.float16), "z": np.zeros(0, dtype=np.float32)})
    index = json.dumps({"metadata": {"total_size": 36},
                        "weight_map": {"x.weight": names[2], "y.weight": names[3], "z": names[3]}}).encode()
    (out / "sharded").write_bytes(bundle(names, {names[1]: index, names[2]: shard1, names[3]: shard2}))


def tokenizer_json_seeds(vocabulary: dict) -> None:
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    from lockstep.text import pretokenizers

    out = _clear("tokenizer_json")
    names = tokenizer_json.NAMES
    tokens = vocabulary["tokens"]
    vocab = {token: i for i, token in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in vocabulary["merges"]]
    control = [t for t, kind in zip(tokens, vocabulary["token_types"]) if kind == gguf.TokenType.CONTROL]
    for pre in ("smollm", "llama-bpe", "qwen2", "gpt-2"):  # the zoo's tokenizers (synthetic.save_tokenizer), cut small
        bpe = Tokenizer(models.BPE(vocab=vocab, merges=pairs))
        bpe.decoder = decoders.ByteLevel()
        bpe.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
        if pre == "llama-bpe":
            bpe.post_processor = processors.TemplateProcessing(single=f"{tokens[1]} $A", special_tokens=[(tokens[1], 1)])
        document = json.loads(bpe.to_str())
        document["pre_tokenizer"] = pretokenizers.KNOWN[pre]
        config = {"bos_token": tokens[1], "eos_token": tokens[2], "add_bos_token": pre == "llama-bpe",
                  "chat_template": vocabulary["meta"].get("tokenizer.chat_template", "")}
        (out / f"bpe_{pre}").write_bytes(bundle(names, {"tokenizer.json": json.dumps(document).encode(),
                                                        "tokenizer_config.json": json.dumps(config).encode()}))
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox", "##es", "hello", "world", "!"]
    bert = Tokenizer(models.WordPiece({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    bert.normalizer = normalizers.BertNormalizer(lowercase=True)
    bert.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    bert.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    bert.decoder = decoders.WordPiece()
    bert.add_special_tokens([AddedToken(w, special=True) for w in words[:5]])
    (out / "wordpiece_bert").write_bytes(bundle(names, {"tokenizer.json": bert.to_str().encode(),
                                                        "tokenizer_config.json": b'{"do_lower_case": true}'}))
    unigram = Tokenizer(models.Unigram([("<unk>", 0.0), ("▁", -1.0), ("▁hello", -2.0), ("▁world", -2.5), ("s", -3.0),
                                        ("h", -4.0), ("e", -4.0), ("l", -4.0), ("o", -4.0)], unk_id=0))
    unigram.normalizer = normalizers.Sequence([normalizers.Replace(" ", "▁"), normalizers.Prepend("▁")])
    unigram.pre_tokenizer = pre_tokenizers.Metaspace()
    unigram.decoder = decoders.Metaspace()
    (out / "unigram_metaspace").write_bytes(bundle(names, {"tokenizer.json": unigram.to_str().encode()}))
    spm_bpe = Tokenizer(models.BPE({"<unk>": 0, "▁": 1, "h": 2, "e": 3, "▁h": 4, "<0x41>": 5}, [("▁", "h")],
                                   unk_token="<unk>", byte_fallback=True))
    spm_bpe.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    spm_bpe.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    (out / "bpe_spm_byte_fallback").write_bytes(bundle(names, {"tokenizer.json": spm_bpe.to_str().encode()}))
    split = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "1": 2}, unk_token="[UNK]"))
    split.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(r"\p{N}{1,3}", "isolated"), pre_tokenizers.Digits()])
    (out / "wordlevel_split").write_bytes(bundle(names, {"tokenizer.json": split.to_str().encode()}))


def regex_seeds() -> None:
    out = _clear("regex_engine")
    families = ("llama3", "gpt-2", "qwen2", "starcoder", "deepseek-v3", "command-r", "gpt-4o", "bloom", "gemma4", "dbrx")
    seen = set()
    for family in families:
        for index, pattern in enumerate(_core.pre_tokenizer_patterns(family)):
            if pattern not in seen:
                seen.add(pattern)
                (out / f"{family}_{index}").write_bytes(pattern.encode() + b"\0" + TEXT.encode())
    for index, pattern in enumerate((r"\s+(?!\S)|\s+", r"[^\r\n\p{L}\p{N}]?\p{L}+", r"(?i:'s|'t)", r"\p{N}{1,3}", r"a*?b|[^a-c]+")):
        (out / f"simple_{index}").write_bytes(pattern.encode() + b"\0" + TEXT.encode())


TEMPLATES = {
    "tooling": "{{ bos_token }}{% for m in messages %}{% if m['role'] not in ['system', 'user', 'assistant'] %}"
               "{{ raise_exception('bad role ' + m['role']) }}{% endif %}{{ m['role'] }}: {{ m['content'] | trim }}\n"
               "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}",
    "llama3": "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
              "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
              "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
              "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
    "mistral": "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
               "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
               "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == "
               "'assistant' %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}",
    "namespace": "{% set ns = namespace(system='', n=0) %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.system = "
                 "m.content %}{% else %}{% set ns.n = ns.n + 1 %}{{ '%d:%s' % (ns.n, m.content|upper) }}{% endif %}{% endfor %}"
                 "{{ ns.system|tojson }}{{ messages|map(attribute='role')|join(',') }}{{ strftime_now('%Y') }}",
    "macros": "{% macro turn(m) %}<{{ m.role }}>{{ m.content|replace('<', '&lt;')|wordwrap(20) }}</{{ m.role }}>{% endmacro %}"
              "{% for m in messages|reverse %}{{ turn(m) }}{% if not loop.last %}{{ '\n' }}{% endif %}{% endfor %}"
              "{{ messages|length }}{{ range(3)|list }}{{ (messages|last).content[:3] }}",
}


def template_seeds(vocabulary: dict) -> None:
    out = _clear("chat_template")
    (out / "smollm2").write_text(vocabulary["meta"]["tokenizer.chat_template"])
    for name, source in TEMPLATES.items():
        (out / name).write_text(source)


def message_seeds() -> None:
    out = _clear("messages")
    conversations = {
        "chat": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                 {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "2+2?"}],
        "one": [{"role": "user", "content": "Bonjour, ça va ? 日本語 😀"}],
        "tool": [{"role": "user", "content": "x"}, {"role": "tool", "content": "{\"a\": 1}"}],
    }
    for name, turns in conversations.items():
        (out / name).write_text(json.dumps(turns, ensure_ascii=False))


def inspect_seeds() -> None:
    from safetensors.numpy import save

    out = _clear("inspect_folder")
    names = inspect_folder.NAMES
    config = json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16,
                         "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 300,
                         "intermediate_size": 32, "torch_dtype": "float32"}).encode()
    weights = save({"model.embed_tokens.weight": np.zeros((4, 16), dtype=np.float32),
                    "model.layers.0.self_attn.q_proj.weight": np.zeros((16, 16), dtype=np.float32)})
    tokenizer_config = json.dumps({"bos_token": "<s>", "eos_token": "</s>", "chat_template": "{{ messages }}"}).encode()
    (out / "hf_llama").write_bytes(bundle(names, {"config.json": config, "model.safetensors": weights,
                                                  "tokenizer_config.json": tokenizer_config}))
    index = json.dumps({"metadata": {}, "weight_map": {"model.embed_tokens.weight": names[13]}}).encode()
    (out / "hf_sharded").write_bytes(bundle(names, {"config.json": config, "model.safetensors.index.json": index,
                                                    names[13]: weights}))
    with tempfile.TemporaryDirectory() as tmp:
        tiny = inspect_models.tiny_llama_gguf(Path(tmp) / "t.gguf")
        (out / "gguf").write_bytes(bundle(names, {"model.gguf": tiny.read_bytes()}))
    (out / "onnx").write_bytes(bundle(names, {"model.onnx": inspect_models.onnx_model_bytes()}))
    (out / "tflite").write_bytes(bundle(names, {"model.tflite": inspect_models.tflite_bytes()}))
    (out / "saved_model").write_bytes(bundle(names, {"saved_model.pb": inspect_models.saved_model_bytes()}))
    (out / "pickle").write_bytes(bundle(names, {"pytorch_model.bin": b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.",
                                                "config.json": config}))
    (out / "adapter").write_bytes(bundle(names, {"adapter_config.json": b'{"base_model_name_or_path": "x"}'}))


def main() -> None:
    vocabulary = _default_vocabulary()
    gguf_seeds(vocabulary)
    safetensors_seeds()
    tokenizer_json_seeds(vocabulary)
    regex_seeds()
    template_seeds(vocabulary)
    message_seeds()
    inspect_seeds()
    for folder in sorted(CORPUS.iterdir()):
        files = list(folder.iterdir())
        print(f"{folder.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
