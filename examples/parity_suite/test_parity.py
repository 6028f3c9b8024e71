"""A parity suite to copy: one model on several backends, prompt by prompt, a chat conversation,
a logits baseline, and a deliberately broken engine that the suite must catch.

    pytest examples/parity_suite --lockstep-backends llama.cpp,native          # the default model
    pytest examples/parity_suite --lockstep-model my.gguf --lockstep-regen      # record baselines
    pytest examples/parity_suite --lockstep-inject-fault attention-scale-wrong  # must fail

The fixtures come from lockstep's pytest plugin (installed with lockstep).
"""

import pytest

import lockstep
from lockstep.testing import assert_crossval_passes

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "1, 1, 2, 3, 5, 8, 13,",
]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_backends_agree_on_a_prompt(lockstep_crossval, prompt):
    assert_crossval_passes(lockstep_crossval(prompt=prompt))


def test_backends_agree_on_a_conversation(lockstep_crossval):
    report = lockstep_crossval(messages=[
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "Name a primary colour."},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "And another one?"},
    ])
    assert_crossval_passes(report)


def test_native_logits_match_the_baseline(lockstep_model, logits_baseline):
    model = lockstep.load(lockstep_model, backend="native")
    ids = model.tokenize("The capital of France is")
    logits_baseline.check("capital-of-france", model.logits(ids), backend=model, tokenizer=model)


def test_an_injected_fault_is_caught(lockstep_crossval):
    # Validating the validator: attention scores scaled by 1/head_dim instead of 1/sqrt(head_dim).
    report = lockstep_crossval(prompt="The capital of France is", inject_fault="attention-scale-wrong")
    with pytest.raises(AssertionError, match=r"diverge at position 1 of"):
        assert_crossval_passes(report)
