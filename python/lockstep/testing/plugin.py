"""The pytest plugin for parity suites (entry point ``pytest11``: ``lockstep``; README "Parity suites").

Options: ``--lockstep-model PATH`` (repeatable; default: the default model), ``--lockstep-backends
LIST`` (the reference first), ``--lockstep-regen``, ``--lockstep-report DIR``,
``--lockstep-inject-fault NAME`` (run the suite against a faulty native engine: it must fail).
Fixtures: ``lockstep_model`` (tests are parametrized over the models), ``lockstep_crossval``,
``logits_baseline``. A backend that is not installed skips the test with the install command;
a bad model file fails it with the file's error. Failed crossvals print their per-position
tables in the terminal summary and, with ``--lockstep-report``, write their JSON reports.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lockstep.backends.faults import check_fault
from lockstep.dispatch.crossval import crossval
from lockstep.dispatch.report import CrossvalReport, sha256_of_model
from lockstep.dispatch.report_text import print_report
from lockstep.dispatch.specs import BACKEND_SETS
from lockstep.errors import BackendLoadError, BackendUnavailable, ExitCode, FormatError, RouteError
from lockstep.testing.backend_pool import BackendPool
from lockstep.testing.baselines import Producer, baseline_path, check_against
from lockstep.zoo.known_models import default_model_path

DEFAULT_BACKENDS = ",".join(BACKEND_SETS["both"])
BASELINE_FOLDER = "baselines"  # next to the test file: baselines/<test file stem>/<name>.npz

_pool_key = pytest.StashKey[BackendPool]()
_failed_key = pytest.StashKey[list]()  # (nodeid, report) of failed crossvals in failed tests
_written_key = pytest.StashKey[list]()  # paths: baselines and JSON reports this session wrote
_reports_key = pytest.StashKey[list]()  # per test item: the reports its crossvals returned


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lockstep", "lockstep parity suites")
    group.addoption("--lockstep-model", action="append", default=[], metavar="PATH",
                    help="model file or folder for lockstep_model (repeatable; default: the default model)")
    group.addoption("--lockstep-backends", default=DEFAULT_BACKENDS, metavar="LIST",
                    help=f"comma-separated backend specs, the reference first, or 'both'/'all' (default: {DEFAULT_BACKENDS})")
    group.addoption("--lockstep-regen", action="store_true", help="(re)write the logits baselines instead of comparing")
    group.addoption("--lockstep-report", metavar="DIR", help="write each failed crossval's JSON report into DIR")
    group.addoption("--lockstep-inject-fault", metavar="NAME",
                    help="inject this fault into every native backend (the suite must then fail)")


def pytest_configure(config: pytest.Config) -> None:
    try:
        check_fault(config.getoption("lockstep_inject_fault"))
    except ValueError as error:
        raise pytest.UsageError(f"--lockstep-inject-fault: {error}") from None
    config.stash[_pool_key] = BackendPool()
    config.stash[_failed_key] = []
    config.stash[_written_key] = []


def pytest_unconfigure(config: pytest.Config) -> None:
    if _pool_key in config.stash:
        config.stash[_pool_key].clear()


def backend_specs(config: pytest.Config) -> list[str]:
    text = config.getoption("lockstep_backends")
    specs = list(BACKEND_SETS[text]) if text in BACKEND_SETS else [s.strip() for s in text.split(",") if s.strip()]
    if len(specs) < 2:
        raise pytest.UsageError(f"--lockstep-backends needs at least two backends, got {text!r}")
    return specs


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "lockstep_model" in metafunc.fixturenames:
        models = metafunc.config.getoption("lockstep_model") or [None]  # None: the default model
        ids = ["default-model" if m is None else Path(m).name for m in models]
        metafunc.parametrize("lockstep_model", models, ids=ids, indirect=True)


@pytest.fixture
def lockstep_model(request: pytest.FixtureRequest) -> Path:
    """The path of one --lockstep-model (tests using it run once per model)."""
    given = getattr(request, "param", None)
    if given is None:
        try:
            return default_model_path()
        except FileNotFoundError as error:
            pytest.skip(str(error))
    path = Path(given)
    if not path.exists():
        pytest.fail(f"--lockstep-model {given}: no such model file or folder", pytrace=False)
    return path


@pytest.fixture
def lockstep_crossval(request: pytest.FixtureRequest, lockstep_model: Path):
    """``lockstep_crossval(prompt=..., messages=..., backends=..., steps=..., **crossval options)``
    -> CrossvalReport on lockstep_model. Backends (default: --lockstep-backends) are loaded once
    per session. Pairs are localized when the logits diverge (or with ``localize=True``). A
    backend that is not installed skips the test; a bad model file fails it."""
    config = request.config
    pool = config.stash[_pool_key]
    reports = request.node.stash.setdefault(_reports_key, [])

    def run(prompt: str | None = None, *, messages: Sequence[Mapping[str, str]] | None = None,
            backends: str | Sequence[str] | None = None, steps: int = 0, inject_fault: str | None = None,
            **options: Any) -> CrossvalReport:
        specs = backend_specs(config) if backends is None else (
            list(BACKEND_SETS.get(backends, backends.split(","))) if isinstance(backends, str) else list(backends))
        fault = inject_fault or config.getoption("lockstep_inject_fault")
        with _model_errors(lockstep_model):
            prepared = [pool.get(spec, lockstep_model, inject_fault=fault) for spec in specs]
            # Localizing captures every backend's hidden states: only worth its cost (about half a
            # crossval again) when there is a divergence to explain, so a failed run is repeated with it.
            localize = options.pop("localize", None)
            report = crossval(lockstep_model, prompt, messages=messages, backends=prepared, steps=steps,
                              inject_fault=fault, localize=bool(localize), **options)
            if localize is None and report.exit_code == ExitCode.LOGITS_DIVERGED:
                report = crossval(lockstep_model, prompt, messages=messages, backends=prepared, steps=steps,
                                  inject_fault=fault, localize=True, **options)
        reports.append(report)
        return report

    return run


class LogitsBaseline:
    """``check(name, logits, backend=...)``: compare with the stored baseline of this test file,
    model and backend (version included); with --lockstep-regen, (re)write it instead."""

    def __init__(self, request: pytest.FixtureRequest, model: Path):
        self._request = request
        self._model = model
        self.folder = Path(request.path).parent / BASELINE_FOLDER / Path(request.path).stem

    def check(self, name: str, logits: Any, *, backend: Any = "native", tokenizer: Any = None) -> None:
        """`backend`: the loaded model or backend that computed `logits` (anything with name()
        and version(), e.g. what lockstep.load returns), or a backend name, whose version is then
        that of the session's instance on lockstep_model."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        if isinstance(backend, str):
            with _model_errors(self._model):
                backend = self._request.config.stash[_pool_key].get(backend, self._model).backend
        producer = Producer(str(self._model), sha256_of_model(self._model), backend.name(), backend.version())
        path = baseline_path(self.folder, name)
        if check_against(path, name, logits, producer, regen=self._request.config.getoption("lockstep_regen"),
                         recorded_by=self._request.node.nodeid, tokenizer=tokenizer):
            self._request.config.stash[_written_key].append(path)


