"""Human-readable crossval reports: rich tables, written to stderr by the CLI."""

from __future__ import annotations

import io
import sys
from collections.abc import Collection, Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table

from lockstep.dispatch.metrics import LogitComparison
from lockstep.dispatch.report import CrossvalReport, PairReport

_VERDICTS = {0: "[green]PASS[/]: every stage within its limits (prompt, steps, hidden states)",
             1: "[red]DIVERGED[/]: a stage parted beyond its limits",
             2: "[red]TOKEN MISMATCH[/]: the backends tokenized the prompt differently"}


def print_report(report: CrossvalReport, file: TextIO = sys.stderr, max_rows: int = 40) -> None:
    # Not a terminal (CI logs, files): wide enough that the metrics table is not truncated.
    width = None if file.isatty() else 160
    console = Console(file=file, highlight=False, soft_wrap=True, width=width)
    console.print(f"[bold]model[/] {report.model}  sha256 {report.model_sha256[:16]}…")
    for b in report.backends:
        model = "" if b["model"]["sha256"] == report.model_sha256 else (
            f" on {b['model']['path']} (sha256 {b['model']['sha256'][:16]}…)")
        console.print(f"[bold]backend[/] {b['label']}: {b['version']}{model}")
    console.print(f"[bold]reference[/] {report.backends[0]['label']}")
    if line := activation_line(report.activation_checks):
        console.print(line)
    console.print(f"[bold]template[/] {report.prompt.template} ({report.prompt.reason})")
    for note in report.prompt.notes:
        console.print(f"  [yellow]note[/] {note}")
    for label, text in report.texts.items():
        console.print(f"  [yellow]note[/] {label} rendered its own model file's chat template: {text!r} "
                      f"(the crossval's model: {report.prompt.text!r})")

    if report.token_mismatch is not None:
        _print_mismatch(console, report.token_mismatch)
    else:
        ids = next(iter(report.tokens.values()))
        console.print(f"[bold]tokens[/] {len(ids)} identical on every backend")
        for pair in report.pairs + report.cross_pairs:
            _print_pair(console, pair, max_rows)
        loc = report.fault_localization
        if loc:
            console.print(f"[bold]fault[/] {loc['fault']} first shows in {loc['backend']} at layer {loc['layer']} "
                          f"({loc['point']}), position {loc['position']}, against a clean run of the engine")
        if report.odd_one_out:
            console.print(f"[bold]triangulation[/]: [red]{report.odd_one_out}[/] disagrees with the others, which agree")
    if report.noise_floor_note:
        console.print(f"  [yellow]note[/] {report.noise_floor_note}")
    console.print(f"[bold]verdict[/] {_VERDICTS.get(report.exit_code, report.exit_code)} (exit {report.exit_code})")


def activation_line(checks: Sequence[dict]) -> str:
    """One line on the activation checks: the disagreements, else what every backend runs."""
    wrong = [c["message"] for c in checks if c["agrees"] is False]
    if wrong:
        return "[bold]activation[/] [red]" + "; ".join(wrong) + "[/]"
    agreeing = [c for c in checks if c["agrees"]]
    if not agreeing:
        return ""
    unchecked = [c["backend"] for c in checks if c["agrees"] is None]
    return (f"[bold]activation[/] {agreeing[0]['declared']} ({agreeing[0]['declared_by']}): run by "
            f"{', '.join(c['backend'] for c in agreeing)}" + (f"; not checked: {', '.join(unchecked)}" if unchecked else ""))


def _print_mismatch(console: Console, m: dict) -> None:
    console.print(f"[red]token mismatch at index {m['index']}[/]: {m['cause']} — {m['explanation']}")
    table = Table("backend", "id", "piece", "id on the other side", f"context from index {m['window_start']}")
    for side in (m["a"], m["b"]):
        context = " ".join(f"{i}:{p!r}" for i, p in zip(side["window_ids"], side["window_pieces"]))
        counterpart = "—" if side["counterpart"] < 0 else str(side["counterpart"])
        table.add_row(side["backend"], str(side["id"]), repr(side["piece"]), counterpart, context)
    console.print(table)


