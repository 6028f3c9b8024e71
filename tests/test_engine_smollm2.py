"""The native engine on the real default model (SmolLM2-135M-Instruct, Q4_1) against
llama.cpp on the same file: the issue's gate over 22 prompts, and greedy decoding."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import lockstep

pytest.importorskip("llama_cpp")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import engine_fidelity  # noqa: E402  (the measurement the README's numbers come from)


@pytest.fixture(scope="module")
def measured():
    return engine_fidelity.measure_against_llamacpp(str(lockstep.default_model_path()), n_threads=1)


def test_logits_follow_llamacpp_within_the_gate(measured):
    result = measured["llama.cpp"]
    assert result["prompts"] >= 20
    assert result["top1_agreement"] >= 0.98, result
    assert result["mean_kl"] <= 5e-3, result


def test_greedy_continuation_agrees_with_llamacpp(measured):
    greedy = measured["greedy"]
    assert greedy["agreeing_prefix"] >= 16, greedy


def test_load_reaches_the_reference_backends_by_name():
    """lockstep.load(..., backend="llama.cpp") gives the llama.cpp backend; its logits follow the
    native engine's on the same file (same greedy token at most positions)."""
    path = lockstep.default_model_path()
    ids = [1, 504, 3575, 282, 4649, 314]
    reference = lockstep.load(path, backend="llama.cpp", n_threads=2)
    native = lockstep.load(path, backend="native", n_threads=2)
    expected = np.asarray(reference.logits(np.asarray(ids, dtype=np.int32)))
    got = native.logits(ids)
    assert expected.shape == got.shape == (len(ids), native.n_vocab)
    assert (expected.argmax(1) == got.argmax(1)).mean() >= 0.8
