"""Cross-validation of backends on one model: the Python front of the C++ dispatcher.

Order of the checks, each with its own exit code (DESIGN.md):
preflight (3) -> template (4) -> tokenize + parity gate (2) -> logits + metrics -> verdict (0/1).
A model file that cannot be read is exit 5.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from lockstep import _core
from lockstep.backends import BackendUnavailable, check_backend
from lockstep.compare import LogitComparison
from lockstep.exit_codes import ExitCode
from lockstep.templates import RenderedPrompt, TokenizerHints, conversation, render
from lockstep.tokenizer_hints import tokenizer_hints

SCHEMA_VERSION = 1
# The reference comes first: llama.cpp is the established engine the others are held to.
BACKEND_SETS = {"both": ("llama.cpp", "native"), "all": ("llama.cpp", "native", "hf")}


def default_thresholds() -> dict[str, float]:
    """The named thresholds that decide the first diverging position (see README)."""
    return dict(_core.default_thresholds())


@dataclass
class PairReport:
    reference: str
    test: str
    metrics: LogitComparison
    first_divergence: int | None
    divergence_reason: str
    teacher_forced: LogitComparison | None = None
    teacher_forced_first_divergence: int | None = None
    free_running: list[int] = field(default_factory=list)
    free_running_agreement: int | None = None

    @property
    def passed(self) -> bool:
        return self.first_divergence is None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reference": self.reference, "test": self.test, "passed": self.passed,
            "first_divergence": self.first_divergence, "divergence_reason": self.divergence_reason,
            **self.metrics.summary(),
        }
        if self.teacher_forced is not None:
            out["teacher_forced"] = {**self.teacher_forced.summary(),
                                     "first_divergence": self.teacher_forced_first_divergence}
            out["free_running_agreement"] = self.free_running_agreement
        return out


@dataclass
class CrossvalReport:
    model: str
    model_sha256: str
    backends: list[dict[str, str]]  # name, version
    prompt: RenderedPrompt
    flags: dict[str, Any]
    thresholds: dict[str, float]
    tokens: dict[str, list[int]]
    token_mismatch: dict[str, Any] | None
    pairs: list[PairReport]
    cross_pairs: list[PairReport]
    odd_one_out: str | None
    reference_greedy: list[int]
    exit_code: int

    @property
    def passed(self) -> bool:
        return self.exit_code == ExitCode.OK

    @property
    def first_divergence(self) -> int | None:
        """The earliest position where any backend left the reference (None if none did)."""
        positions = [p.first_divergence for p in self.pairs if p.first_divergence is not None]
        return min(positions) if positions else None

    def to_dict(self) -> dict[str, Any]:
        def pair_dict(pair: PairReport) -> dict[str, Any]:
            rows = pair.metrics.to_frame().to_dict(orient="records")
            out = {**pair.summary(), "positions": _plain(rows)}
            if pair.teacher_forced is not None:
                out["teacher_forced_positions"] = _plain(pair.teacher_forced.to_frame().to_dict(orient="records"))
                out["free_running"] = pair.free_running
            return out

        return {
            "schema_version": SCHEMA_VERSION,
            "model": {"path": self.model, "sha256": self.model_sha256},
            "backends": self.backends,
            "flags": self.flags,
            "template": {"name": self.prompt.template, "reason": self.prompt.reason, "notes": self.prompt.notes,
                         "text": self.prompt.text, "add_bos": self.prompt.add_bos},
            "thresholds": self.thresholds,
            "tokens": self.tokens,
            "token_mismatch": self.token_mismatch,
            "verdict": {"exit_code": self.exit_code, "passed": self.passed,
                        "first_divergence": self.first_divergence, "odd_one_out": self.odd_one_out},
            "reference_greedy": self.reference_greedy,
            "pairs": [pair_dict(p) for p in self.pairs],
            "cross_pairs": [pair_dict(p) for p in self.cross_pairs],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, default=_json_default)

    def to_frame(self):
        """One row per (pair, position): the per-position metrics with the pair's names."""
        import pandas as pd

        frames = []
        for pair in self.pairs + self.cross_pairs:
            frame = pair.metrics.to_frame()
            frame.insert(0, "test", pair.test)
            frame.insert(0, "reference", pair.reference)
            frame["diverged"] = frame["position"] >= (pair.first_divergence if pair.first_divergence is not None else 1 << 62)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def crossval(
    path: str | Path,
    prompt: str | None = None,
    *,
    messages: Sequence[Mapping[str, str]] | None = None,
    system_prompt: str | None = None,
    backends: Sequence[str] | str = "both",
    template: str = "auto",
    chat_template: str | Path | None = None,
    steps: int = 0,
    thresholds: Mapping[str, float] | None = None,
    top_k: int = 10,
    n_threads: int | None = None,
    inject_fault: str | None = None,
    date: datetime | None = None,
) -> CrossvalReport:
    """Run one model on several backends and compare them token by token.

    Raises BackendUnavailable (exit 3), TemplateError (exit 4) or FormatError (exit 5) before
    any backend computes; otherwise returns a report whose ``exit_code`` is 0, 1 or 2.
    """
    path = Path(path)
    names = list(BACKEND_SETS.get(backends, (backends,)) if isinstance(backends, str) else backends)
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"crossval needs at least two different backends, got {names}")
    for name in names:
        preflight = check_backend(name)
        if not preflight.ok:
            raise BackendUnavailable(name, preflight)

    hints, embedded = tokenizer_hints(path)
    turns = conversation(prompt=prompt, messages=messages, system_prompt=system_prompt)
    rendered = render(turns, template, chat_template_file=chat_template, embedded_template=embedded,
                      hints=hints, date=date)

    made = [
        _core.create_backend(name, str(path), n_threads or 0, inject_fault if name == "native" and inject_fault else "")
        for name in names
    ]
    all_thresholds = {**default_thresholds(), **(thresholds or {})}
    # The template decides BOS: add_special follows it. Special tokens in the rendered text
    # (chat markers) are always parsed, as the model saw them in training.
    raw = _core.run_crossval(made, rendered.text, rendered.add_bos, True, all_thresholds, top_k, steps, n_threads or 0)
    return CrossvalReport(
        model=str(path),
        model_sha256=_sha256(path),
        backends=[{"name": b.name(), "version": b.version()} for b in made],
        prompt=rendered,
        flags={"add_special": rendered.add_bos, "parse_special": True, "steps": steps, "top_k": top_k,
               "inject_fault": inject_fault, "template": template},
        thresholds=all_thresholds,
        tokens={name: list(map(int, ids)) for name, ids in zip(raw["backends"], raw["tokens"])},
        token_mismatch=_mismatch(raw["token_mismatch"]),
        pairs=[_pair(p, top_k) for p in raw["pairs"]],
        cross_pairs=[_pair(p, top_k) for p in raw["cross_pairs"]],
        odd_one_out=raw["odd_one_out"] or None,
        reference_greedy=list(raw["reference_greedy"]),
        exit_code=int(raw["exit_code"]),
    )


