"""Cross-validation of backends on one model: the Python front of the C++ dispatcher.

Order of the checks, each with its own exit code (DESIGN.md):
preflight (3) -> model file (5) -> template (4) -> tokenize + parity gate (2) -> logits + metrics
-> verdict (0/1). A backend that cannot load its model file is exit 5 too.

A backend is named by a spec: ``"llama.cpp"`` runs on the crossval's model, ``"llama.cpp=B.gguf"``
on another file — so one backend can be compared with itself across two files (a re-converted
or re-quantized model, a permuted or extended vocabulary). Loaded backends
(:func:`prepare_backend`) can be passed instead of specs and reused across runs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
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
# Thresholds come in two bands, chosen per pair from the backends' capabilities (thresholds.h).
THRESHOLD_BANDS = ("same-arithmetic", "cross-precision")


class BackendLoadError(RuntimeError):
    """A backend that is installed could not load its model file (CLI exit code 5)."""

    def __init__(self, backend: str, model: Path, cause: BaseException):
        super().__init__(f"{backend} could not load {model}: {type(cause).__name__}: {cause}")
        self.backend = backend
        self.model = model


def default_thresholds() -> dict[str, dict[str, float]]:
    """The named thresholds that decide the first diverging position, per band (docs/thresholds.md)."""
    return {band: dict(values) for band, values in _core.default_thresholds().items()}


def resolve_thresholds(overrides: Mapping[str, float] | None) -> dict[str, dict[str, float]]:
    """Apply overrides to the defaults. ``"max_kl"`` sets both bands, ``"cross-precision.max_kl"``
    (or ``"same-arithmetic.max_kl"``) one band. Unknown names raise ValueError."""
    resolved = default_thresholds()
    for key, value in (overrides or {}).items():
        band, _, name = key.rpartition(".")
        bands = [band] if band else list(THRESHOLD_BANDS)
        if any(b not in resolved for b in bands) or name not in resolved[THRESHOLD_BANDS[0]]:
            names = ", ".join(resolved[THRESHOLD_BANDS[0]])
            raise ValueError(f"unknown threshold {key!r}: use NAME or BAND.NAME with NAME one of {names} "
                             f"and BAND one of {', '.join(THRESHOLD_BANDS)}")
        for b in bands:
            resolved[b][name] = float(value)
    return resolved


@dataclass(frozen=True)
class BackendSpec:
    """A registered backend's name and the model file it runs on (None: the crossval's model)."""

    name: str
    model: Path | None = None

    @classmethod
    def parse(cls, text: str) -> BackendSpec:
        name, sep, model = text.partition("=")
        name = name.strip()
        if not name or (sep and not model.strip()):
            raise ValueError(f"a backend is NAME or NAME=MODEL_PATH, not {text!r}")
        return cls(name, Path(model.strip()) if sep else None)


@dataclass
class PreparedBackend:
    """A backend loaded on a model file, reusable across crossval runs."""

    name: str
    model: Path
    backend: Any  # lockstep._core.Backend
    version: str
    capabilities: list[str]


def prepare_backend(
    spec: str | BackendSpec, model: str | Path, *, n_threads: int | None = None, inject_fault: str | None = None
) -> PreparedBackend:
    """Preflight and load one backend. ``model`` is used unless the spec names its own file.

    Raises BackendUnavailable (exit 3) or BackendLoadError (exit 5).
    """
    spec = BackendSpec.parse(spec) if isinstance(spec, str) else spec
    path = Path(spec.model if spec.model is not None else model)
    availability = check_backend(spec.name)
    if not availability.ok:
        raise BackendUnavailable(spec.name, availability)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file or folder")
    fault = inject_fault if spec.name == "native" and inject_fault else ""
    try:
        backend = _core.create_backend(spec.name, str(path), n_threads or 0, fault)
    except (ImportError, MemoryError):
        raise
    except Exception as error:  # the backend's own words on why the file does not load
        raise BackendLoadError(spec.name, path, error) from error
    return PreparedBackend(spec.name, path, backend, backend.version(), list(backend.capabilities()))


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

    @property
    def passed(self) -> bool:
        return self.first_divergence is None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reference": self.reference, "test": self.test, "passed": self.passed,
            "precision_class": self.precision_class, "thresholds": self.thresholds,
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
                   "positions": _rows(pair.metrics.to_frame())}
            if pair.teacher_forced is not None:
                out["teacher_forced_positions"] = _rows(pair.teacher_forced.to_frame())
                out["free_running"] = pair.free_running
            return out

        return _plain({
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
                        "first_divergence": self.first_divergence, "odd_one_out": self.odd_one_out},
            "fault_localization": self.fault_localization,
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
                frame = metrics.to_frame()
                frame.insert(0, "phase", phase)
                frame.insert(0, "test", pair.test)
                frame.insert(0, "reference", pair.reference)
                frame["precision_class"] = pair.precision_class
                frame["diverged"] = frame["position"] >= (first if first is not None else len(frame))
                frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def crossval(
    path: str | Path,
    prompt: str | None = None,
    *,
    messages: Sequence[Mapping[str, str]] | None = None,
    system_prompt: str | None = None,
    backends: str | Sequence[str | BackendSpec | PreparedBackend] = "both",
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

    ``backends``: ``"both"``, ``"all"``, or a sequence whose first entry is the reference; each
    entry a spec (``"hf"``, ``"llama.cpp=other.gguf"``) or a :class:`PreparedBackend`.
    ``path`` supplies the tokenizer hints and chat template, and the model of every spec
    without its own. ``thresholds`` overrides defaults (see :func:`resolve_thresholds`).

    Raises BackendUnavailable (exit 3), TemplateError (exit 4), FormatError, FileNotFoundError
    or BackendLoadError (exit 5) before any backend computes; otherwise returns a report whose
    ``exit_code`` is 0, 1 or 2.
    """
    path = Path(path)
    entries = list(BACKEND_SETS.get(backends, (backends,)) if isinstance(backends, str) else backends)
    specs = [BackendSpec.parse(e) if isinstance(e, str) else e for e in entries]
    if len(specs) < 2:
        raise ValueError(f"crossval needs at least two backends, got {entries}")
    resolved_thresholds = resolve_thresholds(thresholds)
    for spec in specs:  # every backend's availability before anything is read or loaded
        if isinstance(spec, BackendSpec):
            if spec.name not in _core.backend_names():
                raise ValueError(f"unknown backend {spec.name!r}; known: {', '.join(_core.backend_names())}")
            availability = check_backend(spec.name)
            if not availability.ok:
                raise BackendUnavailable(spec.name, availability)

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file or folder")
    hints, embedded = tokenizer_hints(path)
    turns = conversation(prompt=prompt, messages=messages, system_prompt=system_prompt)
    rendered = render(turns, template, chat_template_file=chat_template, embedded_template=embedded,
                      hints=hints, date=date)

    prepared = [
        s if isinstance(s, PreparedBackend) else prepare_backend(s, path, n_threads=n_threads, inject_fault=inject_fault)
        for s in specs
    ]
    labels = _labels(prepared, path)
    # A backend on another model file renders that file's own chat template, as its users
    # would: a file whose template differs is caught by the token gate (different-template).
    texts = [
        rendered.text if _same_file(p.model, path) else _render_for(p.model, turns, template, chat_template, date).text
        for p in prepared
    ]
    # The same tokenizer flags on every backend. The crossval's model's template decides BOS:
    # add_special follows it. Special tokens in the rendered text (chat markers) are always
    # parsed, as the model saw them in training.
    raw = _core.run_crossval([p.backend for p in prepared], labels, texts, rendered.add_bos, True,
                             resolved_thresholds, top_k, steps, n_threads or 0)
    tokens = {label: list(map(int, ids)) for label, ids in zip(raw["backends"], raw["tokens"])}
    localization = None
    if inject_fault and raw["token_mismatch"] is None:
        native = next(((label, p) for label, p in zip(labels, prepared) if p.name == "native"), None)
        if native is not None:
            localization = localize_fault(native[1].model, tokens[native[0]], inject_fault, n_threads=n_threads)
            localization = {"backend": native[0], **localization} if localization else None
    return CrossvalReport(
        model=str(path),
        model_sha256=_sha256(path),
        backends=[{"label": label, "name": p.name, "version": p.version, "capabilities": p.capabilities,
                   "model": {"path": str(p.model), "sha256": _sha256(p.model)}}
                  for label, p in zip(labels, prepared)],
        prompt=rendered,
        texts={label: text for label, text in zip(labels, texts) if text != rendered.text},
        flags={"add_special": rendered.add_bos, "parse_special": True, "steps": steps, "top_k": top_k,
               "inject_fault": inject_fault, "template": template},
        thresholds=resolved_thresholds,
        tokens=tokens,
        token_mismatch=_mismatch(raw["token_mismatch"]),
        pairs=[_pair(p, top_k, steps) for p in raw["pairs"]],
        cross_pairs=[_pair(p, top_k, 0) for p in raw["cross_pairs"]],
        odd_one_out=raw["odd_one_out"] or None,
        reference_greedy=list(raw["reference_greedy"]),
        exit_code=int(raw["exit_code"]),
        fault_localization=localization,
    )


