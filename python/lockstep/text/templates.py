"""Prompt templates: turn a prompt or a conversation into the exact text a backend tokenizes.

Built-in templates: ``raw``, ``instruct``, ``llama3-chat``, ``chatml``. ``jinja`` renders the
model's own chat template the way transformers' ``apply_chat_template`` does (immutable
sandbox, trim_blocks + lstrip_blocks, ``raise_exception``, ``tojson``, ``strftime_now``), so the
prompt matches what a transformers user would feed the model. ``auto`` picks one (see
:func:`choose_template`).

The template also decides BOS: when the rendered text already starts with the BOS token and
the tokenizer would add one too, the tokenizer's BOS is suppressed and the correction is
reported in :attr:`RenderedPrompt.notes` — never silently doubled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from lockstep.errors import TemplateError

TEMPLATE_NAMES = ("auto", "raw", "instruct", "llama3-chat", "chatml", "jinja")
ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True)
class TokenizerHints:
    """What a template needs to know about the tokenizer that will read its output."""

    bos_token: str | None = None  # the BOS piece, e.g. "<s>" or "<|begin_of_text|>"
    eos_token: str | None = None
    add_bos: bool = False  # whether the tokenizer adds BOS by itself (add_special=True)
    special_tokens: frozenset[str] = frozenset()  # pieces of control / user-defined tokens


@dataclass
class RenderedPrompt:
    text: str
    template: str  # the template actually used ("chatml", "jinja", ...)
    add_bos: bool  # whether the tokenizer should add its BOS to `text`
    reason: str  # why this template was chosen
    notes: list[str] = field(default_factory=list)  # corrections made, e.g. a doubled BOS avoided


def conversation(
    prompt: str | None = None,
    messages: Sequence[Mapping[str, str]] | None = None,
    system_prompt: str | None = None,
) -> list[dict[str, str]]:
    """Normalise a single prompt or a list of ``{role, content}`` turns, plus an optional
    system prompt, into a validated list of turns."""
    if (prompt is None) == (messages is None):
        raise TemplateError("give either a prompt or a list of messages, not both or neither")
    turns = [{"role": "user", "content": prompt}] if prompt is not None else [dict(m) for m in messages or []]
    for index, turn in enumerate(turns):
        role, content = turn.get("role"), turn.get("content")
        if role not in ROLES:
            raise TemplateError(f"message {index}: role must be one of {', '.join(ROLES)}, not {role!r}")
        if not isinstance(content, str):
            raise TemplateError(f"message {index}: content must be a string, not {type(content).__name__}")
    if system_prompt is not None:
        if turns and turns[0]["role"] == "system":
            raise TemplateError("a system prompt was given twice (as --system-prompt and as the first message)")
        turns.insert(0, {"role": "system", "content": system_prompt})
    if not turns:
        raise TemplateError("the conversation is empty")
    return turns


# Tokens with which chat templates end a turn; a reply stops at whichever the vocabulary has.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>")


def end_of_turn_markers(hints: TokenizerHints) -> tuple[str, ...]:
    """The special-token texts that end an assistant turn for this tokenizer: the known
    end-of-turn tokens it has, and its EOS."""
    markers = [token for token in END_OF_TURN_TOKENS if token in hints.special_tokens]
    if hints.eos_token and hints.eos_token not in markers:
        markers.append(hints.eos_token)
    return tuple(markers)


def load_messages(path: str | Path) -> list[dict[str, str]]:
    """Read a conversation from a JSON file: a list of ``{"role": ..., "content": ...}``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TemplateError(f"{path}: cannot read messages: {error}") from error
    if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
        raise TemplateError(f"{path}: messages must be a JSON list of objects with role and content")
    return data


def choose_template(
    requested: str = "auto",
    *,
    chat_template_file: str | Path | None = None,
    embedded_template: str | None = None,
    hints: TokenizerHints = TokenizerHints(),
) -> tuple[str, str | None, str]:
    """Resolve ``auto``: the command-line file, else the model's embedded template, else hints
    from the tokenizer's special tokens, else ``raw``. Returns (name, jinja source, reason)."""
    if requested not in TEMPLATE_NAMES:
        raise TemplateError(f"unknown template {requested!r}; choose from {', '.join(TEMPLATE_NAMES)}")
    file_source = _read_template_file(chat_template_file) if chat_template_file is not None else None
    if requested == "jinja":
        source = file_source if file_source is not None else embedded_template
        if source is None:
            raise TemplateError("template 'jinja' needs a chat template: the model has none embedded; pass --chat-template FILE")
        origin = f"--chat-template {chat_template_file}" if file_source is not None else "the model's embedded chat template"
        return "jinja", source, f"requested; rendering {origin}"
    if requested != "auto":
        return requested, None, "requested"
    if file_source is not None:
        return "jinja", file_source, f"auto: --chat-template {chat_template_file}"
    if embedded_template:
        return "jinja", embedded_template, "auto: the model embeds a chat template"
    if "<|im_start|>" in hints.special_tokens and "<|im_end|>" in hints.special_tokens:
        return "chatml", None, "auto: the vocabulary has <|im_start|>/<|im_end|> (ChatML)"
    if "<|start_header_id|>" in hints.special_tokens and "<|eot_id|>" in hints.special_tokens:
        return "llama3-chat", None, "auto: the vocabulary has <|start_header_id|>/<|eot_id|> (Llama 3 chat)"
    return "raw", None, "auto: no chat template and no chat tokens in the vocabulary"