def _pair(raw: dict[str, Any], top_k: int) -> PairReport:
    steps = len(raw["free_running"]) > 0
    return PairReport(
        reference=raw["reference"], test=raw["test"],
        metrics=LogitComparison(raw["positions"], top_k),
        first_divergence=None if raw["first_divergence"] < 0 else int(raw["first_divergence"]),
        divergence_reason=raw["divergence_reason"],
        teacher_forced=LogitComparison(raw["teacher_forced"], top_k) if steps else None,
        teacher_forced_first_divergence=(
            None if not steps or raw["teacher_forced_first_divergence"] < 0 else int(raw["teacher_forced_first_divergence"])
        ),
        free_running=list(raw["free_running"]),
        free_running_agreement=int(raw["free_running_agreement"]) if steps else None,
    )


def _mismatch(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None

    def side(s: dict[str, Any]) -> dict[str, Any]:
        return {
            "backend": s["backend"], "id": s["id"], "piece": _piece(s["piece"]),
            "window_ids": list(s["window_ids"]), "window_pieces": [_piece(p) for p in s["window_pieces"]],
        }

    return {"index": raw["index"], "window_start": raw["window_start"], "a": side(raw["a"]), "b": side(raw["b"]),
            "cause": raw["cause"], "explanation": raw["explanation"]}


def _piece(raw: bytes) -> str:
    # Pieces may be partial UTF-8 sequences; show undecodable bytes as \xNN.
    return raw.decode("utf-8", errors="backslashreplace")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    for file in files:
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


__all__ = ["BACKEND_SETS", "CrossvalReport", "PairReport", "TokenizerHints", "crossval", "default_thresholds"]
