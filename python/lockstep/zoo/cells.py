"""The cells of a sweep: one (model, prompt, backend pair) each, or one (model, corpus,
backend pair) for a corpus scored as ``lockstep kld`` scores it; planned in the main process
from ``inspect`` (headers only), run wherever an executor sends them.

A cell carries paths and strings only, so that it ships to a Dask worker as it is; the worker
loads the engines itself (:mod:`lockstep.zoo.engines`). Every cell ends as one row whose
columns are :data:`COLUMNS`, also when it failed: the error and its exit code are in the row.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockstep import _core
from lockstep.dispatch.corpus import CorpusDivergence, corpus_divergence
from lockstep.dispatch.crossval import crossval
from lockstep.dispatch.report import CrossvalReport, sha256_of_model
from lockstep.errors import CorpusTokenMismatch, ExitCode, RouteError, exit_code_for
from lockstep.routing.inspect import inspect
from lockstep.routing.route import route
from lockstep.zoo.engines import ENGINES
from lockstep.zoo.sources import Corpus, Prompt

# The reference comes first, as in crossval: llama.cpp is the established engine.
DEFAULT_BACKENDS = ("llama.cpp", "native", "hf")

VERDICTS = {ExitCode.OK: "pass", ExitCode.LOGITS_DIVERGED: "diverged", ExitCode.TOKEN_MISMATCH: "token-mismatch"}
ERROR = "error"

# Every row has these columns, in this order; columns the crossval report adds (from its
# to_dict(), e.g. a noise floor) follow them.
COLUMNS = (
    "model", "model_sha256", "format", "architecture", "quant_types", "prompt_index", "prompt",
    "reference", "test", "reference_version", "test_version", "n_tokens", "verdict", "exit_code",
    "first_divergence", "divergence_reason", "precision_class", "mean_kl", "p99_kl", "max_kl",
    "top1_agreement", "min_cosine", "noise_floor_ratio", "localization", "wall_time_s", "error",
    "cached", "worker", "loaded", "key", "lockstep_version",
)


def lockstep_version() -> str:
    """The version of lockstep that computes a cell (the native engine reports the same)."""
    return str(_core.preflight_backend("native")["version"])


@dataclass(frozen=True)
class Cell:
    model: str
    prompt_index: int
    prompt: Prompt | Corpus  # what the cell runs: a crossval of a prompt, or a corpus scored
    backends: tuple[str, ...]  # (reference, test); empty when no pair of backends runs the model
    key: str
    model_columns: dict[str, Any] = field(hash=False)  # model, sha256, format, architecture, quant_types
    memory_bytes: int = 0  # what its engines hold in memory, for the Dask scheduler's resources
    # Known before running: why the model cannot be compared (exit code, message).
    problem: tuple[int, str] | None = None


def plan_cells(models: list[Path], prompts: list[Prompt | Corpus], backends: tuple[str, ...] | None = None) -> list[Cell]:
    """Every cell of the sweep, model by model. Per model the backends are the requested ones
    (default :data:`DEFAULT_BACKENDS`) that ``inspect`` routes and that are ready here; the
    first is the reference and each other one a pair with it. A model fewer than two of them
    can run gets one cell per prompt that says why."""
    requested = tuple(backends or DEFAULT_BACKENDS)
    version = lockstep_version()
    cells = []
    for model in models:
        columns, runnable, problem, memory = _model_plan(model, requested)
        pairs = [(runnable[0], other) for other in runnable[1:]] if problem is None else [requested]
        for index, prompt in enumerate(prompts):
            for pair in pairs:
                key = cell_key(columns["model_sha256"], prompt, pair, version)
                cells.append(Cell(str(model), index, prompt, tuple(pair) if problem is None else (), key, columns,
                                  memory, problem))
    return cells


def cell_key(model_sha256: str | None, prompt: Prompt | Corpus, backends: tuple[str, ...], version: str) -> str:
    """A cell's identity in the store: the model's content, the prompt, the backends, lockstep's version."""
    payload = json.dumps([model_sha256, prompt.canonical, list(backends), version])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _model_plan(model: Path, requested: tuple[str, ...]):
    """(model columns, runnable backends, problem or None, memory estimate) of one model."""
    columns: dict[str, Any] = {"model": str(model), "model_sha256": None, "format": None, "architecture": None,
                               "quant_types": None}
    try:
        info = inspect(model)
        columns["model_sha256"] = sha256_of_model(model)
    except Exception as error:  # missing, unreadable or malformed: the cell says so
        return columns, [], _problem(error), 0
    columns.update(format=info.format, architecture=info.architecture,
                   quant_types=",".join(stat.type for stat in sorted(info.tensor_types, key=lambda s: -s.n_elements)))
    if info.route_error:
        return columns, [], (int(ExitCode.BAD_MODEL_FILE), info.route_error), 0
    routes = {r.backend: r for r in info.routes}
    runnable = [b for b in requested if b in routes and routes[b].preflight.ok]
    if len(runnable) >= 2:
        return columns, runnable, None, _memory_estimate(info, runnable[:2])
    reasons = []
    for backend in requested:
        if backend in runnable:
            reasons.append(f"{backend} runs it")
        elif backend in routes:
            reasons.append(f"{backend} is not ready here: {routes[backend].preflight.message}")
        else:
            try:
                route(info, prefer=backend, fallback=False)
            except RouteError as error:
                reasons.append(str(error))
            except ValueError as error:  # a backend name route() does not know
                reasons.append(str(error))
    unavailable = any(b in routes and not routes[b].preflight.ok for b in requested)
    code = ExitCode.BACKEND_UNAVAILABLE if unavailable else ExitCode.BAD_MODEL_FILE
    message = (f"a comparison needs two backends that run the model; of {', '.join(requested)}: "
               + "; ".join(reasons))
    return columns, runnable, (int(code), message), 0


