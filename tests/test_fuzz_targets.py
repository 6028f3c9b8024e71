"""A short run of every fuzz target (fuzz/, docs/fuzzing.md) over its committed seeds and a
few seconds of mutations: the targets stay runnable, and every seed and early mutant parses
or fails with the parser's documented exception. The long runs are scripts/fuzz.sh's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossval_cli import lockstep_path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = sorted(p.stem for p in (ROOT / "fuzz").glob("*.py") if not p.stem.startswith("_") and p.stem != "make_corpus")
SECONDS = 5


def test_every_target_has_seeds():
    assert len(TARGETS) == 8, TARGETS
    for target in TARGETS:
        seeds = list((ROOT / "fuzz" / "corpus" / target).iterdir())
        assert seeds, f"fuzz/corpus/{target} is empty: run python fuzz/make_corpus.py"


@pytest.mark.parametrize("target", TARGETS)
def test_target_runs_clean(target, tmp_path):
    env = dict(os.environ, PYTHONPATH=lockstep_path())
    dictionary = ROOT / "fuzz" / f"{target}.dict"
    run = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / f"{target}.py"), f"-max_total_time={SECONDS}",
         *([f"-dict={dictionary}"] if dictionary.exists() else []), "-timeout=20",
         "-rss_limit_mb=3072", "-use_value_profile=1", f"-artifact_prefix={tmp_path}/", "-print_final_stats=1", str(tmp_path),
         str(ROOT / "fuzz" / "corpus" / target)],
        capture_output=True, text=True, env=env, timeout=600)
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-40:])
    assert run.returncode == 0, f"{target} found something (artifacts in {tmp_path}):\n{tail}"
    assert "stat::number_of_executed_units" in run.stderr, tail


FINDINGS = sorted((ROOT / "tests" / "data" / "fuzz_findings").iterdir())


@pytest.mark.parametrize("finding", FINDINGS, ids=[f.name for f in FINDINGS])
def test_past_findings_stay_fixed(finding):
    """Each input a fuzz run found (named TARGET-what) runs clean through its target now."""
    target = finding.name.split("-", 1)[0]
    run = subprocess.run([sys.executable, str(ROOT / "fuzz" / f"{target}.py"), str(finding)], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=lockstep_path()), timeout=600)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
