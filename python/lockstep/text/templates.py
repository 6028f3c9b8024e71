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
import re
import resource
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from lockstep.errors import TemplateError

# Bounds of one Jinja render: a chat template is untrusted code (a model file's metadata).
# Real templates render in milliseconds to a few kilobytes; these leave room for long
# conversations and stop a template that loops, blows up a string or recurses.
MAX_TEMPLATE_SOURCE = 1 << 20  # characters of template source
MAX_TEMPLATE_OUTPUT = 1 << 23  # characters of rendered text; also the largest width or count a template may pass
MAX_TEMPLATE_SECONDS = 2.0
MAX_TEMPLATE_MEMORY = 256 << 20  # bytes the process may grow beyond its peak while rendering

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
    if len(source) > MAX_TEMPLATE_SOURCE:
        raise TemplateError(f"chat template failed: its source is {len(source)} characters, over the limit of {MAX_TEMPLATE_SOURCE}")
    budget = _RenderBudget()
    previous_trace = sys.gettrace()
    try:
        compiled = _environment(date).from_string(source)
        sys.settrace(budget.trace)
        parts, size = [], 0
        for part in compiled.generate(
            messages=[dict(turn) for turn in turns],
            add_generation_prompt=add_generation_prompt,
            bos_token=hints.bos_token or "",
            eos_token=hints.eos_token or "",
            tools=None,
            documents=None,
        ):
            size += len(part)
            if size > MAX_TEMPLATE_OUTPUT:
                raise TemplateError(f"chat template stopped: the rendered prompt exceeds {MAX_TEMPLATE_OUTPUT} characters")
            parts.append(part)
        return "".join(parts)
    except TemplateError:
        raise  # a bound stopped it (MAX_TEMPLATE_*)
    except Exception as error:  # noqa: BLE001 - whatever a template does wrong (1/0, a bad index, recursion) is its error
        raise TemplateError(f"chat template failed: {type(error).__name__}: {error}") from error
    finally:
        sys.settrace(previous_trace)


def _environment(date: datetime | None) -> ImmutableSandboxedEnvironment:
    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False) -> str:
        # Not jinja's own tojson: that one HTML-escapes, which chat templates do not expect.
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format: str) -> str:
        return (date or datetime.now()).strftime(format)

    # No loader that finds anything: {% include %}, {% import %} and {% extends %} fail as template errors.
    env = _BoundedSandbox(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols],
                          loader=jinja2.DictLoader({}))
    env.filters["tojson"] = tojson
    env.filters = {name: _bounded_filter(name, f) for name, f in env.filters.items()}
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


class _RenderBudget:
    """Time and memory of one render, checked at every line the template's code runs (a trace
    function on this thread, active only in frames compiled from the template)."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + MAX_TEMPLATE_SECONDS
        self.memory_limit = _peak_rss() + MAX_TEMPLATE_MEMORY

    def trace(self, frame, event: str, arg: Any):
        return self.check if frame.f_code.co_filename == "<template>" else None

    def check(self, frame, event: str, arg: Any):
        if time.monotonic() > self.deadline:
            raise TemplateError(f"chat template stopped: rendering took longer than {MAX_TEMPLATE_SECONDS:g} s (a loop that does not end?)")
        if _peak_rss() > self.memory_limit:
            raise TemplateError(f"chat template stopped: rendering took more than {MAX_TEMPLATE_MEMORY >> 20} MB of memory")
        return self.check


# Widths and counts inside format strings ("%9999999d", "{:>9999999}").
_NUMBER = re.compile(r"\d{7,}")


def _check_count(value: Any, what: str) -> None:
    """Refuses an integer (alone or in a tuple, list or dict of arguments) larger than any output allows."""
    items = value if isinstance(value, (tuple, list)) else list(value.values()) if isinstance(value, Mapping) else [value]
    for item in items[:64]:
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_TEMPLATE_OUTPUT:
            raise TemplateError(f"chat template stopped: {what}: {item} exceeds the limit of {MAX_TEMPLATE_OUTPUT}")


def _check_format(value: Any, what: str) -> None:
    """Refuses a format string with a width or precision larger than any output allows."""
    if isinstance(value, str):
        for number in _NUMBER.findall(value):
            if int(number) > MAX_TEMPLATE_OUTPUT:
                raise TemplateError(f"chat template stopped: {what}: a width of {number} exceeds the limit of {MAX_TEMPLATE_OUTPUT}")


def _bounded_filter(name: str, function):
    """The filter, refusing counts and widths (arguments after the value) beyond the output limit."""
    first = 0 if getattr(function, "jinja_pass_arg", None) is None else 1  # context/environment comes first

    def bounded(*args, **kwargs):
        _check_count(list(args[first + 1:]) + list(kwargs.values()), f"filter {name!r}")
        if name == "format" and len(args) > first:
            _check_format(args[first], "filter 'format'")
        return function(*args, **kwargs)

    if hasattr(function, "jinja_pass_arg"):
        bounded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    return bounded


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """transformers' sandbox plus bounds on what one operation or call may build: no string or
    list beyond MAX_TEMPLATE_OUTPUT from *, + or %, no integer power or product of unbounded
    size, no call with a count or width beyond it. Such operations are not folded at compile time."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sized, count in ((left, right), (right, left)):
                if isinstance(count, int) and hasattr(sized, "__len__") and len(sized) * count > MAX_TEMPLATE_OUTPUT:
                    raise TemplateError(f"chat template stopped: '*' would build {len(sized) * count} items, over the limit of {MAX_TEMPLATE_OUTPUT}")
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > 1 << 16:
                raise TemplateError("chat template stopped: '*' of integers this large is refused")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0 and \
                    right * left.bit_length() > 1 << 16:
                raise TemplateError(f"chat template stopped: '**' would build an integer of about {right * left.bit_length()} bits")
        elif operator == "+":
            if hasattr(left, "__len__") and hasattr(right, "__len__") and len(left) + len(right) > MAX_TEMPLATE_OUTPUT:
                raise TemplateError(f"chat template stopped: '+' would build {len(left) + len(right)} items, over the limit of {MAX_TEMPLATE_OUTPUT}")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, "'%' formatting")
            _check_count(right, "'%' formatting")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja's own signature
        _check_count([*args, *kwargs.values()], f"calling {getattr(__obj, '__name__', 'a function')}")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any):
        wrapped = super().wrap_str_format(value)  # not None: value is str.format or str.format_map
        if wrapped is not None:
            _check_format(value.__self__, f"str.{value.__name__}")
        return wrapped


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
