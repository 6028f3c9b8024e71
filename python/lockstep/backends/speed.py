"""Prefill and decode speed of the native engine and llama.cpp on one model file: the one
measurement behind `lockstep bench` and benchmarks/bench_engine.py.

pp N: N prompt tokens evaluated in one batch from an empty context (logits of the last only).
tg N: N tokens evaluated one at a time from an empty context, as llama-bench measures.
Both engines get the same token ids and threads; their runs alternate (native, llama.cpp,
native, ...) after one warm-up each, so drift in machine load falls on both alike; the
figure is the median over the repeats, tokens/s = N / median seconds.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lockstep.backends.native import NativeModel
from lockstep.backends.reference_logs import import_reference, verbose
from lockstep.errors import BackendLoadError, UsageError
from lockstep.routing.inspect import route_to
from lockstep.routing.preflight import LLAMA_CPP_INSTALL

BACKENDS = ("native", "llama.cpp")
# JSON keys per backend, as benchmarks/bench_engine.py has always written them.
KEYS = {"native": "native", "llama.cpp": "llamacpp"}


def interleaved(candidates: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time each candidate `repeats` times, alternating between them so that drift in machine
    load falls on all of them alike. Returns seconds per run for each candidate."""
    for _ in range(warmup):
        for run in candidates.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def parse_backends(text: str) -> tuple[str, ...]:
    """"native", "llama.cpp" or "both" (also "native,llama.cpp") -> the backends in timing order."""
    names = BACKENDS if text == "both" else tuple(dict.fromkeys(part.strip() for part in text.split(",")))
    unknown = [name for name in names if name not in BACKENDS]
    if unknown or not names:
        raise UsageError(f"--backend must be native, llama.cpp or both, not {text!r}")
    return tuple(name for name in BACKENDS if name in names)


def check_counts(**counts: int | None) -> None:
    """pp, tg, repeats and threads must be positive (threads may be None: every core)."""
    for name, value in counts.items():
        if value is not None and value < 1:
            raise UsageError(f"--{name} must be at least 1, not {value}")


@dataclass
class SpeedRow:
    """One test (pp N or tg N) of one model: seconds of each run for each backend."""

    model: str
    path: Path
    test: str  # "pp512", "tg128"
    n_tokens: int
    threads: int
    repeats: int
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def tokens_per_s(self, backend: str) -> float | None:
        runs = self.seconds.get(backend)
        return self.n_tokens / median(runs) if runs else None

    @property
    def ratio(self) -> float | None:
        """Native ÷ llama.cpp tokens/s (None unless both ran)."""
        native, llama = self.tokens_per_s("native"), self.tokens_per_s("llama.cpp")
        return native / llama if native is not None and llama is not None else None

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"model": self.model, "path": str(self.path), "file": self.path.name, "test": self.test,
                               "n_tokens": self.n_tokens, "threads": self.threads, "repeats": self.repeats}
        for backend, key in KEYS.items():
            runs = self.seconds.get(backend)
            row[f"{key}_tokens_per_s"] = self.tokens_per_s(backend)
            row[f"{key}_median_seconds"] = median(runs) if runs else None
            row[f"{key}_seconds"] = list(runs) if runs else None
        row["ratio"] = self.ratio
        return row


@dataclass
class SpeedReport:
    rows: list[SpeedRow]
    versions: dict[str, str]  # backend -> what ran: the native ISA table, llama-cpp-python's version
    n_ctx: int


class _Native:
    def __init__(self, path: Path, n_threads: int, n_ctx: int):
        self.model = NativeModel(path, n_threads=n_threads, n_ctx=n_ctx)
        self.n_vocab = self.model.n_vocab
        self.version = self.model.version()

    def prefill(self, ids: np.ndarray) -> None:
        self.model.reset()
        self.model.eval(ids, last_only=True)

    def decode(self, ids: np.ndarray) -> None:
        self.model.reset()
        for i in range(len(ids)):
            self.model.eval(ids[i:i + 1], last_only=True)


