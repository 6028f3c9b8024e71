"""Crossval's verdict on the real default model (SmolLM2-135M-Instruct Q4_1): every injected
fault is caught, the decode steps and the per-layer localization enter the verdict, the noise
floor is measured on the file, and clean prompts give no false alarm (issue 9).

References: llama.cpp (the pair's reference backend) and transformers (the unrounded control
against a dequantizing engine)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import lockstep
from lockstep.backends.faults import fault_names as all_faults
from lockstep.backends.native import NativeModel
from lockstep.dispatch.crossval import crossval
from lockstep.dispatch.metrics import compare_logits

PROMPT = "What is the capital of France?"
CLEAN = json.loads((Path(__file__).parent / "data" / "clean_prompts.json").read_text(encoding="utf-8"))["prompts"]


@pytest.fixture(scope="module")
def model() -> Path:
    return Path(lockstep.default_model_path())


def fault_names() -> list[str]:
    # silu-for-relu2 applies to squared-ReLU models only; SmolLM2 is SiLU.
    return [name for name in all_faults() if name != "silu-for-relu2"]


@pytest.mark.parametrize("backends", ["both", "all"])
@pytest.mark.parametrize("fault", fault_names())
def test_every_fault_is_caught_on_the_default_model(model, fault, backends):
    report = crossval(model, PROMPT, backends=backends, steps=4, inject_fault=fault)
    assert report.exit_code in (1, 2), report.to_dict()["verdict"]


def test_decode_steps_enter_the_verdict(model):
    # The prompt's logits are clean (one evaluation); the stale cache shows from the second.
    report = crossval(model, PROMPT, backends="both", steps=4, inject_fault="stale-kv-after-reset")
    (pair,) = report.pairs
    assert pair.first_divergence is None
    assert report.exit_code == 1 and pair.diverged_stage == "teacher-forced"
    assert report.to_dict()["verdict"]["diverged_stages"] == {pair.test: "teacher-forced"}
    frame = report.to_frame()
    assert set(frame["phase"]) == {"prompt", "teacher-forced"} and frame["diverged"].any()


def test_one_perturbed_layer_is_localized_at_half_depth_across_backends(model):
    n_layer = NativeModel(model).info["n_layer"]
    for backends in ("both", "all"):
        report = crossval(model, PROMPT, backends=backends, inject_fault="layer-weights-perturbed")
        data = json.loads(report.to_json())
        assert data["verdict"]["exit_code"] == 1, data["verdict"]
        native_pairs = [p for p in data["pairs"] if p["test"] == "native" or p["reference"] == "native"]
        assert native_pairs and all(p["localization"]["layer"] == n_layer // 2 for p in native_pairs), \
            [p["localization"] for p in native_pairs]
        # The logits alone do not show it: the pair's mean KL stays within its noise floor.
        assert all(p["noise_floor"]["pair_times_floor"] < p["noise_floor"]["overall_times_floor"] for p in native_pairs)


def test_greedy_splits_are_ties_or_divergences(model):
    for fault in (None, "kv-position-off-by-one"):
        report = crossval(model, PROMPT, backends="both", steps=8, inject_fault=fault)
        (pair,) = report.pairs
        margin = pair.thresholds["top1_margin"]
        for split in pair.greedy_splits:
            assert split["tie"] == (split["margin"] <= margin)
            assert split["reference_token"] != split["test_token"]
        real = [s["step"] for s in pair.greedy_splits if not s["tie"]]
        if real:
            assert pair.teacher_forced_first_divergence is not None
            assert pair.teacher_forced_first_divergence <= real[0]
    assert real, "a wrong key position must split the greedy path for real, not only by ties"


def test_noise_floor_control_is_what_a_dequantizing_engine_computes(model):
    """The control's second side (unrounded activations) is transformers' arithmetic on the
    dequantized file: much closer to transformers than the engine with 8-bit activations."""
    pytest.importorskip("transformers")
    from lockstep.backends.loading import load

    ids = np.asarray(NativeModel(model).tokenize(PROMPT), dtype=np.int32)
    hf = np.array(load(model, backend="hf").logits(ids), dtype=np.float32)
    rounded = np.array(NativeModel(model).logits(ids))
    unrounded = np.array(NativeModel(model, unrounded_activations=True).logits(ids))
    kl_rounded = float(np.mean(compare_logits(hf, rounded).kl))
    kl_unrounded = float(np.mean(compare_logits(hf, unrounded).kl))
    assert kl_unrounded < kl_rounded / 10, (kl_unrounded, kl_rounded)


def test_thresholds_come_from_the_floor_unless_given(model):
    floor_run = crossval(model, PROMPT, backends="both")
    (pair,) = floor_run.pairs
    assert pair.noise_floor is not None and pair.noise_floor["band"] == "cross-precision"
    assert pair.thresholds["max_nmse"] <= floor_run.thresholds["cross-precision"]["max_nmse"]
    assert np.isfinite(pair.frame(pair.metrics)["times_floor"]).all()
    fixed = crossval(model, PROMPT, backends="both", thresholds={"max_kl": 0.1})
    assert fixed.pairs[0].noise_floor is None and fixed.pairs[0].thresholds["max_kl"] == 0.1


# With transformers in the run (its float32 attention against 8-bit activations: a floor near
# 3%), these three were localized as false alarms before the gross-error rule asked for 4x the
# floor; benchmarks/detection_floor.py --backends all runs all of CLEAN.
ALL_BACKENDS_CLEAN = ("chat-advice", "chat-explain", "code-python")


@pytest.mark.parametrize(("item", "backends"),
                         [(p, "both") for p in CLEAN] + [(p, "all") for p in CLEAN if p["id"] in ALL_BACKENDS_CLEAN],
                         ids=[p["id"] for p in CLEAN] + [f"{name}-all" for name in ALL_BACKENDS_CLEAN])
def test_clean_prompts_give_no_false_alarm(model, item, backends):
    kwargs = {"messages": item["messages"]} if "messages" in item else {"prompt": item["prompt"]}
    report = crossval(model, backends=backends, steps=8, **kwargs)
    assert report.exit_code == 0, report.to_dict()["verdict"] | {
        "pairs": [{k: p.summary()[k] for k in ("diverged_stage", "divergence_reason", "localization")}
                  for p in report.pairs]}