def _memory_estimate(info, backends) -> int:
    """Bytes the engines of a cell hold: the mapped file for native and llama.cpp, float32
    weights for transformers, and some room for activations."""
    file_bytes = info.tensor_bytes or 0
    float32_bytes = 4 * (info.n_params or 0) or 4 * file_bytes
    return sum(float32_bytes if b == "hf" else file_bytes for b in backends) + (64 << 20)


def _problem(error: BaseException) -> tuple[int, str]:
    known = exit_code_for(error)
    code = known[0] if known else ExitCode.LOGITS_DIVERGED
    return int(code), f"{type(error).__name__}: {error}"


# ---------------------------------------------------------------------------- running


def run_cell(cell: Cell, n_threads: int | None = None) -> dict[str, Any]:
    """The row of one cell: its crossval's columns, or the error that stopped it. Engines are
    loaded through the process's cache, so a worker loads each model once."""
    start = time.perf_counter()
    row = base_row(cell)
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"  # the process whose engines ran it
    if cell.problem is not None:  # known when planned: no pair of backends runs the model
        row.update(verdict=ERROR, exit_code=cell.problem[0], error=cell.problem[1], wall_time_s=0.0)
        return row
    try:
        with ENGINES.lock:
            prompt = cell.prompt
            if isinstance(prompt, Corpus):
                ENGINES.clear()  # the corpus loads its own engines: never two models in memory
                result = corpus_divergence(cell.model, prompt.path, cell.backends, prompt.ctx, n_threads=n_threads,
                                           max_windows=prompt.max_windows)
                row.update(loaded=True, **corpus_columns(result))
            else:
                prepared, loaded = ENGINES.prepared(cell.model, cell.backends, n_threads)
                report = crossval(cell.model, prompt.text, messages=prompt.messages, system_prompt=prompt.system_prompt,
                                  backends=prepared, n_threads=n_threads)
                row["loaded"] = loaded
                row.update(report_columns(report))
    except CorpusTokenMismatch as error:  # the gate: the corpus is different input on the two backends
        row.update(verdict=VERDICTS[ExitCode.TOKEN_MISMATCH], exit_code=int(ExitCode.TOKEN_MISMATCH),
                   divergence_reason=str(error))
    except Exception as error:  # a load failure, a template error, a backend crash: a row, not the end
        code, message = _problem(error)
        row.update(verdict=ERROR, exit_code=code, error=message)
    row["wall_time_s"] = time.perf_counter() - start
    return row


