"""Byte-level BPE pre-tokenizers: the Hugging Face `tokenizer.json` configuration of each, under
the name llama.cpp gives it in `tokenizer.ggml.pre`.

llama.cpp's own converter identifies the pre-tokenizer by hashing the ids a tokenizer produces
for a fixed probe text, against a table of known models. lockstep instead reads the
`pre_tokenizer` section of `tokenizer.json` and matches it against the configurations below,
which are the ones llama.cpp's regexes reproduce (src/llama-vocab.cpp, `llm_tokenizer_bpe`):

  gpt-2      ByteLevel with its built-in GPT-2 regex
  smollm     each digit split off, then ByteLevel with the GPT-2 regex (SmolLM, StarCoder)
  llama-bpe  the Llama 3 regex (digits in runs of at most 3), then ByteLevel without a regex
  qwen2      the Qwen2 regex (single digits), then ByteLevel without a regex

Anything else needs `--pre NAME` on the command line.
"""

from __future__ import annotations

from typing import Any

# The regexes exactly as they appear in the tokenizer.json of Llama 3 and Qwen2.
LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def _byte_level(use_regex: bool) -> dict[str, Any]:
    return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": use_regex}


def _split_then_bytes(regex: str) -> dict[str, Any]:
    split = {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}
    return {"type": "Sequence", "pretokenizers": [split, _byte_level(use_regex=False)]}


KNOWN: dict[str, dict[str, Any]] = {
    "gpt-2": _byte_level(use_regex=True),
    "smollm": {
        "type": "Sequence",
        "pretokenizers": [{"type": "Digits", "individual_digits": True}, _byte_level(use_regex=True)],
    },
    "llama-bpe": _split_then_bytes(LLAMA3_REGEX),
    "qwen2": _split_then_bytes(QWEN2_REGEX),
}

# Fields that change which pieces a pre-tokenizer produces; others (offset trimming) do not.
_MEANINGFUL_FIELDS = ("type", "add_prefix_space", "use_regex", "individual_digits", "pattern", "behavior", "invert")


def _signature(config: Any) -> Any:
    if isinstance(config, dict) and config.get("type") == "Sequence":
        steps = [_signature(step) for step in config.get("pretokenizers", [])]
        return steps[0] if len(steps) == 1 else ("Sequence", tuple(steps))
    if isinstance(config, dict):
        return tuple((key, repr(config.get(key))) for key in _MEANINGFUL_FIELDS if key in config)
    return repr(config)


def detect(pre_tokenizer: Any) -> str | None:
    """llama.cpp's name for a tokenizer.json `pre_tokenizer` section, or None if not recognised."""
    wanted = _signature(pre_tokenizer)
    return next((name for name, config in KNOWN.items() if _signature(config) == wanted), None)
