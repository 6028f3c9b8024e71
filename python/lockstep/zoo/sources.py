"""What a sweep runs over: the models (files, Hugging Face folders, or folders searched for
them), the prompts (a text file, one prompt a line, or JSONL with prompts and chat
conversations) and a text corpus to score every model over, as ``lockstep kld`` does."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lockstep.errors import UsageError
from lockstep.text.templates import conversation


@dataclass(frozen=True)
class Prompt:
    """One prompt of a sweep: a single user prompt, or a conversation (JSON of its turns)."""

    text: str | None = None
    messages_json: str | None = None  # a conversation, as canonical JSON (hashable, picklable)
    system_prompt: str | None = None

    @property
    def messages(self) -> list[dict[str, str]] | None:
        return json.loads(self.messages_json) if self.messages_json is not None else None

    @property
    def canonical(self) -> str:
        """What identifies the prompt in a cell's key."""
        return json.dumps({"text": self.text, "messages": self.messages, "system": self.system_prompt}, sort_keys=True)

    @property
    def label(self) -> str:
        """The prompt as a table shows it: the text, or the last turn of a conversation."""
        if self.text is not None:
            return self.text
        turns = self.messages or []
        return f"[{len(turns)} turns] {turns[-1]['content']}" if turns else "[empty conversation]"


@dataclass(frozen=True)
class Corpus:
    """A text corpus every model of a sweep is scored over (lockstep.dispatch.corpus): windows
    of ``ctx`` tokens, at most ``max_windows`` of them. A cell's key holds its content's sha256,
    so an edited corpus is scored again."""

    path: str
    sha256: str
    ctx: int = 512
    max_windows: int | None = None

    @property
    def canonical(self) -> str:
        return json.dumps({"corpus": self.sha256, "ctx": self.ctx, "max_windows": self.max_windows}, sort_keys=True)

    @property
    def label(self) -> str:
        windows = f", at most {self.max_windows} windows" if self.max_windows is not None else ""
        return f"corpus {Path(self.path).name} (ctx {self.ctx}{windows})"


def corpus_from(path: str | os.PathLike, ctx: int = 512, max_windows: int | None = None) -> Corpus:
    """The corpus of a sweep, read once here to hash it: UsageError when it cannot be read."""
    try:
        data = Path(path).read_bytes()
        data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read the corpus ({error})") from error
    if ctx < 4:
        raise UsageError(f"--ctx must be at least 4 tokens, got {ctx}")
    return Corpus(str(path), hashlib.sha256(data).hexdigest(), ctx, max_windows)


def as_prompt(item: str | Mapping | Prompt, where: str = "prompt") -> Prompt:
    """A prompt from a string, ``{"prompt": ...}`` or ``{"messages": [...]}`` (with an optional
    ``"system"``); the conversation is validated here, before any cell runs."""
    if isinstance(item, Prompt):
        return item
    if isinstance(item, str):
        return Prompt(text=item)
    if not isinstance(item, Mapping):
        raise UsageError(f"{where}: a prompt is a string or an object with \"prompt\" or \"messages\", not {item!r}")
    system = item.get("system")
    if "messages" in item:
        turns = conversation(messages=item["messages"])  # TemplateError names the bad turn
        return Prompt(messages_json=json.dumps(turns, sort_keys=True), system_prompt=system)
    if isinstance(item.get("prompt"), str):
        return Prompt(text=item["prompt"], system_prompt=system)
    raise UsageError(f"{where}: an object prompt needs \"prompt\" (a string) or \"messages\" (a list of turns)")


def read_prompts(path: str | os.PathLike) -> list[Prompt]:
    """Prompts from a file: ``.jsonl`` holds one JSON value a line (a string, or an object as
    :func:`as_prompt` takes); any other file holds one prompt a line. Blank lines are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read the prompts ({error})") from error
    prompts = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if path.suffix == ".jsonl":
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise UsageError(f"{path}:{number}: not JSON ({error.msg} at column {error.colno})") from error
            prompts.append(as_prompt(value, f"{path}:{number}"))
        else:
            prompts.append(Prompt(text=line))
    if not prompts:
        raise UsageError(f"{path}: no prompts in the file")
    return prompts


def find_models(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Model paths from files, Hugging Face folders (with a config.json) and folders to search:
    a searched folder yields its GGUF files and the model folders beneath it, sorted. A path
    that does not exist is kept, so that its cell says so."""
    found: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir() and not (entry / "config.json").is_file():
            found.extend(_search(entry))
        else:
            found.append(entry)
    unique = list(dict.fromkeys(found))
    if not unique:
        raise UsageError(f"no models found in {', '.join(map(str, paths))}")
    return unique


def _search(folder: Path) -> list[Path]:
    models = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        here = Path(root)
        if "config.json" in files:
            models.append(here)
            dirs.clear()  # a model folder's own subfolders are part of it
            continue
        models.extend(here / name for name in sorted(files) if name.endswith(".gguf"))
    return models


def prompts_from(prompts: str | os.PathLike | Sequence[str | Mapping | Prompt]) -> list[Prompt]:
    """The prompts of ``lockstep.zoo``: a file (see :func:`read_prompts`) or a sequence."""
    if isinstance(prompts, (str, os.PathLike)):
        if Path(prompts).exists() and not Path(prompts).is_dir():  # a file, or a pipe: <(...) in a shell
            return read_prompts(prompts)
        raise UsageError(f"{prompts}: no such prompts file (pass a list to sweep literal prompts)")
    out = [as_prompt(p, f"prompt {i}") for i, p in enumerate(prompts)]
    if not out:
        raise UsageError("no prompts given")
    return out
