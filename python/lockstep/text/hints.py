"""What a prompt template needs to know about a model's tokenizer, read from the model file:
the BOS/EOS pieces, whether the tokenizer adds BOS itself, the special tokens, and the
embedded chat template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lockstep.errors import format_error
from lockstep.formats.json_files import MAX_JSON_BYTES, read_json_object
from lockstep.text.templates import TokenizerHints

# GGUF token types (llama.cpp's llama_token_type): control and user-defined tokens are the
# ones a template may write as text.
_CONTROL, _USER_DEFINED = 3, 4


def tokenizer_hints(path: str | Path) -> tuple[TokenizerHints, str | None]:
    """(hints, embedded chat template or None) for a GGUF file or a Hugging Face folder."""
    path = Path(path)
    if path.is_dir():
        return _from_hf_folder(path)
    return _from_gguf(path)


def _from_gguf(path: Path) -> tuple[TokenizerHints, str | None]:
    from lockstep.formats import gguf

    meta = gguf.open(path).metadata
    tokens = meta.get("tokenizer.ggml.tokens") or []
    types = meta.get("tokenizer.ggml.token_type")
    special = frozenset(
        tokens[i] for i in range(len(tokens)) if types is not None and i < len(types) and types[i] in (_CONTROL, _USER_DEFINED)
    )

    def piece(key: str) -> str | None:
        index = meta.get(key)
        return tokens[index] if isinstance(index, int) and 0 <= index < len(tokens) else None

    # llama.cpp adds BOS by default for SentencePiece vocabularies when the file does not say.
    add_bos = meta.get("tokenizer.ggml.add_bos_token", meta.get("tokenizer.ggml.model") == "llama")
    hints = TokenizerHints(
        bos_token=piece("tokenizer.ggml.bos_token_id"), eos_token=piece("tokenizer.ggml.eos_token_id"),
        add_bos=bool(add_bos), special_tokens=special,
    )
    return hints, meta.get("tokenizer.chat_template")


def _token_text(value: object) -> str | None:
    if isinstance(value, dict):  # {"content": "<s>", ...} in older tokenizer_config files
        value = value.get("content")
    return value if isinstance(value, str) else None


def _from_hf_folder(folder: Path) -> tuple[TokenizerHints, str | None]:
    config = _read_json(folder / "tokenizer_config.json")
    tokenizer = _read_json(folder / "tokenizer.json")
    special = frozenset(
        t["content"] for t in tokenizer.get("added_tokens", []) if isinstance(t, dict) and isinstance(t.get("content"), str)
    )
    found = chat_template_from_folder(folder)
    template = found[0] if found else None
    hints = TokenizerHints(
        bos_token=_token_text(config.get("bos_token")), eos_token=_token_text(config.get("eos_token")),
        add_bos=_folder_adds_bos(folder, config), special_tokens=special,
    )
    return hints, template


def _folder_adds_bos(folder: Path, config: dict) -> bool:
    """Whether encoding with special tokens starts with BOS: tokenizer_config.json's
    add_bos_token, else what lockstep's tokenizer reads from tokenizer.json (its
    post-processor's template, as transformers applies it)."""
    if "add_bos_token" in config:
        return bool(config["add_bos_token"])
    if not (folder / "tokenizer.json").is_file():
        return False
    from lockstep.text.tokenizer import Tokenizer

    return bool(Tokenizer.from_file(folder / "tokenizer.json").add_bos)


def _read_json(path: Path) -> dict:
    return read_json_object(path) if path.is_file() else {}


def chat_template_from_folder(folder: Path) -> tuple[str, str] | None:
    """(template, the file it came from), in transformers' order: chat_template.jinja takes
    priority over a template in tokenizer_config.json (chat_template.json is the older
    processors' file). The one rule for inspect, crossval and chat."""
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        size = jinja.stat().st_size
        if size > MAX_JSON_BYTES:
            raise format_error(jinja, None, f"{size} bytes is more than the {MAX_JSON_BYTES} bytes allowed for a template")
        return jinja.read_text(encoding="utf-8", errors="replace"), "chat_template.jinja"
    for name in ("chat_template.json", "tokenizer_config.json"):
        path = folder / name
        if path.is_file():
            template = _template_value(read_json_object(path).get("chat_template"))
            if template is not None:
                return template, f"{name} chat_template"
    return None


def _template_value(value: Any) -> str | None:
    """A template is a string, or a list of {name, template} of which "default" is the chat one."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        named = {entry.get("name"): entry.get("template") for entry in value if isinstance(entry, dict)}
        template = named.get("default")
        return template if isinstance(template, str) else None
    return None
