"""Per-position metrics between two logit arrays, computed in C++ over the caller's buffers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lockstep import _core

# The columns, from the one C++ list (src/bindings/metrics_columns.h).
METRICS: tuple[str, ...] = _core.METRIC_COLUMNS


@dataclass(frozen=True)
class LogitComparison:
    """Metrics of test logits ``b`` against reference logits ``a``, one value per position.

    ``columns[name]`` is an array over positions for each name in :data:`METRICS`; ``kl`` is
    KL(softmax(a) ‖ softmax(b)) in nats, ``nmse`` is Σ(a−b)²/Σa², ``kendall_tau`` is τ-b over
    the union of both top-k sets, and the ``*_next_*`` columns (NaN where the next token is
    unknown) are of the actual next token.
    """

    columns: dict[str, np.ndarray]
    top_k: int

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise AttributeError(name) from None

    def __len__(self) -> int:
        return len(self.columns["kl"])

    @property
    def top1_agree(self) -> np.ndarray:
        return self.columns["top1_a"] == self.columns["top1_b"]

    def summary(self) -> dict[str, float]:
        kl = self.columns["kl"]
        return {
            "positions": len(self),
            "mean_kl": float(kl.mean()) if len(kl) else 0.0,
            "p99_kl": float(np.percentile(kl, 99)) if len(kl) else 0.0,
            "max_kl": float(kl.max()) if len(kl) else 0.0,
            "top1_agreement": float(self.top1_agree.mean()) if len(kl) else 1.0,
            "min_cosine": float(self.columns["cosine"].min()) if len(kl) else 1.0,
            "max_abs_diff": float(self.columns["max_abs_diff"].max()) if len(kl) else 0.0,
            "max_nmse": float(self.columns["nmse"].max()) if len(kl) else 0.0,
            "mean_topk_overlap": float(self.columns["topk_overlap"].mean()) if len(kl) else 1.0,
        }

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame(self.columns)
        frame.insert(0, "position", np.arange(len(self)))
        frame["top1_agree"] = self.top1_agree
        return frame


def compare_logits(
    a: np.ndarray,
    b: np.ndarray,
    next_tokens: np.ndarray | None = None,
    *,
    top_k: int = 10,
    n_threads: int | None = None,
    isa: str | None = None,
) -> LogitComparison:
    """Compare test logits ``b`` against reference logits ``a`` (both ``[positions, vocab]``).

    float32 C-contiguous input is used in place; anything else is converted once.
    ``next_tokens`` (one id per position, -1 for unknown) adds the next token's Δp and NLL.
    ``isa`` picks the kernels' instruction set ("scalar", "sse4.2", "avx2", "avx512"; None: the best).
    """
    columns = _core.compare_logits(a, b, next_tokens, top_k, n_threads or 0, isa or "")
    return LogitComparison(columns=columns, top_k=top_k)
