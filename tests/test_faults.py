"""Validating the validator: every fault the native engine can inject shows up where it
should — at the expected first position of the logits and, through the per-layer capture,
at the expected first layer and point — and a clean engine shows nothing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import lockstep
from lockstep.backends import faults
from lockstep.backends.native import CAPTURE_POINTS

pytest.importorskip("transformers")
from lockstep.zoo.synthetic import tiny_model  # noqa: E402

N_TOKENS = 24
RELATIVE = 1e-5  # a difference counts when above this fraction of the clean values' largest magnitude

# fault -> (zoo model, first diverging position, first diverging (layer, capture point)).
# "middle" is n_layer // 2, the layer the perturbation fault picks.
EXPECTED = {
    "rope-layout-swapped": ("llama3", 1, (0, "attn_out")),  # position 0 rotates by angle 0
    "rms-eps-x100": ("llama3", 0, (0, "attn_norm")),
    "kv-position-off-by-one": ("llama3", 1, (0, "attn_out")),  # one key only at position 0
    "attention-scale-wrong": ("llama3", 1, (0, "attn_out")),  # softmax of one score is 1
    "layer-weights-perturbed": ("llama3", 0, ("middle", "attn_out")),
    "silu-for-relu2": ("bitnet-b1.58", 0, (0, "ffn_out")),
}
LOGIT_FAULTS = sorted(EXPECTED)
# Both sides compute in float32 on the zoo's float32 weights, where a clean pair stays near
# 1e-12 on every metric. The dispatcher's defaults are set for quantized files, where a 1%
# weight error is within the noise; float32 sources get thresholds a float32 engine must meet.
FLOAT32_THRESHOLDS = {"min_cosine": 0.99999, "max_nmse": 1e-6, "max_kl": 1e-6}


@pytest.fixture(scope="module")
def ids():
    return np.random.default_rng(7).integers(3, 4000, size=N_TOKENS).astype(np.int32)


def first_position(clean: np.ndarray, test: np.ndarray) -> int | None:
    per_row = np.abs(clean - test).max(axis=1)
    rows = np.flatnonzero(per_row > RELATIVE * np.abs(clean).max())
    return int(rows[0]) if rows.size else None


def first_layer(clean: dict, test: dict, n_layer: int) -> tuple[int, str] | None:
    """The first (layer, point) in forward order whose captured values differ."""
    for layer in range(n_layer):
        for point in CAPTURE_POINTS:
            a, b = clean[point][layer], test[point][layer]
            if np.abs(a - b).max() > RELATIVE * np.abs(a).max():
                return layer, point
    return None


def run(path, ids, fault=None):
    model = lockstep.load(path, n_threads=1, inject_fault=fault)
    logits, captured = model.logits(ids, capture=CAPTURE_POINTS)
    return model, logits.copy(), {k: v.copy() for k, v in captured.items()}


def test_catalogue_names_every_fault_of_the_issue():
    names = faults.fault_names()
    assert set(names) == set(EXPECTED) | {"bos-dropped", "stale-kv-after-reset"}
    assert all(description for _, description in faults.list_faults())


@pytest.mark.parametrize("fault", LOGIT_FAULTS)
def test_fault_starts_at_the_expected_position_and_layer(fault, ids):
    zoo, position, (layer, point) = EXPECTED[fault]
    path = tiny_model(zoo)
    model, clean_logits, clean_captures = run(path, ids)
    faulty, logits, captures = run(path, ids, fault)
    assert faulty.fault == fault and model.fault is None
    n_layer = model.info["n_layer"]
    assert n_layer >= 2
    expected_layer = n_layer // 2 if layer == "middle" else layer
    assert first_position(clean_logits, logits) == position
    assert first_layer(clean_captures, captures, n_layer) == (expected_layer, point)


@pytest.mark.parametrize("zoo", ["llama3", "bitnet-b1.58"])
def test_clean_engine_repeats_itself_exactly(zoo, ids):
    path = tiny_model(zoo)
    _, logits_a, captures_a = run(path, ids)
    _, logits_b, captures_b = run(path, ids)
    assert first_position(logits_a, logits_b) is None
    assert first_layer(captures_a, captures_b, len(captures_a["l_out"])) is None


def test_stale_kv_cache_shows_from_the_second_evaluation(ids):
    path = tiny_model("llama3")
    clean = lockstep.load(path, n_threads=1)
    faulty = lockstep.load(path, n_threads=1, inject_fault="stale-kv-after-reset")
    first_clean, first_faulty = clean.logits(ids[:8]).copy(), faulty.logits(ids[:8]).copy()
    assert first_position(first_clean, first_faulty) is None  # an empty cache has nothing stale
    logits, captures = clean.logits(ids, capture=CAPTURE_POINTS)
    stale_logits, stale_captures = faulty.logits(ids, capture=CAPTURE_POINTS)
    assert faulty.n_past == 8 + N_TOKENS  # reset() kept the first call's tokens
    assert first_position(logits, stale_logits) == 0
    assert first_layer(captures, stale_captures, clean.info["n_layer"]) == (0, "attn_out")


def test_bos_dropped_leaves_out_the_bos_the_vocabulary_asks_for():
    path = tiny_model("llama3")  # its tokenizer prepends BOS, as Llama 3's does
    clean = lockstep.load(path, n_threads=1)
    faulty = lockstep.load(path, n_threads=1, inject_fault="bos-dropped")
    text = "The capital of France is"
    ids = clean.tokenize(text)
    assert ids[0] == 1  # <|im_start|>, the zoo vocabulary's BOS
    np.testing.assert_array_equal(faulty.tokenize(text), ids[1:])
    np.testing.assert_array_equal(faulty.tokenize(text, add_special=False), clean.tokenize(text, add_special=False))


@pytest.mark.parametrize("fault", LOGIT_FAULTS + ["stale-kv-after-reset"])
def test_crossval_flags_the_fault_against_transformers(fault):
    from lockstep.dispatch.crossval import crossval

    zoo, position, _ = EXPECTED.get(fault, ("llama3", 0, None))
    text = "The capital of France is Paris, and the capital of Italy is Rome."
    # Steps make the dispatcher evaluate again, which is where a stale cache shows.
    steps = 2 if fault == "stale-kv-after-reset" else 0
    report = crossval(tiny_model(zoo), text, backends=("hf", "native"), template="raw", n_threads=1,
                      inject_fault=fault, steps=steps, thresholds=FLOAT32_THRESHOLDS)
    if fault == "stale-kv-after-reset":
        # The prompt's logits come from the first, clean evaluation; the steps, which the
        # verdict covers, evaluate again.
        assert report.pairs[0].first_divergence is None and report.pairs[0].teacher_forced_first_divergence == 0
        assert report.exit_code == 1
    else:
        assert report.exit_code == 1
        assert report.first_divergence == position, report.pairs[0].divergence_reason


def test_crossval_stops_a_dropped_bos_at_the_token_gate(tmp_path):
    """llama.cpp on the zoo model converted to GGUF, whose vocabulary asks for BOS."""
    pytest.importorskip("llama_cpp")
    from lockstep.conversion.convert import convert
    from lockstep.dispatch.crossval import crossval

    gguf_path = tmp_path / "llama3.gguf"
    convert(tiny_model("llama3"), gguf_path, "f32")
    text = "The capital of France is"
    clean = crossval(gguf_path, text, backends=("llama.cpp", "native"), template="raw", n_threads=1)
    assert clean.exit_code == 0 and clean.tokens["native"][0] == 1
    report = crossval(gguf_path, text, backends=("llama.cpp", "native"), template="raw", n_threads=1,
                      inject_fault="bos-dropped")
    assert report.exit_code == 2
    assert report.token_mismatch["index"] == 0
    assert report.token_mismatch["cause"] == "missing-bos"
    assert report.tokens["native"] == clean.tokens["native"][1:]


@pytest.mark.parametrize("zoo", ["llama3", "bitnet-b1.58"])
def test_crossval_of_the_clean_engine_passes(zoo):
    from lockstep.dispatch.crossval import crossval

    report = crossval(tiny_model(zoo), "The capital of France is Paris.", backends=("hf", "native"), template="raw",
                      n_threads=1, steps=2, thresholds=FLOAT32_THRESHOLDS)
    assert report.exit_code == 0, report.pairs[0].divergence_reason
    assert report.pairs[0].teacher_forced_first_divergence is None


def test_unknown_fault_is_refused():
    path = tiny_model("llama3")
    with pytest.raises(ValueError, match="unknown fault 'bogus'; known faults: rope-layout-swapped"):
        lockstep.load(path, inject_fault="bogus")
    with pytest.raises(ValueError, match="native backend only"):
        lockstep.load(path, backend="hf", inject_fault="rms-eps-x100")


def test_silu_fault_needs_a_squared_relu_model():
    with pytest.raises(ValueError, match="silu-for-relu2 needs a model with a squared-ReLU"):
        lockstep.load(tiny_model("llama3"), inject_fault="silu-for-relu2")


def test_list_faults_prints_one_per_line():
    # --model and --prompt are given only for command lines that still require them.
    out = subprocess.run([sys.executable, "-m", "lockstep", "crossval", "--list-faults", "--model", "unused",
                          "--prompt", "unused"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == faults.fault_names()
    assert all(len(line.split("\t")) == 2 and line.split("\t")[1] for line in lines)