def localize_fault(model: str | Path, ids: Sequence[int], fault: str, *, n_threads: int | None = None,
                   relative: float = 1e-6) -> dict[str, Any] | None:
    """Where an injected fault first shows inside the native engine: the first layer and capture
    point (in forward order) whose values differ from a clean run's, and the first position
    there. Both models evaluate ``ids`` twice, as the dispatcher does when it decodes, so that
    a fault in resetting the KV cache shows too. A value differs when it is off by more than
    ``relative`` times the clean run's largest magnitude at that point. None: no difference.
    """
    from lockstep.native import CAPTURE_POINTS, NativeModel

    ids = np.asarray(ids, dtype=np.int32)
    runs = []
    for injected in (None, fault):
        # Room for both evaluations: a stale cache keeps the first one's tokens.
        engine = NativeModel(model, n_threads=n_threads, n_ctx=2 * len(ids) + 8, inject_fault=injected)
        engine.logits(ids)
        _, captured = engine.logits(ids, capture=CAPTURE_POINTS)
        runs.append({point: np.array(values, copy=True) for point, values in captured.items()})
    clean, faulty = runs
    n_layer = len(clean[CAPTURE_POINTS[0]])
    for layer in range(n_layer):
        for point in CAPTURE_POINTS:
            a, b = clean[point][layer], faulty[point][layer]
            off = np.abs(a - b).max(axis=-1) > relative * max(float(np.abs(a).max()), np.finfo(np.float32).tiny)
            if off.any():
                return {"fault": fault, "layer": layer, "point": point, "position": int(np.flatnonzero(off)[0])}
    return None


