"""A conversation with one model on any backend: turns rendered by the model's own chat
template (lockstep.text.templates, the code crossval renders with), each reply generated
through one Context so that only the new turn is prefilled, stopping at the template's
end-of-turn token or the vocabulary's EOS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from lockstep.backends.generate import Context, GenerationRecord, stream_text
from lockstep.backends.protocol import IncrementalModel
from lockstep.backends.sampling import SamplingSettings
from lockstep.text.hints import tokenizer_hints
from lockstep.text.templates import RenderedPrompt, conversation, end_of_turn_markers, render


@dataclass
class Turn:
    """One exchange and what it cost."""

    user: str
    reply: str
    prompt: RenderedPrompt  # the whole conversation as the template rendered it for this reply
    prompt_ids: np.ndarray
    tokenize_ms: float
    record: GenerationRecord = field(default_factory=GenerationRecord)


class ChatSession:
    def __init__(self, model: IncrementalModel, model_path: str | Path, *, template: str = "auto",
                 chat_template: str | Path | None = None, system_prompt: str | None = None,
                 settings: SamplingSettings = SamplingSettings(max_tokens=256), date: datetime | None = None):
        """template / chat_template: as crossval's --prompt-template / --chat-template.
        date pins strftime_now in jinja templates (reproducible prompts)."""
        self.model = model
        self.settings = settings
        self.system_prompt = system_prompt
        self.messages: list[dict[str, str]] = []  # user and assistant turns, oldest first
        self.turns: list[Turn] = []  # every reply of the session, /clear included
        self._template, self._chat_template, self._date = template, chat_template, date
        self._hints, self._embedded = tokenizer_hints(model_path)
        self.context = Context(model)
        self.stop_ids = frozenset(model.eos_ids) | self._single_token_ids(end_of_turn_markers(self._hints))

    def conversation(self) -> list[dict[str, str]]:
        """The conversation so far as crossval --messages reads it (system prompt first)."""
        head = [{"role": "system", "content": self.system_prompt}] if self.system_prompt is not None else []
        return head + [dict(m) for m in self.messages]

    def render(self, messages: list[dict[str, str]]) -> RenderedPrompt:
        turns = conversation(messages=messages, system_prompt=self.system_prompt)
        return render(turns, self._template, chat_template_file=self._chat_template, embedded_template=self._embedded,
                      hints=self._hints, date=self._date)

    def reply(self, text: str, on_text: Callable[[str], None] = lambda piece: None) -> Turn:
        """Answers `text`, passing each piece of the reply to on_text as it arrives. Ctrl-C
        (KeyboardInterrupt) ends the reply early; what was said so far stays in the history."""
        messages = [*self.messages, {"role": "user", "content": text}]
        prompt = self.render(messages)
        start = time.perf_counter()
        ids = self.model.tokenize(prompt.text, add_special=prompt.add_bos, parse_special=True)
        turn = Turn(user=text, reply="", prompt=prompt, prompt_ids=ids, tokenize_ms=(time.perf_counter() - start) * 1000)
        pieces: list[str] = []
        try:
            for piece in stream_text(self.model, ids, self.settings, self.stop_ids, self.context, turn.record):
                pieces.append(piece)
                on_text(piece)
        except KeyboardInterrupt:
            turn.record.stop_reason = "interrupted"
        turn.reply = "".join(pieces)
        self.messages = [*messages, {"role": "assistant", "content": turn.reply}]
        self.turns.append(turn)
        return turn

    def clear(self) -> None:
        """Forgets the turns (the system prompt stays). The cache keeps whatever prefix the
        next prompt still shares (the template's preamble)."""
        self.messages = []

    def _single_token_ids(self, markers: tuple[str, ...]) -> frozenset[int]:
        ids = set()
        for marker in markers:
            tokens = self.model.tokenize(marker, add_special=False, parse_special=True)
            if len(tokens) == 1:
                ids.add(int(tokens[0]))
        return frozenset(ids)


__all__ = ["ChatSession", "Turn"]
