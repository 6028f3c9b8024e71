"""lockstep.compare_logits against scipy's definitions of each metric (independent reference)."""

import numpy as np
import pytest
from scipy.spatial.distance import cosine as cosine_distance
from scipy.special import log_softmax
from scipy.stats import kendalltau

import lockstep
from lockstep._core import kernels


def _pair(seed, n=6, vocab=3000, noise=0.05):
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal((n, vocab)) * 4).astype(np.float32)
    b = (a + rng.standard_normal((n, vocab)) * noise).astype(np.float32)
    return a, b


def _top_k(x, k):
    # Largest first, ties by lower index (a stable sort of -x).
    return list(np.argsort(-x, kind="stable")[:k])


ISAS = kernels.supported_isas()  # the scalar reference and every SIMD table this CPU runs


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_scipy(seed, isa):
    a, b = _pair(seed, vocab=3001)  # an odd width leaves a tail after the last whole batch
    next_tokens = np.array([5, -1, 17, 2999, 0, 42], dtype=np.int32)
    result = lockstep.compare_logits(a, b, next_tokens, top_k=10, isa=isa)
    for i in range(len(a)):
        x, y = a[i].astype(np.float64), b[i].astype(np.float64)
        lp, lq = log_softmax(x), log_softmax(y)
        assert result.kl[i] == pytest.approx(np.sum(np.exp(lp) * (lp - lq)), rel=1e-9, abs=1e-15)
        assert result.cosine[i] == pytest.approx(1 - cosine_distance(x, y), rel=1e-12)
        assert result.nmse[i] == pytest.approx(np.sum((x - y) ** 2) / np.sum(x**2), rel=1e-12)
        assert result.max_abs_diff[i] == pytest.approx(np.max(np.abs(x - y)), rel=1e-12)
        assert (result.top1_a[i], result.top1_b[i]) == (np.argmax(x), np.argmax(y))
        p = np.exp(lp)
        assert result.top1_margin[i] == pytest.approx(p[np.argmax(x)] - p[np.argmax(y)], abs=1e-12)
        top_a, top_b = _top_k(a[i], 10), _top_k(b[i], 10)
        assert result.topk_overlap[i] == pytest.approx(len(set(top_a) & set(top_b)) / 10)
        union = top_a + [t for t in top_b if t not in top_a]
        tau = kendalltau(a[i][union], b[i][union], variant="b").statistic
        assert result.kendall_tau[i] == pytest.approx(tau, rel=1e-12)
        t = next_tokens[i]
        if t >= 0:
            assert result.nll_a[i] == pytest.approx(-lp[t], rel=1e-9)
            assert result.nll_b[i] == pytest.approx(-lq[t], rel=1e-9)
            assert result.p_next_b[i] == pytest.approx(np.exp(lq[t]), rel=1e-9)
        else:
            assert np.isnan(result.nll_a[i]) and np.isnan(result.p_next_b[i])


def test_identical_rows_are_perfect():
    a, _ = _pair(3)
    result = lockstep.compare_logits(a, a.copy())
    assert np.all(result.kl == 0) and np.all(result.nmse == 0) and np.all(result.max_abs_diff == 0)
    assert np.allclose(result.cosine, 1) and np.all(result.kendall_tau == 1) and np.all(result.topk_overlap == 1)
    assert result.summary()["top1_agreement"] == 1.0


def test_ties_follow_tau_b():
    a = np.array([[3, 3, 2, 1, 0, 0]], dtype=np.float32)
    b = np.array([[3, 2, 2, 1, 1, 0]], dtype=np.float32)
    result = lockstep.compare_logits(a, b, top_k=6)
    assert result.kendall_tau[0] == pytest.approx(kendalltau(a[0], b[0], variant="b").statistic, rel=1e-12)


def test_non_float32_input_is_converted_and_frame_has_positions():
    a, b = _pair(4)
    result = lockstep.compare_logits(a.astype(np.float64), b)
    frame = result.to_frame()
    assert list(frame["position"]) == list(range(len(a)))
    assert frame["top1_agree"].dtype == bool


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((2, 5)), np.zeros((3, 5)), "different shapes"),
        (np.zeros(5), np.zeros(5), "2-D"),
        (np.zeros((2, 0)), np.zeros((2, 0)), "empty vocabulary"),
    ],
)
def test_bad_shapes_are_value_errors(a, b, message):
    with pytest.raises(ValueError, match=message):
        lockstep.compare_logits(a, b)


def test_bad_next_tokens_and_top_k():
    a, b = _pair(5)
    with pytest.raises(ValueError, match="one id per position"):
        lockstep.compare_logits(a, b, np.zeros(2, dtype=np.int32))
    with pytest.raises(ValueError, match="top_k"):
        lockstep.compare_logits(a, b, top_k=0)
