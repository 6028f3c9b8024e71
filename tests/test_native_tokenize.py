"""Models loaded with lockstep.load(backend="native") tokenize through lockstep.Tokenizer,
built from the model's own vocabulary: the GGUF file's (checked against llama.cpp on the
same file) or a Hugging Face folder's tokenizer.json (checked against transformers)."""

from __future__ import annotations

import numpy as np
import pytest

import lockstep
from tokenizer_corpus import corpus

TEXTS = [
    "Hello world",
    " leading space and  double  spaces\n\nnew lines\t tabs",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "Ünïcödé, 中文, 한국어, emoji 👨‍👩‍👧‍👦 and digits 1234567",
    "",
] + list(corpus(20_000))

MODES = [(False, False), (True, False), (True, True), (False, True)]


@pytest.fixture(scope="module")
def smollm2():
    path = lockstep.default_model_path()
    return lockstep.load(path, backend="native", n_threads=1), path


@pytest.mark.parametrize("add_special,parse_special", MODES)
def test_gguf_model_tokenizes_like_llama_cpp(smollm2, add_special, parse_special):
    llama_cpp = pytest.importorskip("llama_cpp")
    model, path = smollm2
    reference = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    for text in TEXTS:
        ours = model.tokenize(text, add_special=add_special, parse_special=parse_special)
        assert ours.dtype == np.int32
        expected = reference.tokenize(text.encode("utf-8"), add_bos=add_special, special=parse_special)
        assert ours.tolist() == expected, text[:60]


def test_gguf_model_detokenizes_like_llama_cpp(smollm2):
    llama_cpp = pytest.importorskip("llama_cpp")
    model, path = smollm2
    reference = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    ids = model.tokenize(TEXTS[2] + TEXTS[3], add_special=False, parse_special=True)
    assert model.detokenize(ids) == reference.detokenize(ids.tolist(), special=True).decode("utf-8")
    for token_id in ids.tolist():
        assert model.token_piece(token_id) == reference.detokenize([token_id], special=True)


def test_the_model_and_its_tokenizer_agree_on_the_vocabulary(smollm2):
    model, path = smollm2
    assert model.tokenizer.vocab_size == model.n_vocab
    assert model.tokenizer is model.tokenizer  # loaded once
    standalone = lockstep.Tokenizer.from_file(path)
    assert model.tokenize(TEXTS[1]).tolist() == standalone.encode(TEXTS[1], add_special=True).tolist()


@pytest.mark.parametrize("name", ["llama", "llama3"])  # without BOS (SmolLM2-like), with BOS (Llama 3-like)
def test_hf_folder_model_tokenizes_like_transformers(name):
    transformers = pytest.importorskip("transformers")
    from lockstep.zoo import synthetic

    folder = synthetic.tiny_model(name)
    model = lockstep.load(folder, backend="native", n_threads=1)
    reference = transformers.AutoTokenizer.from_pretrained(folder)
    for add_special, parse_special in MODES:
        for text in TEXTS:
            expected = reference(text, add_special_tokens=add_special, split_special_tokens=not parse_special)["input_ids"]
            ours = model.tokenize(text, add_special=add_special, parse_special=parse_special)
            assert ours.tolist() == expected, (add_special, parse_special, text[:60])
    ids = model.tokenize(TEXTS[3], add_special=False)
    assert model.detokenize(ids) == reference.decode(ids.tolist())
