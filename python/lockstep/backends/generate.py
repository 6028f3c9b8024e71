"""Text generation on any backend (lockstep.backends.protocol.IncrementalModel): the prompt in
one prefill, then one decode step per token through the backend's KV cache, each token drawn
by the shared sampler chain (lockstep.backends.sampling), streamed as text that is always
valid UTF-8 and ends before any stop string.

A :class:`Context` remembers which tokens the backend's cache holds, so a conversation's next
prompt, which starts with everything said so far, prefills only the new turn.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from lockstep.backends.protocol import IncrementalModel
from lockstep.backends.sampling import SamplingSettings, logit_row
from lockstep.text.stop_strings import StopStrings
from lockstep.text.utf8_stream import Utf8Stream


class Context:
    """The tokens in a model's context. Invariant: they are the first len(tokens) positions of
    the backend's cache (which may hold more after an interrupted step; those are rewound)."""

    def __init__(self, model: IncrementalModel):
        self.model = model
        self.tokens: list[int] = []
        model.reset()

    def prefill(self, ids: Sequence[int] | np.ndarray) -> tuple[np.ndarray, int]:
        """Makes the context exactly `ids`, computing only what differs from what it holds:
        (logits of the last position [1, vocab], how many tokens were computed)."""
        ids = [int(i) for i in ids]
        if not ids:
            raise ValueError("no prompt tokens")
        common = 0
        for held, new in zip(self.tokens, ids):
            if held != new:
                break
            common += 1
        common = min(common, len(ids) - 1)  # the last prompt token is always computed: its logits pick the first reply token
        self.model.rewind(common)
        del self.tokens[common:]
        logits = self.model.eval(ids[common:], last_only=True)
        self.tokens.extend(ids[common:])
        return logits, len(ids) - common

    def append(self, token: int) -> np.ndarray:
        logits = self.model.eval([token], last_only=True)
        self.tokens.append(int(token))
        return logits


@dataclass
class GenerationRecord:
    """What one generation did, filled in as it runs (the receipt's and /metrics' figures)."""

    prompt_tokens: int = 0
    prefilled_tokens: int = 0  # prompt tokens computed; the rest were already in the cache
    tokens: list[int] = field(default_factory=list)
    prefill_ms: float = 0.0
    decode_ms: float = 0.0
    first_token_ms: float = 0.0  # from the start of the prefill to the first token drawn
    stop_reason: str = ""  # "eos", "max-tokens", "stop-string", "interrupted"

    @property
    def tokens_per_second(self) -> float:
        """Decode speed: tokens after the first over the time their steps took."""
        steps = len(self.tokens) - 1
        return steps / (self.decode_ms / 1000) if steps > 0 and self.decode_ms > 0 else 0.0


def generate_ids(model: IncrementalModel, prompt_ids: Sequence[int] | np.ndarray,
                 settings: SamplingSettings = SamplingSettings(), stop_ids: frozenset[int] = frozenset(),
                 context: Context | None = None, record: GenerationRecord | None = None) -> Generator[int, None, None]:
    """The tokens that follow `prompt_ids`, one at a time (a stop token ends without being yielded).

    context: the conversation's context to continue (None: a fresh one). The same settings and
    seed give the same tokens on the same backend.
    """
    record = record if record is not None else GenerationRecord()
    record.prompt_tokens = len(prompt_ids)
    if settings.max_tokens == 0:
        record.stop_reason = "max-tokens"
        return
    context = context if context is not None else Context(model)
    sampler = settings.sampler()
    start = time.perf_counter()
    logits, record.prefilled_tokens = context.prefill(prompt_ids)
    record.prefill_ms = (time.perf_counter() - start) * 1000
    decode_start = None
    while True:
        token = sampler.sample(logit_row(logits), np.asarray(context.tokens, dtype=np.int32))
        now = time.perf_counter()
        if decode_start is None:
            decode_start = now
            record.first_token_ms = (now - start) * 1000
        record.decode_ms = (now - decode_start) * 1000
        if token in stop_ids:
            record.stop_reason = "eos"
            return
        record.tokens.append(token)
        yield token
        if len(record.tokens) == settings.max_tokens:
            record.stop_reason = "max-tokens"
            return
        logits = context.append(token)


def stream_text(model: IncrementalModel, prompt_ids: Sequence[int] | np.ndarray,
                settings: SamplingSettings = SamplingSettings(), stop_ids: frozenset[int] = frozenset(),
                context: Context | None = None, record: GenerationRecord | None = None) -> Iterator[str]:
    """The generated text in pieces as tokens arrive, ending before the first stop string."""
    record = record if record is not None else GenerationRecord()
    utf8, stops = Utf8Stream(), StopStrings(settings.stop)
    tokens = generate_ids(model, prompt_ids, settings, stop_ids, context, record)
    for token in tokens:
        text = stops.feed(utf8.feed(model.token_piece(token)))
        if text:
            yield text
        if stops.stopped:
            tokens.close()
            record.stop_reason = "stop-string"
            return
    tail = stops.feed(utf8.flush())
    if stops.stopped:
        record.stop_reason = "stop-string"
    tail += stops.flush()
    if tail:
        yield tail


class Generates:
    """model.generate(prompt, ...) for a backend class that is an IncrementalModel."""

    def generate(self, prompt: str, max_tokens: int = 64, temperature: float = 0.0, seed: int = 0,
                 add_special: bool = True, **sampling) -> Iterator[str]:
        """Text pieces as they are produced: greedy at temperature 0, else the seeded sampler
        chain (sampling: top_k, top_p, min_p, repeat_penalty, presence_penalty,
        frequency_penalty, penalty_last_n, stop)."""
        return generate(cast(IncrementalModel, self), prompt, max_tokens, temperature, seed, add_special, **sampling)


def generate(model: IncrementalModel, prompt: str, max_tokens: int = 64, temperature: float = 0.0, seed: int = 0,
             add_special: bool = True, **sampling) -> Iterator[str]:
    """Text pieces as they are produced, stopping at the vocabulary's end of sequence.
    sampling: the other SamplingSettings (top_k, top_p, min_p, repeat_penalty, ..., stop)."""
    settings = SamplingSettings(max_tokens=max_tokens, temperature=temperature, seed=seed, **sampling)
    prompt_ids = model.tokenize(prompt, add_special=add_special, parse_special=True)
    return stream_text(model, prompt_ids, settings, stop_ids=model.eos_ids)


__all__ = ["Context", "Generates", "GenerationRecord", "generate", "generate_ids", "stream_text"]