def _labels(prepared: Sequence[PreparedBackend], path: Path) -> list[str]:
    """Names in the report: the backend's name, ``name@file`` when it runs on another model
    than the crossval's, and ``#2``, ``#3``... for repeats."""
    labels = []
    for p in prepared:
        base = p.name if _same_file(p.model, path) else f"{p.name}@{p.model.name}"
        label, n = base, 1
        while label in labels:
            n += 1
            label = f"{base}#{n}"
        labels.append(label)
    return labels


def _render_for(model: Path, turns, template: str, chat_template, date) -> RenderedPrompt:
    hints, embedded = tokenizer_hints(model)
    return render(turns, template, chat_template_file=chat_template, embedded_template=embedded, hints=hints, date=date)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b


def _pair(raw: dict[str, Any], top_k: int, steps: int) -> PairReport:
    return PairReport(
        reference=raw["reference"], test=raw["test"],
        precision_class=raw["precision_class"], thresholds=dict(raw["thresholds"]),
        alignment=_alignment(raw["alignment"]),
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


def _alignment(raw: dict[str, Any]) -> dict[str, Any]:
    out = dict(raw)
    out["examples_reference"] = [_piece(p) for p in raw["examples_reference"]]
    out["examples_test"] = [_piece(p) for p in raw["examples_test"]]
    return out


def _mismatch(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None

    def side(s: dict[str, Any]) -> dict[str, Any]:
        return {
            "backend": s["backend"], "id": s["id"], "counterpart": s["counterpart"], "piece": _piece(s["piece"]),
            "window_ids": list(s["window_ids"]), "window_pieces": [_piece(p) for p in s["window_pieces"]],
        }

    return {"index": raw["index"], "window_start": raw["window_start"], "a": side(raw["a"]), "b": side(raw["b"]),
            "cause": raw["cause"], "explanation": raw["explanation"]}


def _piece(raw: bytes) -> str:
    # Pieces may be partial UTF-8 sequences; show undecodable bytes as \xNN.
    return raw.decode("utf-8", errors="backslashreplace")


def _sha256(path: Path) -> str:
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


def _plain(value: Any) -> Any:
    """JSON-ready values: numpy scalars and arrays to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


__all__ = [
    "BACKEND_SETS", "BackendLoadError", "BackendSpec", "CrossvalReport", "PairReport", "PreparedBackend",
    "THRESHOLD_BANDS", "TokenizerHints", "crossval", "default_thresholds", "localize_fault", "prepare_backend",
    "resolve_thresholds",
]
