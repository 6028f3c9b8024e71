"""Exact parity on a generated 5 MB multilingual corpus (tokenizer_corpus.py) with the
libraries that own each vocabulary: Hugging Face tokenizers for SmolLM2 (the default
model), tiktoken for GPT-2 and Llama 3 ranks (openai-whisper, llama-models), sentencepiece
for Mistral's models (mistral-common)."""

from __future__ import annotations

import pytest

import lockstep
import tokenizer_references as refs
from tokenizer_corpus import corpus
from tokenizer_data import GPT2_PATTERN, first_difference, package_file

FULL = 5_000_000
SUBSET = 1_000_000


def assert_same(reference: list[list[int]], ours, docs, parse_special: bool) -> None:
    mismatches = []
    for i, doc in enumerate(docs):
        got = ours.encode(doc, parse_special=parse_special).tolist()
        if got != reference[i]:
            mismatches.append(f"doc {i} {doc[:30]!r}: {first_difference(reference[i], got)}")
    total = sum(len(d.encode("utf-8")) for d in docs)
    assert not mismatches, f"{len(mismatches)}/{len(docs)} documents ({total} bytes) differ:\n" + "\n".join(mismatches[:10])


def test_corpus_is_large_and_varied():
    docs = corpus(FULL)
    text = "".join(docs)
    assert len(text.encode("utf-8")) >= FULL
    for needle in ["中文", "한국어", "العربية", "👨‍👩‍👧‍👦", "\u3000", "def ", "<|endoftext|>", "'ſ", "\r\n"]:
        assert needle in text, needle


# --- SmolLM2 (GGUF) against Hugging Face tokenizers -------------------------------------------

@pytest.fixture(scope="module")
def smollm2():
    path = lockstep.default_model_path()
    return lockstep.Tokenizer.from_file(path), refs.hf_smollm2(path)


@pytest.mark.parametrize("parse_special", [False, True])
def test_smollm2_gguf_matches_hf_tokenizers(smollm2, parse_special):
    ours, hf = smollm2
    docs = list(corpus(FULL))
    hf.encode_special_tokens = not parse_special  # HF splits special tokens unless told not to
    reference = [e.ids for e in hf.encode_batch(docs, add_special_tokens=False)]
    assert_same(reference, ours, docs, parse_special)


def test_smollm2_tokenizer_json_matches_hf_tokenizers(smollm2, tmp_path):
    _, hf = smollm2
    path = tmp_path / "tokenizer.json"
    hf.save(str(path))
    ours = lockstep.Tokenizer.from_file(path)
    docs = list(corpus(SUBSET))
    hf.encode_special_tokens = False
    assert_same([e.ids for e in hf.encode_batch(docs, add_special_tokens=False)], ours, docs, parse_special=True)


# --- tiktoken ranks, converted to tokenizer.json by transformers ------------------------------

def tiktoken_cases():
    return {
        "gpt2": ("whisper", "assets/gpt2.tiktoken", GPT2_PATTERN, {"<|endoftext|>": 50256}, FULL),
        "whisper-multilingual": ("whisper", "assets/multilingual.tiktoken", GPT2_PATTERN, {"<|endoftext|>": 50257}, SUBSET),
        "llama3": ("llama_models", "llama3/tokenizer.model", None, None, FULL),
    }


@pytest.fixture(scope="module", params=list(tiktoken_cases()))
def tiktoken_vocab(request, tmp_path_factory):
    package, relative, pattern, specials, size = tiktoken_cases()[request.param]
    ranks = package_file(package, relative)
    if request.param == "llama3":
        from llama_models.llama3.tokenizer import Tokenizer as Llama3Tokenizer

        pattern = Llama3Tokenizer.pat_str
        specials = Llama3Tokenizer(ranks).special_tokens
    encoding = refs.tiktoken_encoding(request.param, ranks, pattern, specials)
    hf = refs.hf_from_tiktoken(ranks, pattern, specials)
    path = tmp_path_factory.mktemp(request.param) / "tokenizer.json"
    hf.save(str(path))
    return lockstep.Tokenizer.from_file(path), encoding, hf, size


def test_tiktoken_ordinary_text(tiktoken_vocab):
    ours, encoding, _, size = tiktoken_vocab
    docs = list(corpus(size))
    assert_same(encoding.encode_ordinary_batch(docs, num_threads=1), ours, docs, parse_special=False)


def test_tiktoken_with_special_tokens(tiktoken_vocab):
    ours, encoding, _, _ = tiktoken_vocab
    docs = list(corpus(SUBSET))
    assert_same(encoding.encode_batch(docs, allowed_special="all", num_threads=1), ours, docs, parse_special=True)


def test_tiktoken_vocab_matches_hf_conversion(tiktoken_vocab):
    ours, _, hf, _ = tiktoken_vocab
    docs = list(corpus(SUBSET))
    hf.encode_special_tokens = False
    assert_same([e.ids for e in hf.encode_batch(docs, add_special_tokens=False)], ours, docs, parse_special=True)


# --- SentencePiece: Mistral's models through GGUF files written by the gguf package ------------

MISTRAL_SPM_MODELS = [  # every SentencePiece model in mistral_common/data
    "tokenizer.model.v1",
    "mistral_instruct_tokenizer_240216.model.v2",
    "mistral_instruct_tokenizer_240323.model.v3",
    "mistral_instruct_tokenizer_241114.model.v7",
    "mistral_instruct_tokenizer_241114.model.v7m1",
]


@pytest.fixture(scope="module", params=MISTRAL_SPM_MODELS)
def mistral_spm(request, tmp_path_factory):
    import sentencepiece as spm

    model = package_file("mistral_common", f"data/{request.param}")
    path = tmp_path_factory.mktemp("spm") / f"{request.param}.gguf"
    refs.gguf_from_sentencepiece(model, path)
    return lockstep.Tokenizer.from_file(path), spm.SentencePieceProcessor(model_file=str(model))


def test_sentencepiece_mistral(mistral_spm):
    ours, sp = mistral_spm
    docs = list(corpus(FULL))
    assert_same(sp.encode(docs), ours, docs, parse_special=False)


def test_sentencepiece_bos_rule(mistral_spm):
    ours, sp = mistral_spm
    assert ours.encode("Hello world", add_special=True).tolist() == sp.encode("Hello world", add_bos=True)
    assert ours.bos_id == sp.bos_id() and ours.eos_id == sp.eos_id()


def test_sentencepiece_decode(mistral_spm):
    ours, sp = mistral_spm
    docs = list(corpus(SUBSET))[:200]
    for doc, ids in zip(docs, sp.encode(docs)):
        assert ours.decode(ids) == sp.decode(ids), doc[:40]
