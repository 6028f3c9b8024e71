"""Every case of llama.cpp's tokenizer test files (expected ids from Hugging Face
tokenizers, encoded without special tokens) for every vocabulary that has them."""

import pytest

import lockstep
from tokenizer_data import LLAMA_VOCABS_WITH_CASES, first_difference, llama_vocab, vocab_cases


@pytest.mark.parametrize("name", LLAMA_VOCABS_WITH_CASES)
def test_every_case_matches_exactly(name):
    path = llama_vocab(name)
    tok = lockstep.Tokenizer.from_file(path)
    cases = vocab_cases(path)
    assert len(cases) >= 40
    failures = []
    for text, expected in cases:
        got = tok.encode(text).tolist()
        if got != expected:
            failures.append(f"{text[:40]!r}: {first_difference(expected, got)}")
    assert not failures, f"{len(failures)}/{len(cases)} cases differ:\n" + "\n".join(failures)


@pytest.mark.parametrize("name", LLAMA_VOCABS_WITH_CASES)
def test_decode_restores_the_text(name):
    # Byte-level and byte-fallback vocabularies spell every text; WordPiece normalizes it.
    if name == "bert-bge":
        pytest.skip("WordPiece lowercases and strips accents: decoding cannot restore the text")
    path = llama_vocab(name)
    tok = lockstep.Tokenizer.from_file(path)
    for text, _ in vocab_cases(path):
        ids = tok.encode(text)
        assert tok.decode(ids) == text


@pytest.mark.parametrize("name", LLAMA_VOCABS_WITH_CASES)
@pytest.mark.parametrize("skip_special", [False, True])
def test_streaming_gives_what_decode_gives(name, skip_special):
    # decode and stream share one first-piece rule (Tokenizer::first_piece): a WordPiece
    # vocabulary once streamed ' hello worlds' where decode gave 'hello worlds'.
    path = llama_vocab(name)
    tok = lockstep.Tokenizer.from_file(path)
    for text, _ in vocab_cases(path):
        for add_special in (False, True):
            ids = tok.encode(text, add_special=add_special)
            assert "".join(tok.stream(ids, skip_special=skip_special)) == tok.decode(ids, skip_special=skip_special), text
