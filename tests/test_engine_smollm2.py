"""The native engine on the real default model (SmolLM2-135M-Instruct, Q4_1) against
llama.cpp on the same file: the issue's gate over 22 prompts, and greedy decoding."""

from __future__ import annotations

import sys
from pathlib import Path

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
