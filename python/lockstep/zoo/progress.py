"""What a sweep shows on stderr: a rich progress bar while it runs (cells done of all, the
model it is on, the time left), then the summary table per model."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


def console_for(file: TextIO | None = None) -> Console:
    file = file or sys.stderr
    # Not a terminal (CI logs, files): wide enough that the table is not truncated.
    return Console(file=file, highlight=False, soft_wrap=True, width=None if file.isatty() else 160)


def sweep_progress(console: Console, disable: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]zoo[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("cells"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"),
        console=console, transient=False, disable=disable,
    )


def summary_table(frame) -> Table:
    """Per model: how many cells of each verdict, and the worst KL any of its pairs reached."""
    table = Table("model", "architecture", "quant", "cells", "pass", "diverged", "token mismatch", "error",
                  "worst mean KL", "worst max KL", title="lockstep zoo")
    for model, rows in frame.groupby("model", sort=False):
        verdicts = rows["verdict"].value_counts()
        first = rows.iloc[0]
        table.add_row(
            _short(model), _text(first["architecture"]), _text(first["quant_types"]), str(len(rows)),
            _count(verdicts, "pass", "green"), _count(verdicts, "diverged", "red"),
            _count(verdicts, "token-mismatch", "red"), _count(verdicts, "error", "red"),
            _number(rows["mean_kl"].max()), _number(rows["max_kl"].max()),
        )
    return table


def _count(verdicts, name: str, colour: str) -> str:
    n = int(verdicts.get(name, 0))
    return f"[{colour}]{n}[/]" if n else "0"


def _text(value) -> str:
    return "—" if value is None or value != value or value == "" else str(value)  # None and NaN: unknown


def _number(value) -> str:
    return "—" if value is None or value != value else f"{float(value):.3g}"


def _short(path: str, width: int = 48) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1):]
