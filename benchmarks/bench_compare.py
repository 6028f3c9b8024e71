"""lockstep.compare_logits vs a straightforward numpy implementation of the same metrics.

    python benchmarks/bench_compare.py [--positions 512] [--vocab 128256] [--repeats 5]

Prints a table on stderr and JSON on stdout. Goal (issue 5): at least 5x faster than numpy.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import lockstep
from timing import emit_json, interleaved, median, print_table


def numpy_metrics(a: np.ndarray, b: np.ndarray, next_tokens: np.ndarray, k: int = 10) -> dict[str, np.ndarray]:
    """The same metrics, written the obvious way with numpy (float64 where lockstep uses it)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    diff = a64 - b64
    log_p = a64 - a64.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    log_q = b64 - b64.max(axis=1, keepdims=True)
    log_q -= np.log(np.exp(log_q).sum(axis=1, keepdims=True))
    rows = np.arange(len(a))
    top_a = np.argpartition(-a, k, axis=1)[:, :k]  # the k largest, in no particular order
    top_b = np.argpartition(-b, k, axis=1)[:, :k]
    overlap = np.array([len(np.intersect1d(x, y)) / k for x, y in zip(top_a, top_b)])
    return {
        "kl": (np.exp(log_p) * (log_p - log_q)).sum(axis=1),
        "cosine": (a64 * b64).sum(axis=1) / np.sqrt((a64**2).sum(axis=1) * (b64**2).sum(axis=1)),
        "nmse": (diff**2).sum(axis=1) / (a64**2).sum(axis=1),
        "max_abs_diff": np.abs(diff).max(axis=1),
        "top1_a": a.argmax(axis=1),
        "top1_b": b.argmax(axis=1),
        "topk_overlap": overlap,
        "nll_a": -log_p[rows, next_tokens],
        "nll_b": -log_q[rows, next_tokens],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--positions", type=int, default=512)
    parser.add_argument("--vocab", type=int, default=128256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    a = (rng.standard_normal((args.positions, args.vocab)) * 3).astype(np.float32)
    b = (a + rng.standard_normal(a.shape).astype(np.float32) * 0.01).astype(np.float32)
    next_tokens = rng.integers(0, args.vocab, args.positions, dtype=np.int32)

    # Same answers first: a benchmark of a wrong result is worthless.
    ours, theirs = lockstep.compare_logits(a, b, next_tokens), numpy_metrics(a, b, next_tokens)
    for name in ("kl", "cosine", "nmse", "nll_b"):
        np.testing.assert_allclose(ours.columns[name], theirs[name], rtol=1e-6, atol=1e-12)

    times = interleaved(
        {"lockstep": lambda: lockstep.compare_logits(a, b, next_tokens), "numpy": lambda: numpy_metrics(a, b, next_tokens)},
        repeats=args.repeats,
    )
    t_ours, t_numpy = median(times["lockstep"]), median(times["numpy"])
    print_table(
        f"compare_logits on [{args.positions}, {args.vocab}] float32, {os.cpu_count()} cores, median of {args.repeats}",
        ["implementation", "seconds", "speedup vs numpy"],
        [["lockstep", t_ours, t_numpy / t_ours], ["numpy", t_numpy, 1.0]],
    )
    emit_json({
        "benchmark": "compare_logits", "shape": [args.positions, args.vocab], "repeats": args.repeats,
        "seconds": {"lockstep": t_ours, "numpy": t_numpy}, "speedup": t_numpy / t_ours, "goal_speedup": 5.0,
    })


if __name__ == "__main__":
    main()
