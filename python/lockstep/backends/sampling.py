"""Sampling settings shared by generate, chat and the Python API on every backend. The chain
itself is C++ (src/sampling/sampler.h) and reads each row of logits in place:

    penalties -> top-k -> top-p -> min-p -> temperature -> seeded draw

llama.cpp's order (its Llama sampler's penalties, top-k, typical, top-p, min-p, temp, dist),
so the same settings give the same distribution on the same logits. Temperature 0 is greedy
(the argmax after the penalties). The penalties look at the last ``penalty_last_n`` tokens of
the context (prompt and reply alike)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from lockstep import _core


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.0
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1: off
    min_p: float = 0.0  # 0: off
    repeat_penalty: float = 1.0  # 1: off
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    penalty_last_n: int = 64  # -1: the whole context
    seed: int = 0
    max_tokens: int = 64
    stop: tuple[str, ...] = field(default_factory=tuple)  # text that ends the reply (not shown)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stop", tuple(self.stop))
        if self.max_tokens < 0:
            raise ValueError(f"max_tokens must not be negative, got {self.max_tokens}")
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be in [0, 2**64), got {self.seed}")
        if any(not isinstance(s, str) or not s for s in self.stop):
            raise ValueError(f"stop strings must be non-empty text, got {self.stop!r}")
        if not math.isfinite(self.temperature) or self.temperature < 0:
            raise ValueError(f"temperature must be a finite number >= 0, got {self.temperature}")
        self.sampler()  # the chain's own range checks (ValueError naming the setting)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def sampler(self) -> "_core.Sampler":
        """A fresh chain seeded with `seed`: the same calls on it give the same tokens."""
        chain = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("max_tokens", "stop")}
        return _core.Sampler(**chain)

    def to_json(self) -> dict:
        out = asdict(self)
        out["stop"] = list(self.stop)
        return out

    @classmethod
    def from_json(cls, data: dict) -> "SamplingSettings":
        return cls(**{**data, "stop": tuple(data.get("stop", ()))})


def logit_row(logits: np.ndarray) -> np.ndarray:
    """The last row of `logits` as the chain reads it: a float32 view when it already is one
    (every backend's logits are), a converted copy otherwise."""
    row = logits[-1] if logits.ndim == 2 else logits
    return np.ascontiguousarray(row, dtype=np.float32)


__all__ = ["SamplingSettings", "logit_row"]
