"""assert_crossval_passes: a crossval report whose verdict is not PASS, as an assertion message
with the verdict, the first divergence (both top-1 tokens, with pieces), the layer where each
pair first parts (localization) and where an injected fault first shows inside the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lockstep.dispatch.report import CrossvalReport, PairReport
from lockstep.dispatch.report_text import plain_text, position_table
from lockstep.dispatch.thresholds import failed_checks
from lockstep.errors import ExitCode, FormatError
from lockstep.testing.logits import TABLE_ROWS
from lockstep.testing.pieces import describe
from lockstep.testing.tokens import mismatch_message
from lockstep.text.tokenizer import Tokenizer

_VERDICTS: dict[int, str] = {ExitCode.LOGITS_DIVERGED: "DIVERGED", ExitCode.TOKEN_MISMATCH: "TOKEN MISMATCH"}


def assert_crossval_passes(report: CrossvalReport, *, tokenizer: Any = None) -> None:
    """Raise AssertionError unless `report` passed (exit 0). The message names the verdict,
    every diverging pair's first position with both top-1 tokens, and the fault's localization.
    `tokenizer` gives the pieces (default: the reference backend's model file's own)."""
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    if report.passed:
        return
    verdict = f"crossval {_VERDICTS.get(report.exit_code, 'FAILED')} (exit {report.exit_code}) on {report.model}"
    if report.token_mismatch is not None:
        m = report.token_mismatch
        n_a, n_b = (len(report.tokens[side["backend"]]) for side in (m["a"], m["b"]))
        raise AssertionError(mismatch_message(m, n_a, n_b, title=f"{verdict}: the backends tokenized the prompt "
                                                                 "differently"))
    tokenizer = tokenizer if tokenizer is not None else _reference_tokenizer(report)
    reference_ids = report.tokens[report.backends[0]["label"]]
    lines = [verdict, ""]
    tables = []
    for pair in report.pairs + report.cross_pairs:
        first = pair.first_divergence
        if first is None:  # the pair passed
            continue
        lines += _pair_lines(pair, first, reference_ids, tokenizer)
        part = pair.localization
        if part:
            lines.append(f"  localized at layer {part['layer']} {part['point']}, position {part['position']}: that block's "
                         f"error {part['error']:.2g} is {part['times_floor']:.3g}x the pair's floor {part['floor']:.2g} "
                         f"({part['anchored']} recomputed each layer from {part['anchors_from']}'s hidden states)")
        tables.append(f"{pair.test} vs {pair.reference}:")
        tables.append(_pair_table(pair, first))
    if report.odd_one_out:
        lines.append(f"Triangulation: {report.odd_one_out} disagrees with the others, which agree")
    loc = report.fault_localization
    if loc:
        lines.append(f"Fault {loc['fault']} first shows in {loc['backend']} at layer {loc['layer']} ({loc['point']}), "
                     f"position {loc['position']}, against a clean run of the engine")
    raise AssertionError("\n".join(lines) + "\n\n" + plain_text(*tables).rstrip())


def _pair_lines(pair: PairReport, i: int, reference_ids: list[int], tokenizer: Any) -> list[str]:
    c = pair.metrics.columns
    after = describe(tokenizer, reference_ids[i]) if i < len(reference_ids) else "?"
    return [
        f"{pair.test} vs {pair.reference} diverge at position {i} of {len(pair.metrics)} "
        f"({pair.precision_class} band): {pair.divergence_reason}",
        f"  top-1 after token {after}: {pair.reference} {describe(tokenizer, int(c['top1_a'][i]))}, "
        f"{pair.test} {describe(tokenizer, int(c['top1_b'][i]))}",
        f"  KL {c['kl'][i]:.3g} (up to {pair.thresholds['max_kl']:g}), cosine {c['cosine'][i]:.6f} "
        f"(down to {pair.thresholds['min_cosine']:g}), NMSE {c['nmse'][i]:.3g} (up to {pair.thresholds['max_nmse']:g})",
    ]


def _pair_table(pair: PairReport, first: int):
    n = len(pair.metrics)
    rows = list(range(n)) if n <= TABLE_ROWS else sorted({*range(max(0, first - 3), min(n, first + TABLE_ROWS // 2)),
                                                         n - 1})
    failing = set(np.flatnonzero(failed_checks(pair.metrics.columns, pair.thresholds)).tolist())
    return position_table(pair.metrics, first, rows=rows, failing=failing)


def _reference_tokenizer(report: CrossvalReport) -> Tokenizer | None:
    # Top-1 ids are in the reference's numbering (src/dispatch/crossval.h), so its file's vocabulary.
    path = Path(report.backends[0]["model"]["path"])
    try:
        return Tokenizer.from_file(path if path.is_file() else path / "tokenizer.json")
    except (FormatError, OSError, ValueError):
        return None  # ids without pieces