def error_row(cell: Cell, message: str) -> dict[str, Any]:
    """The row of a cell that never returned (its worker was killed, the task was lost)."""
    row = base_row(cell)
    row.update(verdict=ERROR, exit_code=int(ExitCode.LOGITS_DIVERGED), error=message)
    return row


def base_row(cell: Cell) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(cell.model_columns)
    row.update(prompt_index=cell.prompt_index, prompt=cell.prompt.label, key=cell.key, cached=False,
               lockstep_version=lockstep_version())
    if cell.backends:
        row.update(reference=cell.backends[0], test=cell.backends[1])
    return row


# Pair summary entries that are not columns: per-position data and the thresholds' table.
_NOT_COLUMNS = {"positions", "teacher_forced_positions", "free_running", "alignment", "thresholds", "reference",
                "test", "passed"}


def report_columns(report: CrossvalReport) -> dict[str, Any]:
    """A crossval's row: its verdict and its one pair's summary. Every scalar of the pair's
    summary in ``to_dict()`` becomes a column (nested values as JSON), so that what crossval
    reports flows into the sweep without this function knowing it."""
    data = report.to_dict()
    versions = {b["label"]: b["version"] for b in data["backends"]}
    labels = [b["label"] for b in data["backends"]]
    row: dict[str, Any] = {
        "reference_version": versions[labels[0]], "test_version": versions[labels[1]],
        "n_tokens": len(data["tokens"][labels[0]]), "exit_code": report.exit_code,
        "verdict": VERDICTS.get(ExitCode(report.exit_code), ERROR),
        "first_divergence": report.first_divergence,
    }
    if report.token_mismatch is not None:
        mismatch = report.token_mismatch
        row["divergence_reason"] = f"token {mismatch['index']}: {mismatch['cause']} — {mismatch['explanation']}"
    pair = data["pairs"][0] if data["pairs"] else {}
    for name, value in pair.items():
        if name in _NOT_COLUMNS:
            continue
        if isinstance(value, dict) and name == "teacher_forced":
            row.update({f"teacher_forced_{k}": v for k, v in value.items()})
        elif isinstance(value, (dict, list)):
            row[name] = json.dumps(value, sort_keys=True)
        else:
            row[name] = value
    noise = pair.get("noise_floor")
    if "noise_floor_ratio" not in row and isinstance(noise, dict):
        row["noise_floor_ratio"] = noise.get("ratio")
    localization = pair.get("localization") or data.get("localization") or data.get("fault_localization")
    row["localization"] = json.dumps(localization, sort_keys=True) if localization else None
    return row


def corpus_columns(result: CorpusDivergence) -> dict[str, Any]:
    """A corpus cell's row: the kld statistics as columns (mean_kld, p99_kld, ppl_base, ...), the
    common metric columns filled from them (mean_kl = mean KLD, top1_agreement = same top p),
    and the worst window with its localization. It passes unless the worst window is localized:
    one block above the floor is the divergence crossval's hidden-states stage reports too."""
    stats = result.statistics
    worst = {k: v for k, v in result.worst_window.items() if k not in ("localization", "layer_errors")}
    localization = result.worst_window.get("localization")
    code = ExitCode.LOGITS_DIVERGED if localization is not None else ExitCode.OK
    return {
        "reference_version": result.versions[result.reference], "test_version": result.versions[result.test],
        "n_tokens": result.n_tokens, "exit_code": int(code), "verdict": VERDICTS[code],
        "mean_kl": stats["mean_kld"], "p99_kl": stats["p99_kld"], "max_kl": stats["max_kld"],
        "top1_agreement": stats["same_top_p"],
        "localization": json.dumps(localization, sort_keys=True) if localization else None,
        "divergence_reason": (f"worst window {worst['window']}: layer {localization['layer']} {localization['point']} "
                              f"at {localization['times_floor']:.1f}x its floor") if localization else None,
        "ctx": result.ctx, "n_windows": result.n_windows, **stats,
        "worst_window": json.dumps(worst, sort_keys=True),
        "layer_errors": json.dumps(result.worst_window.get("layer_errors"), sort_keys=True),
    }