def _print_pair(console: Console, pair: PairReport, max_rows: int) -> None:
    s = pair.metrics.summary()
    if pair.first_divergence is not None:
        status = f"[red]diverges at position {pair.first_divergence}[/]: {pair.divergence_reason}"
    elif pair.teacher_forced_first_divergence is not None:
        status = (f"[red]diverges at teacher-forced step {pair.teacher_forced_first_divergence}[/] "
                  "(the prompt's positions are within thresholds)")
    else:
        status = "[green]within thresholds[/]"
    t = pair.thresholds
    console.print(
        f"[bold]{pair.test} vs {pair.reference}[/]: {status}\n"
        f"  {pair.precision_class} thresholds: cosine ≥ {t['min_cosine']:g}, NMSE ≤ {t['max_nmse']:g}, "
        f"KL ≤ {t['max_kl']:g}, top-1 margin ≤ {t['top1_margin']:g}\n"
        f"  mean KL {s['mean_kl']:.3g}  p99 KL {s['p99_kl']:.3g}  top-1 agreement {s['top1_agreement']:.3f}  "
        f"min cosine {s['min_cosine']:.6f}  max |Δ| {s['max_abs_diff']:.3g}"
    )
    a = pair.alignment
    if not a["identical"]:
        console.print(
            f"  [yellow]vocabularies differ[/] ({a['reference_size']} vs {a['test_size']} tokens): compared on "
            f"{a['aligned']} aligned tokens; {a['unaligned_reference']} of {pair.reference} "
            f"(e.g. {', '.join(map(repr, a['examples_reference'][:3])) or '—'}) and {a['unaligned_test']} of "
            f"{pair.test} (e.g. {', '.join(map(repr, a['examples_test'][:3])) or '—'}) have no counterpart; "
            f"most probability on them: {a['max_unaligned_mass_reference']:.2g} / {a['max_unaligned_mass_test']:.2g}"
        )
    floor = pair.noise_floor
    if floor is not None:
        verdict = "[red]above[/]" if floor["overall_diverged"] else "within"
        console.print(f"  divergence = {floor['pair_times_floor']:.2f}× noise floor (mean KL over the control's "
                      f"{floor['mean_kl']:.2g}; {verdict} the {floor['overall_times_floor']:g}× limit); control: "
                      f"{floor['control']}, thresholds {floor['times_floor']:g}× its worst position")
    console.print(position_table(pair.metrics, pair.first_divergence, max_rows))
    loc = pair.localization
    if loc:
        console.print(
            f"  [bold]localized[/] at layer {loc['layer']} {loc['point']}, position {loc['position']}: "
            f"that block's error {loc['error']:.2g} is {loc['times_floor']:.3g}× the pair's floor {loc['floor']:.2g} "
            f"({loc['anchored']} recomputed each layer from {loc['anchors_from']}'s hidden states)"
        )
    if pair.teacher_forced is not None:
        t = pair.teacher_forced.summary()
        console.print(
            f"  {len(pair.teacher_forced)} teacher-forced steps: mean KL {t['mean_kl']:.3g}, top-1 agreement "
            f"{t['top1_agreement']:.3f}; free-running greedy agrees for {pair.free_running_agreement} tokens"
        )
        first = pair.teacher_forced_first_divergence
        console.print(position_table(pair.teacher_forced, first, max_rows))
        for split in pair.greedy_splits:
            kind = "[yellow]tie flip[/] (re-anchored)" if split["tie"] else "[red]split[/]"
            console.print(f"  step {split['step']}: {kind}: reference {split['reference_token']}, "
                          f"test {split['test_token']}, reference margin {split['margin']:.3f} "
                          f"(tie within {pair.thresholds['top1_margin']:.3g})")


def position_table(metrics: LogitComparison, first_divergence: int | None, max_rows: int = 40, *,
                   rows: Sequence[int] | None = None, failing: Collection[int] = (),
                   top1_header: str = "top-1 ref/test") -> Table:
    """The per-position metrics table: every row up to `max_rows`, else the first and last
    halves (or exactly `rows`). Rows from `first_divergence` on are red; rows in `failing`
    also carry a ✗, which survives plain text (CI logs, assertion messages)."""
    table = Table("pos", "cosine", "max |Δ|", "NMSE", "KL", top1_header, "top-k", "τ-b", "Δp next", show_lines=False)
    columns = metrics.columns
    n = len(metrics)
    if rows is None:
        rows = range(n) if n <= max_rows else list(range(max_rows // 2)) + list(range(n - max_rows // 2, n))
    for i in rows:
        mark = "[red]" if first_divergence is not None and i >= first_divergence else ""
        end = "[/]" if mark else ""
        flag = " ✗" if i in failing else ""
        dp = columns["p_next_b"][i] - columns["p_next_a"][i]
        table.add_row(
            f"{mark}{i}{flag}{end}", f"{columns['cosine'][i]:.6f}", f"{columns['max_abs_diff'][i]:.3g}",
            f"{columns['nmse'][i]:.2e}", f"{columns['kl'][i]:.2e}", f"{columns['top1_a'][i]}/{columns['top1_b'][i]}",
            f"{columns['topk_overlap'][i]:.2f}", f"{columns['kendall_tau'][i]:.3f}",
            "—" if dp != dp else f"{dp:+.4f}",
        )
    return table


def plain_text(*renderables, width: int = 160) -> str:
    """Renderables (tables, markup strings) as plain text: no colour codes, not truncated."""
    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, soft_wrap=True, width=width, color_system=None)
    for renderable in renderables:
        console.print(renderable)
    return buffer.getvalue()
