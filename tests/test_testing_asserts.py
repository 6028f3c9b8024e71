"""lockstep.testing's assertion helpers on real logits and real vocabularies: a faithful and a
faulty native engine on a tiny zoo model, llama.cpp on the same file, torch tensors, the
default model's tokenizer; the exact failure messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import lockstep
from lockstep.testing import assert_logits_close, assert_tokens_equal

TEXT = "The quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def tiny(converted):
    return converted("llama", "f32")


@pytest.fixture(scope="module")
def clean(tiny):
    model = lockstep.load(tiny, backend="native")
    ids = model.tokenize(TEXT)
    return model, ids, np.array(model.logits(ids))


def faulty_logits(tiny, ids, fault):
    return np.array(lockstep.load(tiny, backend="native", inject_fault=fault).logits(ids))


def test_importable_without_pytest():
    code = "import sys; sys.modules['pytest'] = None; import lockstep.testing; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stderr


def test_llama_cpp_and_native_on_f32_are_close_in_the_same_arithmetic_band(tiny, clean):
    pytest.importorskip("llama_cpp")
    _, ids, native = clean
    reference = lockstep.load(tiny, backend="llama.cpp").logits(ids)
    metrics = assert_logits_close(native, reference)
    assert len(metrics) == len(ids) and metrics.summary()["max_kl"] < 1e-4


def test_an_attention_fault_fails_with_positions_tokens_and_the_table(tiny, clean):
    model, ids, native = clean
    faulty = faulty_logits(tiny, ids, "attention-scale-wrong")
    with pytest.raises(AssertionError) as caught:
        assert_logits_close(faulty, native, tokenizer=model)
    message = str(caught.value)
    lines = message.splitlines()
    n = len(ids)
    assert lines[0] == "Logits are not close!"
    # Position 0 attends to itself only: any scale gives the same softmax there.
    failing = int(lines[2].split()[2])
    assert lines[2] == f"Diverging positions: {failing} / {n} ({100 * failing / n:.1f}%) in the same-arithmetic band (docs/thresholds.md)"
    assert lines[4] == "First diverging position: 1"
    assert lines[5].startswith("  cosine ") and "(down to 0.9999 allowed), NMSE " in lines[5]
    assert "(up to 0.0001 allowed), KL " in lines[5]
    top1_actual, top1_desired = int(np.argmax(faulty[1])), int(np.argmax(native[1]))
    piece = lambda i: model.token_piece(i).decode("utf-8", errors="backslashreplace")  # noqa: E731
    expected = f"  top-1: actual {top1_actual} {piece(top1_actual)!r}, desired {top1_desired} {piece(top1_desired)!r}"
    assert lines[6].startswith(expected)
    assert lines[7].startswith("Greatest KL: ")
    # The crossval's compact table, failing rows marked.
    assert any(line.split("│")[1].strip() == "1 ✗" for line in lines if line.count("│") > 5)
    assert "top-1 desired/actual" in message


def test_thresholds_come_from_the_band_and_overrides(tiny, clean):
    _, ids, native = clean
    perturbed = faulty_logits(tiny, ids, "layer-weights-perturbed")
    with pytest.raises(AssertionError, match="same-arithmetic band"):
        assert_logits_close(perturbed, native)
    assert_logits_close(perturbed, native, band="cross-precision")
    with pytest.raises(AssertionError, match=r"KL .* \(up to 1e-12 allowed\)"):
        assert_logits_close(perturbed, native, band="cross-precision", max_kl=1e-12)
    with pytest.raises(ValueError, match="unknown band 'loose'; choose one of same-arithmetic, cross-precision"):
        assert_logits_close(perturbed, native, band="loose")


def test_torch_tensors_shapes_and_non_finite_values(clean):
    torch = pytest.importorskip("torch")
    _, _, native = clean
    assert_logits_close(torch.from_numpy(native).requires_grad_(), torch.from_numpy(native.copy()))
    with pytest.raises(AssertionError, match=r"Shapes differ: actual \(2, 4096\), desired \(3, 4096\)"):
        assert_logits_close(native[:2], native[:3])
    broken = native.copy()
    broken[2, 7] = np.nan
    with pytest.raises(AssertionError, match="actual has 1 non-finite values"):
        assert_logits_close(broken, native)


def test_tokens_equal_and_the_gate_s_causes_on_the_default_model():
    tokenizer = lockstep.Tokenizer.from_file(lockstep.default_model_path())
    ids = tokenizer.encode("Hello there")
    assert_tokens_equal(ids, ids.copy(), tokenizer=tokenizer)
    bos = tokenizer.bos_id  # SmolLM2's BOS is <|im_start|>, id 1
    with pytest.raises(AssertionError) as caught:
        assert_tokens_equal([bos, *ids], [bos, bos, *ids], tokenizer=tokenizer)
    assert str(caught.value).splitlines() == [
        "Tokens are not equal!", "",
        "First difference at index 1 (lengths 3 and 4): double-bos",
        "  b starts with BOS twice: the prompt already contains BOS and the tokenizer added another",
        "  a: 19556 'Hello'   context from index 0: 1:'<|im_start|>' 19556:'Hello' 665:' there'",
        "  b: 1 '<|im_start|>'   context from index 0: 1:'<|im_start|>' 1:'<|im_start|>' 19556:'Hello' 665:' there'",
    ]
    with pytest.raises(AssertionError, match=r"index 1 \(lengths 2 and 2\): different-text\n  the tokens spell different"):
        assert_tokens_equal(ids, tokenizer.encode("Hello where"), tokenizer=tokenizer)
    split = np.concatenate([tokenizer.encode("Hel"), tokenizer.encode("lo")])
    with pytest.raises(AssertionError) as caught:
        assert_tokens_equal(tokenizer.encode("Hello"), split, tokenizer=tokenizer)
    assert str(caught.value).splitlines()[2:] == [
        "First difference at index 0 (lengths 1 and 2): different-segmentation",
        "  same text, split differently: the tokenizers' merge rules or pre-tokenizers disagree",
        "  a: 19556 'Hello'   context from index 0: 19556:'Hello'",
        "  b: 11653 'Hel'   context from index 0: 11653:'Hel' 5365:'lo'",
    ]


def test_tokens_without_a_tokenizer():
    with pytest.raises(AssertionError) as caught:
        assert_tokens_equal([1, 2, 3, 4], [1, 2, 9, 4, 5])
    assert str(caught.value).splitlines() == [
        "Tokens are not equal!", "",
        "First difference at index 2 (lengths 4 and 5; 1 of the first 4 differ)",
        "  a: 3   context from index 0: [1, 2, 3, 4]",
        "  b: 9   context from index 0: [1, 2, 9, 4, 5]",
        "(pass tokenizer= for the pieces and the likely cause)",
    ]
