"""Parity with llama-cpp-python's own tokenizer (llama.cpp) on the same GGUF files: every
llama.cpp test vocabulary lockstep supports plus the default model, with and without
special tokens, on the llama.cpp cases and a 300 kB slice of the generated corpus.

Two vocabularies hit places where llama.cpp itself departs from Hugging Face, and there
lockstep follows Hugging Face (the source of llama.cpp's expected ids):
- deepseek-llm: llama.cpp maps non-ASCII whitespace to '\\v' before its std::regex
  fallback, so U+3000 no longer matches the pattern's [\\u3000-\\u3002] range;
  test_deepseek_llm_follows_oniguruma checks lockstep against Oniguruma instead.
- bert-bge: llama.cpp's NFD keeps only the first code point of a decomposition, so a
  Hangul syllable becomes a single jamo (Hugging Face decomposes it fully), and it strips
  spacing and enclosing marks too (Hugging Face strips nonspacing marks only).
Documents containing those triggers are compared with the Hugging Face reference instead.
"""

from __future__ import annotations

import re
import unicodedata

import pytest

import lockstep
import tokenizer_references as refs
from tokenizer_corpus import corpus
from tokenizer_data import LLAMA_VOCABS_WITH_CASES, first_difference, llama_vocab, vocab_cases

llama_cpp = pytest.importorskip("llama_cpp")

EXTRA_VOCABS = ["aquila", "baichuan", "gpt-neox", "nomic-bert-moe"]  # no .inp/.out, but llama.cpp reads them
SLICE = 300_000


def has_non_ascii_space(text: str) -> bool:
    return any(ord(c) > 127 and (c.isspace() or unicodedata.category(c) == "Zs") for c in text)


def has_hangul_or_spacing_mark(text: str) -> bool:
    # llama.cpp strips every mark (M*) where Hugging Face strips nonspacing ones (Mn) only.
    nfd = unicodedata.normalize("NFD", text)
    return bool(re.search("[\uac00-\ud7a3]", text)) or any(unicodedata.category(c) in ("Mc", "Me") for c in nfd)


KNOWN_LLAMA_CPP_DEPARTURES = {"deepseek-llm": has_non_ascii_space, "bert-bge": has_hangul_or_spacing_mark}


def load(path):
    return lockstep.Tokenizer.from_file(path), llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)


@pytest.mark.parametrize("name", LLAMA_VOCABS_WITH_CASES + EXTRA_VOCABS + ["default-model"])
@pytest.mark.parametrize("add_special,parse_special", [(False, False), (True, False), (True, True), (False, True)])
def test_matches_llama_cpp(name, add_special, parse_special):
    path = lockstep.default_model_path() if name == "default-model" else llama_vocab(name)
    ours, llm = load(path)
    texts = list(corpus(SLICE))
    if name in LLAMA_VOCABS_WITH_CASES:
        texts += [t for t, _ in vocab_cases(path)]
    departs = KNOWN_LLAMA_CPP_DEPARTURES.get(name, lambda _: False)
    compared, mismatches = 0, []
    for text in texts:
        if departs(text):
            continue
        compared += 1
        expected = llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=parse_special)
        got = ours.encode(text, add_special=add_special, parse_special=parse_special).tolist()
        if got != expected:
            mismatches.append(f"{text[:30]!r}: {first_difference(expected, got)}")
    assert compared > 100
    assert not mismatches, f"{len(mismatches)}/{compared} texts differ:\n" + "\n".join(mismatches[:10])


def test_deepseek_llm_follows_oniguruma():
    """The documents llama.cpp gets wrong, against Hugging Face tokenizers running the same
    Split patterns (taken from llama.cpp's table) with Oniguruma."""
    import tokenizers
    from tokenizers import AddedToken, Regex, models, pre_tokenizers

    path = llama_vocab("deepseek-llm")
    f = refs.gguf_fields(path)
    tokens, types = f["tokenizer.ggml.tokens"], f["tokenizer.ggml.token_type"]
    patterns = [
        "[\r\n]",
        "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+",
        "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
        "\\s+$",
        "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
        "\\p{N}+",
    ]
    hf = tokenizers.Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, [tuple(m.split(" ", 1)) for m in f["tokenizer.ggml.merges"]]))
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(p), "isolated") for p in patterns] + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    hf.add_tokens([AddedToken(t, special=False, normalized=False) for t, ty in zip(tokens, types) if ty == refs.USER_DEFINED])
    ours = lockstep.Tokenizer.from_file(path)
    docs = [d for d in corpus(SLICE) if has_non_ascii_space(d)]
    assert len(docs) > 20
    for doc in docs:
        assert ours.encode(doc).tolist() == hf.encode(doc, add_special_tokens=False).ids


def test_a_token_across_a_word_start():
    """SentencePiece-style text is merged word by word except where a token spans a word
    start: Gemma 4 has '>▁</', so '> </' must still become that one token."""
    path = llama_vocab("gemma-4")
    ours, llm = load(path)
    text = "<p> </p> and x> </y>, a > </b"
    bridge = next(i for i in range(ours.vocab_size) if ours.token_text(i) == ">\u2581</")
    got = ours.encode(text).tolist()
    assert bridge in got
    assert got == llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
