"""lockstep's pre-tokenizer regex engine against the `regex` module (the semantics of
Oniguruma and fancy-regex: leftmost-first, Unicode categories, case folding) for every
pattern of every pre-tokenizer family lockstep knows, on a slice of the corpus."""

from __future__ import annotations

import pytest
import regex

from lockstep import _core
from tokenizer_corpus import corpus

FAMILIES = [
    "default", "llama-bpe", "dbrx", "deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon", "starcoder",
    "gpt-2", "qwen2", "qwen35", "chatglm-bpe", "tekken", "gpt-4o", "seed-coder", "bailingmoe", "ufakzeka",
    "minicpm5", "exaone-moe", "viking", "chameleon", "gemma4",
]


def reference_split(pattern: regex.Pattern, text: str) -> list[str]:
    pieces, pos = [], 0
    for m in pattern.finditer(text):
        if m.start() == m.end():
            continue
        if m.start() > pos:
            pieces.append(text[pos:m.start()])
        pieces.append(m.group())
        pos = m.end()
    if pos < len(text):
        pieces.append(text[pos:])
    return pieces


def python_syntax(pattern: str) -> str:
    # \x{HHHH} (Oniguruma, Rust) is not in Python's syntax: write the code point itself.
    return regex.sub(r"\\x\{([0-9A-Fa-f]+)\}", lambda m: chr(int(m.group(1), 16)), pattern)


def all_patterns() -> list[tuple[str, int, str]]:
    seen, out = set(), []
    for family in FAMILIES:
        for i, p in enumerate(_core.pre_tokenizer_patterns(family)):
            if p not in seen:
                seen.add(p)
                out.append((family, i, p))
    return out


@pytest.mark.parametrize("family,index,pattern", all_patterns(), ids=lambda x: str(x)[:20])
def test_splits_like_the_regex_module(family, index, pattern):
    # '$' is the end of any line in Oniguruma's Ruby syntax (Hugging Face's), MULTILINE here.
    reference = regex.compile(python_syntax(pattern), regex.MULTILINE)
    docs = corpus(1_000_000)
    failures = []
    for doc in docs:
        expected = reference_split(reference, doc)
        got = _core.regex_split(pattern, doc)
        if got != expected:
            n = min(len(got), len(expected))
            k = next((i for i in range(n) if got[i] != expected[i]), n)
            failures.append(f"{doc[:30]!r}: piece {k}: regex {expected[k:k + 3]} lockstep {got[k:k + 3]}")
    assert not failures, f"{len(failures)}/{len(docs)} documents differ:\n" + "\n".join(failures[:10])


@pytest.mark.parametrize("pattern,text,pieces", [
    (r"\s+(?!\S)|\s+", "a   b", ["a", "  ", " ", "b"]),
    (r"(?i:'s)", "'S'ſ's", ["'S", "'ſ", "'s"]),
    (r"\p{N}{1,3}", "12345", ["123", "45"]),
    (r"a+?b", "aaab", ["aaab"]),
    (r"[^\s\p{L}]+", "ab, cd!", ["ab", ",", " cd", "!"]),
    (r"x$", "x\nx", ["x", "\n", "x"]),
])
def test_small_cases(pattern, text, pieces):
    assert _core.regex_split(pattern, text) == pieces == reference_split(regex.compile(pattern, regex.MULTILINE), text)


@pytest.mark.parametrize("pattern", ["(a", "a)", "[a", r"\p{Greek}", "^a", "(?<=a)b", "a{3,1}", r"\q", "(a*)*", "[[a]]"])
def test_unsupported_or_malformed_patterns_are_errors(pattern):
    with pytest.raises(ValueError, match="regex"):
        _core.regex_split(pattern, "text")
