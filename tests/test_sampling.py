"""The sampler chain (src/sampling/sampler.h) on fixed logit arrays: its distribution against
an independent numpy implementation of each step and against llama.cpp's own sampler chain
(through llama-cpp-python's C API) on the same logits; its draws against its distribution;
seeds; bad settings; and that it reads float32 logits in place instead of converting them."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from lockstep.backends.sampling import SamplingSettings

N_VOCAB = 200
HISTORY = np.array([5, 5, 17, 3, 199, 5, 42, 17], dtype=np.int32)

SETTINGS = [
    dict(temperature=1.0),
    dict(temperature=0.7, top_k=20),
    dict(temperature=1.3, top_p=0.8),
    dict(temperature=0.9, min_p=0.05),
    dict(temperature=1.0, top_k=40, top_p=0.9, min_p=0.02),
    dict(temperature=0.8, repeat_penalty=1.3, presence_penalty=0.4, frequency_penalty=0.25),
    dict(temperature=1.1, top_k=50, top_p=0.95, min_p=0.05, repeat_penalty=1.2, frequency_penalty=0.1,
         penalty_last_n=4),
    dict(temperature=2.0, top_p=0.5, repeat_penalty=0.8),
]


def fixed_logits(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).normal(0.0, 3.0, N_VOCAB)).astype(np.float32)


def numpy_chain(logits: np.ndarray, history: np.ndarray, temperature=0.0, top_k=0, top_p=1.0, min_p=0.0,
                repeat_penalty=1.0, presence_penalty=0.0, frequency_penalty=0.0, penalty_last_n=64) -> np.ndarray:
    """The documented chain written independently in numpy: dense probabilities [n_vocab]."""
    x = logits.astype(np.float64).copy()
    window = history if penalty_last_n < 0 else history[len(history) - min(len(history), penalty_last_n):]
    ids, counts = np.unique(window, return_counts=True)
    seen = x[ids]
    seen = np.where(seen <= 0, seen * repeat_penalty, seen / repeat_penalty)
    x[ids] = seen - counts * frequency_penalty - presence_penalty
    if temperature == 0:
        out = np.zeros_like(x)
        out[np.argmax(x)] = 1.0
        return out
    keep = np.ones(x.size, bool)
    order = np.lexsort((np.arange(x.size), -x))  # best first, ties by id
    if 0 < top_k < x.size:
        keep[order[top_k:]] = False
    if top_p < 1.0:
        kept = order[keep[order]]
        p = np.exp(x[kept] - x[kept].max())
        p /= p.sum()
        last = int(np.searchsorted(np.cumsum(p), top_p))  # first index whose cumulative sum reaches top_p
        keep[kept[last + 1:]] = False
    if min_p > 0.0:
        best = x[keep].max()
        keep &= x >= best + np.log(min_p)
    z = np.where(keep, x / temperature, -np.inf)
    p = np.exp(z - z[keep].max())
    return p / p.sum()


def llamacpp_chain(logits: np.ndarray, history: np.ndarray, temperature=0.0, top_k=0, top_p=1.0, min_p=0.0,
                   repeat_penalty=1.0, presence_penalty=0.0, frequency_penalty=0.0, penalty_last_n=64) -> np.ndarray:
    """llama.cpp's samplers, in its Llama sampler's order, applied to the same logits."""
    llama_cpp = pytest.importorskip("llama_cpp")
    chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    try:
        # The pinned binding declares a leading n_vocab that llama.cpp's current C function
        # no longer has; passing penalty_last_n in both places is right for either signature.
        last_n = len(history) if penalty_last_n < 0 else penalty_last_n
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_penalties(
            last_n, last_n, repeat_penalty, frequency_penalty, presence_penalty))
        if top_k > 0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_k(top_k))
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_p(top_p, 1))
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_min_p(min_p, 1))
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_temp(temperature))
        for token in history:
            llama_cpp.llama_sampler_accept(chain, int(token))
        data = (llama_cpp.llama_token_data * logits.size)(
            *[llama_cpp.llama_token_data(i, float(v), 0.0) for i, v in enumerate(logits)])
        candidates = llama_cpp.llama_token_data_array(data, logits.size, -1, False)
        llama_cpp.llama_sampler_apply(chain, ctypes.byref(candidates))
        ids = np.array([candidates.data[i].id for i in range(candidates.size)])
        z = np.array([candidates.data[i].logit for i in range(candidates.size)], dtype=np.float64)
    finally:
        llama_cpp.llama_sampler_free(chain)
    out = np.zeros(logits.size)
    p = np.exp(z - z.max())
    out[ids] = p / p.sum()
    return out


def chain_of(settings: dict):
    return SamplingSettings(**settings).sampler()


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_distribution_is_the_numpy_chains(settings):
    for seed in range(3):
        logits = fixed_logits(seed)
        ours = chain_of(settings).probabilities(logits, HISTORY)
        np.testing.assert_allclose(ours, numpy_chain(logits, HISTORY, **settings), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_distribution_is_llamacpps_sampler_chain(settings):
    for seed in range(3):
        logits = fixed_logits(100 + seed)
        ours = chain_of(settings).probabilities(logits, HISTORY)
        reference = llamacpp_chain(logits, HISTORY, **settings)
        assert set(np.flatnonzero(ours)) == set(np.flatnonzero(reference)), "the chains keep different tokens"
        np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-6)


def test_the_numpy_reference_catches_a_chain_in_another_order():
    # The comparison above can fail: temperature before top-p (another order) keeps another set.
    logits, settings = fixed_logits(7), dict(temperature=2.0, top_p=0.5)
    reordered = numpy_chain(logits / 2.0, HISTORY, temperature=1.0, top_p=0.5)
    assert not np.allclose(chain_of(settings).probabilities(logits, HISTORY), reordered, atol=1e-3)


def test_greedy_is_the_argmax_after_the_penalties():
    logits = fixed_logits(3)
    top = int(np.argmax(logits))
    history = np.array([top] * 3, dtype=np.int32)
    plain = chain_of(dict(temperature=0.0))
    assert plain.sample(logits, history) == top
    penalized = chain_of(dict(temperature=0.0, presence_penalty=100.0))
    assert penalized.sample(logits, history) == int(np.argsort(logits)[-2])


def test_draws_follow_the_distribution_and_repeat_with_the_seed():
    logits = fixed_logits(11)
    settings = dict(temperature=1.0, top_k=8, seed=1234)
    expected = chain_of(settings).probabilities(logits, HISTORY)
    sampler = chain_of(settings)
    draws = np.array([sampler.sample(logits, HISTORY) for _ in range(20000)])
    frequencies = np.bincount(draws, minlength=N_VOCAB) / draws.size
    np.testing.assert_allclose(frequencies, expected, atol=0.012)
    assert set(np.flatnonzero(frequencies)) <= set(np.flatnonzero(expected))
    again = chain_of(settings)
    assert [again.sample(logits, HISTORY) for _ in range(200)] == draws[:200].tolist()
    other = chain_of({**settings, "seed": 1235})
    assert [other.sample(logits, HISTORY) for _ in range(200)] != draws[:200].tolist()


def test_logits_are_read_in_place_never_converted():
    sampler = chain_of(dict(temperature=1.0))
    logits = fixed_logits(0)
    with pytest.raises(TypeError, match="float32"):
        sampler.sample(logits.astype(np.float64), HISTORY)
    with pytest.raises(ValueError, match="contiguous"):
        sampler.sample(np.repeat(logits, 2)[::2], HISTORY)
    with pytest.raises(ValueError, match="one row"):
        sampler.sample(logits[None, :], HISTORY)


@pytest.mark.parametrize("bad, message", [
    (dict(temperature=-1.0), "temperature"), (dict(temperature=float("nan")), "temperature"),
    (dict(top_k=-2), "top_k"), (dict(top_p=0.0), "top_p"), (dict(top_p=1.5), "top_p"), (dict(min_p=2.0), "min_p"),
    (dict(repeat_penalty=0.0), "repeat_penalty"), (dict(penalty_last_n=-5), "penalty_last_n"),
    (dict(max_tokens=-1), "max_tokens"), (dict(seed=-1), "seed"), (dict(stop=("",)), "stop"),
])
def test_bad_settings_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        SamplingSettings(**bad)


def test_history_outside_the_vocabulary_is_an_error():
    with pytest.raises(ValueError, match="outside the vocabulary"):
        chain_of(dict(temperature=1.0, repeat_penalty=1.1)).sample(fixed_logits(0), np.array([N_VOCAB], dtype=np.int32))
