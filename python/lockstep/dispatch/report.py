"""The crossval report: per pair of backends, the alignment, per-position metrics and verdict;
its one JSON writer (schema: docs/crossval-json.md) and its DataFrame form."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from lockstep import _core
from lockstep.dispatch.metrics import LogitComparison
from lockstep.dispatch.noise_floor import times_floor
from lockstep.errors import ExitCode
from lockstep.text.templates import RenderedPrompt

SCHEMA_VERSION = 1


@dataclass
class PairReport:
    reference: str
    test: str
    precision_class: str
    thresholds: dict[str, float]
    alignment: dict[str, Any]
    metrics: LogitComparison
    first_divergence: int | None
    divergence_reason: str
    teacher_forced: LogitComparison | None = None
    teacher_forced_first_divergence: int | None = None
    free_running: list[int] = field(default_factory=list)
    free_running_agreement: int | None = None
    # Teacher-forced steps where the top-1 choices part: {step, reference_token, test_token,
    # margin, tie}; a tie is a near-tie flip (margin within top1_margin), not a divergence.
    greedy_splits: list[dict[str, Any]] = field(default_factory=list)
    # The noise floor the pair was judged against (lockstep.dispatch.noise_floor); None when
    # the fixed bands decided.
    noise_floor: dict[str, Any] | None = None
    # Where the pair's hidden states first part beyond the noise floor (localization.localize_pair);
    # None when no layer does or the pair was not localized.
    localization: dict[str, Any] | None = None
    # Each block's error per layer, the table the localization reads ({"anchored", "anchors_from",
    # point: [n_layer floats]}); None when the pair was not compared layer by layer.
    layer_errors: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        """Every stage that ran is within its limits: the prompt's logits, the teacher-forced
        steps, and the hidden states layer by layer (no block localized above its floor)."""
        return self.diverged_stage is None

    @property
    def diverged_stage(self) -> str | None:
        """The first stage that diverged: "prompt", "prompt-overall" (no position alone, but the
        mean KL is above OVERALL_TIMES_FLOOR noise floors), "teacher-forced", or "hidden-states" (the
        logits stay within thresholds but a layer's block parts beyond the noise floor); None
        when none did."""
        if self.first_divergence is not None:
            return "prompt"
        if self.noise_floor is not None and self.noise_floor["overall_diverged"]:
            return "prompt-overall"
        if self.teacher_forced_first_divergence is not None:
            return "teacher-forced"
        return "hidden-states" if self.localization is not None else None

    def frame(self, metrics: LogitComparison):
        """Per-position metrics as a DataFrame; with a noise floor, ``times_floor`` too (KL over
        the control's mean KL)."""
        frame = metrics.to_frame()
        frame["times_floor"] = times_floor(metrics.kl, self.noise_floor) if self.noise_floor is not None else np.nan
        return frame

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reference": self.reference, "test": self.test, "passed": self.passed,
            "precision_class": self.precision_class, "thresholds": self.thresholds,
            "first_divergence": self.first_divergence, "divergence_reason": self.divergence_reason,
            "diverged_stage": self.diverged_stage,
            **self.metrics.summary(), "localization": self.localization, "layer_errors": self.layer_errors,
            "noise_floor": self.noise_floor,
        }
        if self.teacher_forced is not None:
            out["teacher_forced"] = {**self.teacher_forced.summary(),
                                     "first_divergence": self.teacher_forced_first_divergence}
            out["free_running_agreement"] = self.free_running_agreement
            out["greedy_splits"] = self.greedy_splits
        return out


@dataclass
class CrossvalReport:
    model: str
    model_sha256: str
    backends: list[dict[str, Any]]  # label, name, version, capabilities, model {path, sha256}
    prompt: RenderedPrompt
    texts: dict[str, str]  # labels of backends whose own model file rendered a different prompt
    flags: dict[str, Any]
    thresholds: dict[str, dict[str, float]]
    tokens: dict[str, list[int]]
    token_mismatch: dict[str, Any] | None
    pairs: list[PairReport]
    cross_pairs: list[PairReport]
    odd_one_out: str | None
    reference_greedy: list[int]
    exit_code: int
    # With an injected fault: where it first shows inside the native engine (see localize_fault).
    fault_localization: dict[str, Any] | None = None
    # Why the fixed cross-precision band decided instead of a measured noise floor (None: it did not).
    noise_floor_note: str | None = None
    # Per backend: the feed-forward activation declared and the one it runs (routing.activation_check).
    activation_checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.exit_code == ExitCode.OK

    @property
    def first_divergence(self) -> int | None:
        """The earliest position where any backend left the reference (None if none did)."""
        positions = [p.first_divergence for p in self.pairs if p.first_divergence is not None]
        return min(positions) if positions else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as plain Python values (schema: docs/crossval-json.md)."""

        def pair_dict(pair: PairReport) -> dict[str, Any]:
            out = {**pair.summary(), "alignment": pair.alignment,
                   "positions": _rows(pair.frame(pair.metrics))}
            if pair.teacher_forced is not None:
                out["teacher_forced_positions"] = _rows(pair.frame(pair.teacher_forced))
                out["free_running"] = pair.free_running
            return out

        return json_ready({
            "schema_version": SCHEMA_VERSION,
            "model": {"path": self.model, "sha256": self.model_sha256},
            "backends": self.backends,
            "flags": self.flags,
            "template": {"name": self.prompt.template, "reason": self.prompt.reason, "notes": self.prompt.notes,
                         "text": self.prompt.text, "add_bos": self.prompt.add_bos, "texts": self.texts},
            "thresholds": self.thresholds,
            "tokens": self.tokens,
            "token_mismatch": self.token_mismatch,
            "verdict": {"exit_code": self.exit_code, "passed": self.passed,
                        "first_divergence": self.first_divergence, "odd_one_out": self.odd_one_out,
                        "diverged_stages": {p.test: p.diverged_stage for p in self.pairs if not p.passed}},
            "fault_localization": self.fault_localization,
            "noise_floor_note": self.noise_floor_note,
            "activation_checks": self.activation_checks,
            "reference_greedy": self.reference_greedy,
            "pairs": [pair_dict(p) for p in self.pairs],
            "cross_pairs": [pair_dict(p) for p in self.cross_pairs],
        })

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_frame(self):
        """One row per (pair, phase, position): the per-position metrics with the pair's labels.

        ``phase`` is ``"prompt"`` for the prompt's positions and ``"teacher-forced"`` for the
        steps along the reference's greedy continuation (``--steps``); ``diverged`` marks the
        rows from the pair's first divergence in that phase on.
        """
        import pandas as pd

        frames = []
        for pair in self.pairs + self.cross_pairs:
            phases = [("prompt", pair.metrics, pair.first_divergence)]
            if pair.teacher_forced is not None:
                phases.append(("teacher-forced", pair.teacher_forced, pair.teacher_forced_first_divergence))
            for phase, metrics, first in phases:
                frame = pair.frame(metrics)
                frame.insert(0, "phase", phase)
                frame.insert(0, "test", pair.test)
                frame.insert(0, "reference", pair.reference)
                frame["precision_class"] = pair.precision_class
                frame["diverged"] = frame["position"] >= (first if first is not None else len(frame))
                frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def pair_report(result: _core.PairResult, top_k: int, steps: int) -> PairReport:
    """A pair of the C++ result (lockstep._core.PairResult) as the report holds it."""
    return PairReport(
        reference=result.reference, test=result.test,
        precision_class=result.precision_class, thresholds=json_ready(result.thresholds),
        alignment=json_ready(result.alignment),
        metrics=LogitComparison(result.positions, top_k),
        first_divergence=None if result.first_divergence < 0 else result.first_divergence,
        divergence_reason=result.divergence_reason,
        teacher_forced=LogitComparison(result.teacher_forced, top_k) if steps else None,
        teacher_forced_first_divergence=(
            None if not steps or result.teacher_forced_first_divergence < 0 else result.teacher_forced_first_divergence
        ),
        free_running=result.free_running,
        free_running_agreement=result.free_running_agreement if steps else None,
        greedy_splits=json_ready(result.greedy_splits),
    )


def sha256_of_model(path: Path) -> str:
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    return _sha256_of(tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files))


@lru_cache(maxsize=64)
def _sha256_of(files: tuple[tuple[str, int, int], ...]) -> str:
    # Keyed by path, size and mtime: a sweep over many prompts hashes each model once.
    digest = hashlib.sha256()
    for name, _, _ in files:
        with open(name, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _rows(frame) -> list[dict[str, Any]]:
    return frame.to_dict(orient="records")


def json_ready(value: Any) -> Any:
    """JSON-ready values: the C++ result structs (their ``_fields``) to dicts, token pieces
    (bytes, maybe partial UTF-8) to text with undecodable bytes as \\xNN, numpy scalars and
    arrays to Python, NaN and infinities to None. The one place the report's values are written."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    fields = getattr(type(value), "_fields", None)
    if isinstance(fields, tuple) and type(value).__module__ == _core.__name__:
        return {name: json_ready(getattr(value, name)) for name in fields}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
