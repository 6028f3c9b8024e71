"""The tokenizer and chat template of a Hugging Face model folder, read from its files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lockstep.formats.json_files import read_json_object
from lockstep.inspection.model_info import TokenizerInfo

# tokenizer.json model.type -> the tokenizer families lockstep (and llama.cpp) name.
_MODEL_TYPE_KINDS = {"BPE": "bpe", "WordPiece": "wordpiece", "Unigram": "unigram", "WordLevel": "wordlevel"}


def tokenizer_from_folder(folder: Path) -> TokenizerInfo | None:
    """The tokenizer family and vocabulary size; None when the folder has no tokenizer files."""
    if (folder / "tokenizer.json").is_file():
        return _from_tokenizer_json(folder / "tokenizer.json")
    if (folder / "vocab.txt").is_file():  # BERT-style WordPiece: one token per line
        with (folder / "vocab.txt").open("rb") as lines:
            return TokenizerInfo("wordpiece", sum(1 for _ in lines), "vocab.txt")
    if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        vocab = read_json_object(folder / "vocab.json")
        return TokenizerInfo("bpe", len(vocab), "vocab.json + merges.txt")
    for name in ("tokenizer.model", "spiece.model"):
        if (folder / name).is_file():
            # Counting its pieces would mean parsing the SentencePiece protobuf; the family is enough here.
            return TokenizerInfo("spm", None, name)
    return None


def _from_tokenizer_json(path: Path) -> TokenizerInfo:
    document = read_json_object(path)
    model = document.get("model")
    if not isinstance(model, dict):
        return TokenizerInfo("unknown", None, "tokenizer.json (no model section)")
    model_type = str(model.get("type", ""))
    kind = _MODEL_TYPE_KINDS.get(model_type, model_type.lower() or "unknown")
    source = f"tokenizer.json model.type = {model_type}"
    if kind == "bpe" and model.get("byte_fallback") is True:
        # A SentencePiece BPE vocabulary converted to tokenizer.json (Llama, Mistral): llama.cpp
        # calls this family "llama", tokenized the SentencePiece way.
        kind = "spm"
        source += " with byte_fallback"
    return TokenizerInfo(kind, _vocab_size(model.get("vocab"), document.get("added_tokens")), source)


def _vocab_size(vocab: Any, added_tokens: Any) -> int | None:
    """Distinct ids in the model's vocabulary plus the added tokens (as tokenizers counts them)."""
    if isinstance(vocab, dict):
        ids = {value for value in vocab.values() if isinstance(value, int)}
    elif isinstance(vocab, list):  # Unigram: [piece, score] pairs, the id is the position
        ids = set(range(len(vocab)))
    else:
        return None
    for token in added_tokens or ():
        if isinstance(token, dict) and isinstance(token.get("id"), int):
            ids.add(token["id"])
    return len(ids)
