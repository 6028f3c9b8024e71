"""The native engine as a dispatcher backend: registered from C++ under "native", created
through the registry like any other, and held to independent references (llama.cpp's
tokenizer on the default model, transformers on a tiny zoo model)."""

from __future__ import annotations

import numpy as np
import pytest

import lockstep
from lockstep import _core
from lockstep.dispatch.crossval import crossval

PROMPT = "The capital of France is Paris; 1234 apples, naïve café 😀!"


@pytest.fixture(scope="module")
def zoo_llama3():
    pytest.importorskip("transformers")
    from lockstep.zoo.synthetic import tiny_model

    return tiny_model("llama3")


def test_registered_and_always_available():
    assert "native" in _core.backend_names()
    preflight = _core.preflight_backend("native")
    assert preflight["available"]
    assert preflight["version"] == f"lockstep {lockstep.__version__}"


def test_backend_logits_are_the_engines(zoo_llama3):
    backend = _core.create_backend("native", str(zoo_llama3), 1, "")
    assert backend.name() == "native"
    assert backend.version().startswith(f"lockstep {lockstep.__version__}")
    assert {"tokenize", "logits", "eval", "capture", "faults"} <= set(backend.capabilities())
    engine = lockstep.NativeModel(zoo_llama3, n_threads=1)
    assert backend.vocab_size() == engine.n_vocab
    # Logits through the dispatcher: a crossval of the backend with a second copy of itself
    # compares bit-identical rows.
    report = crossval(zoo_llama3, PROMPT, backends=("native", "hf"), template="raw", n_threads=1)
    assert report.exit_code == 0, report.pairs[0].divergence_reason
    ids = report.tokens["native"]
    np.testing.assert_array_equal(ids, report.tokens["hf"])
    assert report.pairs[0].metrics.summary()["max_abs_diff"] <= 1e-4 * np.abs(engine.logits(ids)).max()


def test_tokens_match_llamacpp_on_the_default_model():
    llama_cpp = pytest.importorskip("llama_cpp")
    pytest.importorskip("transformers")
    path = lockstep.default_model_path()
    model = lockstep.load(path, n_threads=1)  # the same codec as the backend's
    reference = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    for text in (PROMPT, "<|im_start|>user\nHi<|im_end|>\n", "  leading spaces\n\ttabs"):
        for add_special in (True, False):
            for parse_special in (True, False):
                expected = reference.tokenize(text.encode(), add_bos=add_special, special=parse_special)
                assert list(model.tokenize(text, add_special, parse_special)) == expected
    for token_id in (0, 1, 2, 504, 3575, 49151):
        assert model.token_piece(token_id) == reference.detokenize([token_id], special=True)


def test_crossval_native_against_llamacpp_on_the_default_model():
    pytest.importorskip("llama_cpp")
    pytest.importorskip("transformers")
    report = crossval(lockstep.default_model_path(), "The capital of France is", backends=("llama.cpp", "native"),
                      n_threads=1)
    assert report.token_mismatch is None
    assert report.tokens["native"] == report.tokens["llama.cpp"]
    summary = report.pairs[0].summary()
    assert summary["top1_agreement"] >= 0.95, summary
    assert summary["mean_kl"] <= 1e-2, summary


def test_unknown_fault_is_a_value_error(zoo_llama3):
    with pytest.raises(ValueError, match="unknown fault 'no-such-fault'.*rope-layout-swapped"):
        _core.create_backend("native", str(zoo_llama3), 1, "no-such-fault")


def test_bad_model_file_is_a_format_error(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 8)
    with pytest.raises(lockstep.FormatError):
        _core.create_backend("native", str(bad), 1, "")