@pytest.fixture
def logits_baseline(request: pytest.FixtureRequest, lockstep_model: Path) -> LogitsBaseline:
    return LogitsBaseline(request, lockstep_model)


@contextmanager
def _model_errors(model: Path):
    """Inside a fixture call: a missing backend skips (the reason gives the install command),
    a bad model file fails with the file's error, without a traceback through lockstep."""
    try:
        yield
    except BackendUnavailable as error:
        pytest.skip(str(error))
    except (FormatError, BackendLoadError, RouteError, FileNotFoundError) as error:
        message = str(error)
        pytest.fail(message if str(model) in message else f"{model}: {message}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call" and report.failed:
        failed = [r for r in item.stash.get(_reports_key, []) if not r.passed]
        item.config.stash[_failed_key].extend((item.nodeid, r) for r in failed)
        folder = item.config.getoption("lockstep_report")
        if folder and failed:
            item.config.stash[_written_key].extend(_write_reports(Path(folder), item.nodeid, failed))
    return report


def _write_reports(folder: Path, nodeid: str, reports: list[CrossvalReport]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", nodeid).strip("_")
    paths = []
    for i, report in enumerate(reports):
        path = folder / (f"{stem}.json" if len(reports) == 1 else f"{stem}.{i + 1}.json")
        path.write_text(report.to_json() + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    failed = config.stash.get(_failed_key, [])
    if failed:
        terminalreporter.write_sep("=", "lockstep: failed crossvals, per position")
        for nodeid, report in failed:
            terminalreporter.write_line(f"{nodeid}")
            text = io.StringIO()
            print_report(report, file=text)
            terminalreporter.write(text.getvalue())
    written = config.stash.get(_written_key, [])
    if written:
        terminalreporter.write_sep("-", "lockstep: files written")
        for path in written:
            terminalreporter.write_line(str(path))