def render(
    turns: Sequence[Mapping[str, str]],
    template: str = "auto",
    *,
    chat_template_file: str | Path | None = None,
    embedded_template: str | None = None,
    hints: TokenizerHints = TokenizerHints(),
    add_generation_prompt: bool = True,
    date: datetime | None = None,
) -> RenderedPrompt:
    """Render a conversation (from :func:`conversation`) with the chosen template.

    ``date`` pins what ``strftime_now`` returns inside jinja templates, for reproducible prompts.
    """
    name, source, reason = choose_template(
        template, chat_template_file=chat_template_file, embedded_template=embedded_template, hints=hints
    )
    if name == "jinja":
        assert source is not None
        text = render_jinja(source, turns, hints=hints, add_generation_prompt=add_generation_prompt, date=date)
    else:
        text = _BUILTIN[name](turns, add_generation_prompt)
    return _settle_bos(RenderedPrompt(text=text, template=name, add_bos=hints.add_bos, reason=reason), hints)


def render_jinja(
    source: str,
    turns: Sequence[Mapping[str, str]],
    *,
    hints: TokenizerHints = TokenizerHints(),
    add_generation_prompt: bool = True,
    date: datetime | None = None,
) -> str:
    """Render a Hugging Face chat template with the environment transformers gives it."""
    try:
        compiled = _environment(date).from_string(source)
        return compiled.render(
            messages=[dict(turn) for turn in turns],
            add_generation_prompt=add_generation_prompt,
            bos_token=hints.bos_token or "",
            eos_token=hints.eos_token or "",
            tools=None,
            documents=None,
        )
    except jinja2.TemplateError as error:
        raise TemplateError(f"chat template failed: {type(error).__name__}: {error}") from error


def _environment(date: datetime | None) -> ImmutableSandboxedEnvironment:
    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False) -> str:
        # Not jinja's own tojson: that one HTML-escapes, which chat templates do not expect.
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format: str) -> str:
        return (date or datetime.now()).strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def _settle_bos(prompt: RenderedPrompt, hints: TokenizerHints) -> RenderedPrompt:
    bos = hints.bos_token
    if not bos or not prompt.text.startswith(bos):
        return prompt
    if prompt.text.startswith(bos + bos):
        prompt.text = prompt.text[len(bos) :]
        prompt.notes.append(f"the template wrote BOS {bos!r} twice; one was removed")
    if prompt.add_bos:
        prompt.add_bos = False
        prompt.notes.append(f"the template starts with BOS {bos!r}, so the tokenizer's own BOS is not added")
    return prompt


def _read_template_file(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"{path}: cannot read chat template: {error}") from error


def _raw(turns: Sequence[Mapping[str, str]], add_generation_prompt: bool) -> str:
    # The text exactly as given; several turns are separated by blank lines.
    return "\n\n".join(turn["content"] for turn in turns)


def _instruct(turns: Sequence[Mapping[str, str]], add_generation_prompt: bool) -> str:
    # Alpaca-style instruction format, for base models without a chat template.
    parts = []
    for turn in turns:
        if turn["role"] == "system":
            parts.append(f"{turn['content']}\n\n")
        elif turn["role"] == "assistant":
            parts.append(f"### Response:\n{turn['content']}\n\n")
        else:
            parts.append(f"### Instruction:\n{turn['content']}\n\n")
    if add_generation_prompt:
        parts.append("### Response:\n")
    return "".join(parts)


def _llama3_chat(turns: Sequence[Mapping[str, str]], add_generation_prompt: bool) -> str:
    parts = ["<|begin_of_text|>"]
    for turn in turns:
        parts.append(f"<|start_header_id|>{turn['role']}<|end_header_id|>\n\n{turn['content']}<|eot_id|>")
    if add_generation_prompt:
        parts.append("<|start_header_id|>assistant<|end_header_id|>\n\n")
    return "".join(parts)


def _chatml(turns: Sequence[Mapping[str, str]], add_generation_prompt: bool) -> str:
    parts = [f"<|im_start|>{turn['role']}\n{turn['content']}<|im_end|>\n" for turn in turns]
    if add_generation_prompt:
        parts.append("<|im_start|>assistant\n")
    return "".join(parts)


_BUILTIN = {"raw": _raw, "instruct": _instruct, "llama3-chat": _llama3_chat, "chatml": _chatml}