class _LlamaCpp:
    """llama.cpp as llama-bench runs it: logits of the last token only, its default (F16) KV
    cache, batches of up to 512 tokens, CPU only."""

    def __init__(self, path: Path, n_threads: int, n_ctx: int):
        from lockstep.backends.llamacpp import _silence

        llama_cpp = import_reference("llama.cpp", "llama_cpp", LLAMA_CPP_INSTALL)
        _silence(llama_cpp)
        try:
            self.llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_batch=512, n_ubatch=512,
                                       n_threads=n_threads, n_threads_batch=n_threads, n_gpu_layers=0,
                                       logits_all=False, verbose=verbose())
        except ValueError as error:  # llama-cpp-python's "Failed to load model from file"
            raise BackendLoadError("llama.cpp", path, error) from error
        self.n_vocab = int(self.llm.n_vocab())
        self.version = f"llama-cpp-python {llama_cpp.__version__}"

    def prefill(self, ids: np.ndarray) -> None:
        self.llm.reset()
        self.llm.eval(ids.tolist())

    def decode(self, ids: np.ndarray) -> None:
        self.llm.reset()
        for token in ids.tolist():
            self.llm.eval([token])


def token_ids(n_vocab: int, n: int, seed: int = 0) -> np.ndarray:
    """`n` random ids of ordinary tokens (above the first 100, where special tokens usually sit,
    when the vocabulary is large enough), the same for every engine."""
    low = 100 if n_vocab > 200 else 0
    return np.random.default_rng(seed).integers(low, n_vocab, size=n).astype(np.int32)


def context_length(pp: int, tg: int) -> int:
    """The context both engines are given: room for the longer test plus a margin."""
    return max(pp, tg) + 16


def measure_speed(path: str | os.PathLike[str], backends: Sequence[str] = BACKENDS, n_threads: int | None = None,
                  pp: int = 512, tg: int = 128, repeats: int = 3, model: str | None = None,
                  log: Callable[[str], None] | None = None) -> SpeedReport:
    """Prefill (pp) and decode (tg) of `path` on each backend, interleaved: two SpeedRows.

    Raises BackendUnavailable when llama.cpp is asked for but not installed (with the install
    command), RouteError when a backend cannot run this model, FileNotFoundError / FormatError
    for a missing or malformed file, UsageError for counts below 1 or an unknown backend."""
    check_counts(pp=pp, tg=tg, repeats=repeats, threads=n_threads)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        raise UsageError(f"backends must be among {', '.join(BACKENDS)}, not {list(backends)}")
    path = Path(path)
    for backend in backends:
        route_to(path, backend)  # the same answer (and install command) as inspect, load and crossval
    threads = n_threads or os.cpu_count() or 1
    n_ctx = context_length(pp, tg)
    engines: dict[str, _Native | _LlamaCpp] = {}
    for backend in backends:
        engines[backend] = _Native(path, threads, n_ctx) if backend == "native" else _LlamaCpp(path, threads, n_ctx)
    ids = token_ids(min(engine.n_vocab for engine in engines.values()), n_ctx)
    rows = []
    for test, n, phase in ((f"pp{pp}", pp, "prefill"), (f"tg{tg}", tg, "decode")):
        runs = {backend: _bound(getattr(engine, phase), ids[:n]) for backend, engine in engines.items()}
        row = SpeedRow(model or path.name, path, test, n, threads, repeats, interleaved(runs, repeats))
        rows.append(row)
        if log:
            log(f"{row.model} {test}: " + ", ".join(f"{b} {row.tokens_per_s(b):.1f} t/s" for b in backends))
    versions = {backend: engine.version for backend, engine in engines.items()}
    return SpeedReport(rows, versions, n_ctx)


def _bound(run: Callable[[np.ndarray], None], ids: np.ndarray) -> Callable[[], None]:
    return lambda: run(ids)
