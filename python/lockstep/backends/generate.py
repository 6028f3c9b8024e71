"""Text generation on the native engine: greedy or seeded sampling, one token at a time
through the KV cache, streamed as text that is always valid UTF-8."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from lockstep.backends.protocol import Model
from lockstep.text.utf8_stream import Utf8Stream


class IncrementalModel(Model, Protocol):
    """A model that decodes through a KV cache (the native engine's eval)."""

    def reset(self) -> None: ...

    def eval(self, ids: Sequence[int] | np.ndarray, capture=None, last_only: bool = False): ...

    @property
    def eos_ids(self) -> frozenset[int]: ...


def pick_token(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Argmax at temperature 0; otherwise a draw from softmax(logits / temperature)."""
    if temperature <= 0.0:
        return int(np.argmax(logits))
    scaled = logits.astype(np.float64) / temperature
    probabilities = np.exp(scaled - scaled.max())
    probabilities /= probabilities.sum()
    return int(rng.choice(probabilities.size, p=probabilities))


def generate_ids(model: IncrementalModel, prompt_ids: Sequence[int] | np.ndarray, max_tokens: int = 64,
                 temperature: float = 0.0, seed: int = 0, stop_ids: frozenset[int] = frozenset()) -> Iterator[int]:
    """The tokens that follow `prompt_ids`, one at a time (a stop token ends without being yielded).

    The prompt is evaluated in one prefill from an empty context, then each new token in one
    decode step; only the last row of logits is computed. The same seed gives the same tokens.
    """
    if max_tokens < 0:
        raise ValueError(f"max_tokens must not be negative, got {max_tokens}")
    if temperature < 0 or not np.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
    rng = np.random.default_rng(seed)
    if max_tokens == 0:
        return
    model.reset()
    logits = model.eval(prompt_ids, last_only=True)
    for produced in range(max_tokens):
        token = pick_token(logits[-1], temperature, rng)
        if token in stop_ids:
            return
        yield token
        if produced + 1 < max_tokens:
            logits = model.eval([token], last_only=True)


def generate(model: IncrementalModel, prompt: str, max_tokens: int = 64, temperature: float = 0.0, seed: int = 0,
             add_special: bool = True) -> Iterator[str]:
    """Text pieces as they are produced, stopping at the vocabulary's end-of-sequence token."""
    prompt_ids = model.tokenize(prompt, add_special=add_special, parse_special=True)
    stream = Utf8Stream()
    for token in generate_ids(model, prompt_ids, max_tokens, temperature, seed, stop_ids=model.eos_ids):
        text = stream.feed(model.token_piece(token))
        if text:
            yield text
    tail = stream.flush()
    if tail:
        yield tail


__all__ = ["generate", "generate_ids", "pick_token"]
