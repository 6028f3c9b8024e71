"""A Hugging Face byte-level BPE tokenizer (tokenizer.json) as the `tokenizer.*` keys of a GGUF.

What llama.cpp's converter writes for such tokenizers (`tokenizer.ggml.model` "gpt2"):
- tokens in id order, padded to the model's vocab_size with "[PAD{id}]" tokens of type UNUSED;
- token types: added tokens that are special (or look like "<|...|>") are CONTROL, other added
  tokens USER_DEFINED, the rest NORMAL;
- merges, special token ids, add_bos/add_eos and the chat template, which the gguf package's
  SpecialVocab reads from tokenizer.json, tokenizer_config.json, chat_template.jinja and
  config.json exactly as llama.cpp's converter does;
- `tokenizer.ggml.pre`, the pre-tokenizer: see lockstep.text.pretokenizers.

One deliberate difference: add_bos_token and add_eos_token are always written. When the
tokenizer files do not say (no TemplateProcessing, no add_*_token), Hugging Face adds nothing,
while llama.cpp's default depends on the pre-tokenizer type (true for llama-bpe); writing
false keeps the two tokenizing alike.

SentencePiece tokenizers (tokenizer.model, or tokenizer.json with byte fallback) are not
supported yet.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf

from lockstep.errors import ConvertError
from lockstep.text import pretokenizers

_PRE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


@dataclass
class Vocabulary:
    pre: str
    tokens: list[str]
    token_types: list[int]
    special: gguf.SpecialVocab  # merges, special ids, add_bos/add_eos, chat template

    def write(self, writer: gguf.GGUFWriter) -> None:
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(self.pre)
        writer.add_token_list(self.tokens)
        writer.add_token_types(self.token_types)
        for kind in ("bos", "eos"):
            self.special.add_special_token.setdefault(kind, False)
        self.special.add_to_gguf(writer, quiet=True)


def _looks_special(token: str) -> bool:
    return token.startswith("<|") and token.endswith("|>")


def _tokenizer_json(folder: Path) -> dict[str, Any]:
    path = folder / "tokenizer.json"
    if not path.is_file():
        if (folder / "tokenizer.model").is_file():
            raise ConvertError(f"{folder}: only a SentencePiece tokenizer.model, which lockstep convert does not read yet")
        raise ConvertError(f"{folder}: no tokenizer.json")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConvertError(f"{path}: not readable as JSON: {error}") from error
    model = document.get("model") if isinstance(document, dict) else None
    if not isinstance(model, dict) or model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
        raise ConvertError(f"{path}: not a BPE tokenizer (model.type {model.get('type') if isinstance(model, dict) else None!r})")
    if model.get("byte_fallback"):
        raise ConvertError(f"{path}: a SentencePiece-style BPE (byte_fallback), which lockstep convert does not read yet")
    return document


def read_vocabulary(folder: Path, n_vocab: int, pre: str | None = None) -> Vocabulary:
    """The vocabulary of the tokenizer in `folder`, for a model with `n_vocab` embedding rows."""
    document = _tokenizer_json(folder)
    path = folder / "tokenizer.json"

    by_id: dict[int, str] = {}
    for token, token_id in document["model"]["vocab"].items():
        if not isinstance(token_id, int) or isinstance(token_id, bool):
            raise ConvertError(f"{path}: model.vocab[{token!r}] is not an integer id")
        by_id[token_id] = token
    added: dict[int, dict[str, Any]] = {}
    for entry in document.get("added_tokens") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), int) or not isinstance(entry.get("content"), str):
            raise ConvertError(f"{path}: malformed added_tokens entry {entry!r}")
        added[entry["id"]] = entry
        by_id[entry["id"]] = entry["content"]
    out_of_range = [token_id for token_id in by_id if not 0 <= token_id < n_vocab]
    if out_of_range:
        raise ConvertError(f"{path}: token id {max(out_of_range)} outside the model's vocab_size {n_vocab}")

    tokens: list[str] = []
    token_types: list[int] = []
    for token_id in range(n_vocab):
        if token_id not in by_id:
            tokens.append(f"[PAD{token_id}]")
            token_types.append(gguf.TokenType.UNUSED)
        elif token_id in added:
            tokens.append(by_id[token_id])
            special = added[token_id].get("special") or _looks_special(by_id[token_id])
            token_types.append(gguf.TokenType.CONTROL if special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[token_id])
            token_types.append(gguf.TokenType.NORMAL)

    if pre is None:
        pre = pretokenizers.detect(document.get("pre_tokenizer"))
        if pre is None:
            raise ConvertError(
                f"{path}: pre-tokenizer not recognised ({json.dumps(document.get('pre_tokenizer'))[:200]}); "
                f"pass --pre with llama.cpp's name for it (known here: {', '.join(pretokenizers.KNOWN)})"
            )
    elif not _PRE_NAME.fullmatch(pre):
        raise ConvertError(f"--pre {pre!r}: not a tokenizer.ggml.pre name (lowercase letters, digits, . _ -)")

    try:
        special_vocab = gguf.SpecialVocab(folder, load_merges=True, n_vocab=n_vocab)
    except (OSError, UnicodeDecodeError, ValueError) as error:  # json.JSONDecodeError is a ValueError
        raise ConvertError(f"{folder}: tokenizer files: {error}") from error
    if not special_vocab.merges:
        raise ConvertError(f"{path}: a BPE tokenizer without merges")
    return Vocabulary(pre=pre, tokens=tokens, token_types=token_types, special=special_vocab)
