"""Divergence of two backends over a text corpus, scored as `llama-perplexity --kl-divergence`
scores it (tools/perplexity/perplexity.cpp).

The corpus is tokenized once per backend (with the vocabulary's BOS, special-token text not
parsed); the token ids must be equal on both (the gate), or nothing is scored. The tokens are
cut into windows of ``ctx``; each window is evaluated from an empty context, its first token
replaced by BOS when the vocabulary adds one; the second half of each window is scored (rows
ctx/2 .. ctx-2, each predicting the next token), so every scored token has at least ctx/2
tokens of context. Per scored token: KL(reference ‖ test), both NLLs, Δp = p_test - p_ref of
the actual next token, and whether the top-1 tokens agree; the statistics are
lockstep.dispatch.corpus_statistics'.

One difference from llama-perplexity: it stores the base model's log-probabilities as 16-bit
values and sums KL only over tokens with log-probability above -16; here both sides are the
exact float32 logits.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lockstep.backends.capture import Capturing
from lockstep.backends.loading import load
from lockstep.dispatch.corpus_statistics import divergence_statistics
from lockstep.dispatch.localization import localize_between
from lockstep.dispatch.metrics import compare_logits
from lockstep.dispatch.specs import BACKEND_SETS, BackendSpec, labels_for
from lockstep.errors import CorpusTokenMismatch, UsageError

_CONTEXT_OPTIONS = {"native": "n_ctx", "llama.cpp": "n_ctx"}


@dataclass
class CorpusDivergence:
    model: str
    reference: str
    test: str
    versions: dict[str, str]
    ctx: int
    n_tokens: int
    n_windows: int
    statistics: dict[str, float]
    positions: dict[str, np.ndarray]  # per scored token: window, position, token, kld, delta_p, nll_*, same_top
    worst_window: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "reference": self.reference, "test": self.test, "versions": self.versions,
                "ctx": self.ctx, "n_tokens": self.n_tokens, "n_windows": self.n_windows,
                "statistics": self.statistics, "worst_window": self.worst_window}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.positions)


def corpus_divergence(
    model: str | os.PathLike,
    corpus: str | os.PathLike,
    backends: str | Sequence[str] = "both",
    ctx: int = 512,
    *,
    n_threads: int | None = None,
    max_windows: int | None = None,
    localize: bool = True,
) -> CorpusDivergence:
    """Score `corpus` (a text file's path, or the text) on two backends of `model`.

    ``backends``: "both" (llama.cpp as the reference, native) or two backends, reference first,
    each NAME or NAME=MODEL_PATH (another file on that backend: a quantization of the same
    model against its reference, as ``llama-perplexity --kl-divergence`` compares them).
    Raises CorpusTokenMismatch (exit 2) when the backends tokenize the corpus differently or
    their vocabularies differ in size, UsageError when the corpus has fewer than ``ctx`` tokens.
    ``localize``: compare the worst window layer by layer across the two backends, as crossval
    localizes a pair (its ``worst_window`` gains ``localization`` and ``layer_errors``).
    """
    given = list(BACKEND_SETS.get(backends, (backends,)) if isinstance(backends, str) else backends)
    if len(given) == 1 and isinstance(given[0], str) and "," in given[0]:
        given = [n.strip() for n in given[0].split(",")]
    if len(given) != 2:
        raise UsageError(f"kld compares two backends (reference first), got {given}")
    if ctx < 4:
        raise UsageError(f"--ctx must be at least 4 tokens, got {ctx}")
    try:
        specs = [BackendSpec.parse(str(b)) for b in given]
    except ValueError as error:
        raise UsageError(str(error)) from error
    files = [(spec.name, Path(spec.model if spec.model is not None else model)) for spec in specs]
    names = labels_for(files, Path(model))
    text = _corpus_text(corpus)
    engines = [load(path, backend=name, n_threads=n_threads, **({_CONTEXT_OPTIONS[name]: ctx}
                                                                 if name in _CONTEXT_OPTIONS else {}))
               for name, path in files]
    reference, test = engines
    tokens = _gated_tokens(reference, test, text, names)
    n_windows = len(tokens) // ctx
    if max_windows is not None:
        n_windows = min(n_windows, max_windows)
    if n_windows < 1:
        raise UsageError(f"the corpus has {len(tokens)} tokens, fewer than one window of --ctx {ctx}")
    bos = reference.bos_id()
    add_bos = bos >= 0 and len(tokens) > 0 and int(tokens[0]) == bos
    first = ctx // 2
    columns: dict[str, list[np.ndarray]] = {k: [] for k in
                                            ("window", "position", "token", "kld", "delta_p", "nll_base", "nll_test",
                                             "same_top")}
    for window in range(n_windows):
        ids = _window_ids(tokens, window, ctx, bos if add_bos else None)
        targets = np.array(tokens[window * ctx + first + 1:(window + 1) * ctx], dtype=np.int32)
        base_rows = np.array(reference.logits(ids)[first:ctx - 1], copy=True)  # the next call may reuse its buffer
        metrics = compare_logits(base_rows, test.logits(ids)[first:ctx - 1], targets, top_k=1, n_threads=n_threads)
        c = metrics.columns
        columns["window"].append(np.full(len(targets), window))
        columns["position"].append(np.arange(first, ctx - 1))
        columns["token"].append(targets)
        columns["kld"].append(c["kl"])
        columns["delta_p"].append(c["p_next_b"] - c["p_next_a"])
        columns["nll_base"].append(c["nll_a"])
        columns["nll_test"].append(c["nll_b"])
        columns["same_top"].append(c["top1_a"] == c["top1_b"])
    positions = {k: np.concatenate(v) for k, v in columns.items()}
    worst = _worst_window(positions, reference, ctx)
    if localize:
        worst.update(_localize_window(names, engines, _window_ids(tokens, worst["window"], ctx, bos if add_bos else None)))
    statistics = divergence_statistics(positions["nll_base"], positions["nll_test"], positions["kld"],
                                       positions["delta_p"], positions["same_top"])
    return CorpusDivergence(
        model=str(model), reference=names[0], test=names[1],
        versions={name: engine.version() for name, engine in zip(names, engines)},
        ctx=ctx, n_tokens=len(tokens), n_windows=n_windows, statistics=statistics, positions=positions,
        worst_window=worst,
    )


def _window_ids(tokens: np.ndarray, window: int, ctx: int, bos: int | None) -> np.ndarray:
    """A window's ids as it is evaluated: from an empty context, its first token BOS when the
    vocabulary adds one."""
    ids = np.array(tokens[window * ctx:(window + 1) * ctx], dtype=np.int32)
    if bos is not None:
        ids[0] = bos
    return ids


def _localize_window(names: list[str], engines: list[Any], ids: np.ndarray) -> dict[str, Any]:
    """The worst window compared layer by layer across the backends (localization.localize_between):
    ``localization`` (None when no block exceeds its floor) and ``layer_errors`` (None when
    neither backend can anchor on the other)."""
    states: dict[str, Any] = {}

    def free_states(label: str):
        if label not in states:
            engine = engines[names.index(label)]
            states[label] = engine.capture(ids) if isinstance(engine, Capturing) else None
        return states[label]

    compared = localize_between((names[0], engines[0]), (names[1], engines[1]), free_states, lambda _: ids)
    if compared is None:
        return {"localization": None, "layer_errors": None}
    return {"localization": compared.localization, "layer_errors": compared.table}


def _corpus_text(corpus: str | os.PathLike) -> str:
    path = Path(corpus)
    try:
        if isinstance(corpus, os.PathLike) or (len(str(corpus)) < 4096 and "\n" not in str(corpus) and path.is_file()):
            return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read the corpus ({error})") from error
    return str(corpus)


def _gated_tokens(reference, test, text: str, names: list[str]) -> np.ndarray:
    """The corpus's ids, the same on both backends, or CorpusTokenMismatch saying where they differ."""
    a = np.asarray(reference.tokenize(text, add_special=True, parse_special=False))
    b = np.asarray(test.tokenize(text, add_special=True, parse_special=False))
    if reference.vocab_size() != test.vocab_size():
        raise CorpusTokenMismatch(f"the vocabularies differ in size: {names[0]} {reference.vocab_size()}, "
                                  f"{names[1]} {test.vocab_size()} tokens; windows cannot be compared")
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    if len(differ) or len(a) != len(b):
        index = int(differ[0]) if len(differ) else n
        piece = lambda engine, ids: repr(engine.token_piece(int(ids[index]))) if index < len(ids) else "(end)"
        raise CorpusTokenMismatch(
            f"the backends tokenize the corpus differently from token {index} on ({len(a)} tokens on {names[0]}, "
            f"{len(b)} on {names[1]}): {names[0]} has {piece(reference, a)}, {names[1]} has {piece(test, b)}. "
            "No window is scored: the same text would be different inputs")
    return a


def _worst_window(positions: dict[str, np.ndarray], reference, ctx: int) -> dict[str, Any]:
    """The window with the largest mean KLD, its worst token and the text around it."""
    windows = positions["window"]
    means = np.bincount(windows, weights=positions["kld"]) / np.bincount(windows)
    worst = int(np.argmax(means))
    rows = np.flatnonzero(windows == worst)
    at = int(rows[np.argmax(positions["kld"][rows])])
    position = int(positions["position"][at])
    return {"window": worst, "tokens": [worst * ctx, (worst + 1) * ctx], "mean_kld": float(means[worst]),
            "max_kld": float(positions["kld"][at]), "position": position, "token_index": worst * ctx + position + 1,
            "token": reference.token_piece(int(positions["token"][at])).decode("utf-8", errors="backslashreplace")}
