"""The pytest plugin (lockstep.testing.plugin) through pytester, on real backends: the example
suite (examples/parity_suite) on the default model, native vs llama.cpp, passes, records and
reuses baselines, and fails with the diverging position and both top-1 tokens when the native
engine has an injected fault; baselines from another model file, missing backends and bad
model files; the terminal summary and --lockstep-report."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

import lockstep

pytest_plugins = ("pytester",)
pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.llamacpp

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "parity_suite"


def plugin_args() -> list[str]:
    # Installed, lockstep's entry point loads the plugin in every run; from the source tree, -p does.
    installed = any(e.name == "lockstep" for e in importlib.metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "lockstep.testing.plugin"]


def run(pytester: pytest.Pytester, *args) -> pytest.RunResult:
    return pytester.runpytest(*plugin_args(), "-p", "no:cacheprovider", "-rs", *map(str, args))


@pytest.fixture
def example(pytester: pytest.Pytester) -> Path:
    for path in EXAMPLE.glob("*.py"):
        shutil.copy(path, pytester.path / path.name)
    return pytester.path


def test_the_entry_point_names_the_plugin():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["entry-points"]["pytest11"] == {"lockstep": "lockstep.testing.plugin"}


@pytest.mark.slow
def test_the_example_suite_passes_records_baselines_and_reuses_them(pytester, example):
    model = lockstep.default_model_path()
    first = run(pytester, "--lockstep-model", model, "--lockstep-backends", "native,llama.cpp", "--lockstep-regen")
    first.assert_outcomes(passed=6)
    baseline = example / "baselines" / "test_parity" / "capital-of-france.npz"
    first.stdout.fnmatch_lines(["*lockstep: files written*", str(baseline)])
    with np_load(baseline) as data:
        meta = json.loads(str(data["meta_0"]))
    assert meta["backend"] == "native" and meta["model"] == str(model)
    assert meta["recorded_by"] == "test_parity.py::test_native_logits_match_the_baseline[SmolLM2-135M-Instruct.Q4_1.gguf]"

    # The baselines are reused (crossvals on the default model take seconds each: not repeated here).
    second = run(pytester, "--lockstep-model", model, "test_parity.py::test_native_logits_match_the_baseline")
    second.assert_outcomes(passed=1)
    assert "files written" not in second.stdout.str()


def np_load(path: Path):
    import numpy as np

    return np.load(path, allow_pickle=False)


@pytest.mark.slow
def test_an_injected_fault_fails_the_suite_with_position_and_tokens(pytester, example, tmp_path):
    reports = tmp_path / "reports"
    result = run(pytester, "--lockstep-inject-fault", "attention-scale-wrong", "--lockstep-report", reports,
                 "test_parity.py::test_backends_agree_on_a_prompt[default-model-The capital of France is]")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E *AssertionError: crossval DIVERGED (exit 1) on *SmolLM2-135M-Instruct.Q4_1.gguf",
        "E *native vs llama.cpp diverge at position 1 of * (cross-precision band): cosine * < 0.9*",
        "E *  top-1 after token 9690 'system': llama.cpp 198 '\\n', native * '*'",
        "E *  localized at layer 0 attn_out, position 1: *",
        "E *Fault attention-scale-wrong first shows in native at layer 0 (attn_out), position 1, against a clean run*",
    ])
    result.stdout.fnmatch_lines(["*lockstep: failed crossvals, per position*", "test_parity.py::test_backends_agree_on_a_prompt*",
                                 "*verdict DIVERGED: a stage parted beyond its limits (exit 1)"])
    written = sorted(p.name for p in reports.iterdir())
    assert written == ["test_parity.py_test_backends_agree_on_a_prompt_default-model-The_capital_of_France_is.json"]
    report = json.loads((reports / written[0]).read_text())
    assert report["verdict"]["exit_code"] == 1 and report["verdict"]["first_divergence"] == 1
    assert report["flags"]["inject_fault"] == "attention-scale-wrong"
    print(result.stdout.str())  # the README's "Parity suites" shows this output


SUITE = """
import lockstep

def test_baseline(lockstep_model, logits_baseline):
    model = lockstep.load(lockstep_model, backend="native")
    logits_baseline.check("logits", model.logits(model.tokenize("Hello world")), backend=model)

def test_crossval(lockstep_crossval):
    assert lockstep_crossval(prompt="Hello world", template="raw").passed
"""


@pytest.mark.slow
def test_a_baseline_from_another_model_fails_naming_both_sha256(pytester, converted):
    recorded, other = converted("llama", "f32"), converted("llama", "f16")
    pytester.makepyfile(test_suite=SUITE)
    run(pytester, "--lockstep-model", recorded, "test_suite.py::test_baseline").assert_outcomes(failed=1)  # nothing recorded yet
    run(pytester, "--lockstep-model", recorded, "test_suite.py::test_baseline", "--lockstep-regen").assert_outcomes(passed=1)
    run(pytester, "--lockstep-model", recorded, "test_suite.py::test_baseline").assert_outcomes(passed=1)
    result = run(pytester, "--lockstep-model", other, "test_suite.py::test_baseline")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"E *AssertionError: Baseline 'logits' ({pytester.path}/baselines/test_suite/logits.npz) was not made by "
        f"this run's model {other.name} (sha256 {sha(other)[:16]}…) on native *:",
        f"E *  it holds an entry made from another sha256 {sha(recorded)[:16]}… ({recorded.name}), recorded *",
        "E *Run pytest with --lockstep-regen to record one for this model and backend.",
    ])


def test_a_missing_backend_skips_with_the_install_command(pytester, converted, monkeypatch):
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # llama-cpp-python cannot be imported in this run
    result = run(pytester, "--lockstep-model", converted("llama", "f32"), "test_suite.py::test_crossval")
    result.assert_outcomes(skipped=1)
    reason = 'backend \'llama.cpp\' is unavailable: cannot be imported: llama_cpp; install with: pip install "lockstep[llamacpp]"'
    result.stdout.re_match_lines([r"SKIPPED \[1\] .*: " + re.escape(reason) + "$"])


def test_a_bad_model_file_fails_with_the_file_s_error(pytester):
    bad = pytester.path / "broken.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 40)
    pytester.makepyfile(test_suite=SUITE)
    result = run(pytester, "--lockstep-model", bad, "test_suite.py::test_crossval")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{bad}*"])


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
