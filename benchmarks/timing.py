"""Shared timing for the benchmarks: interleaved runs, medians, a table on stderr and JSON on stdout."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Mapping


def interleaved(candidates: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time each candidate `repeats` times, alternating between them so that drift in machine
    load falls on all of them alike. Returns seconds per run for each candidate."""
    for _ in range(warmup):
        for run in candidates.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    """A plain fixed-width table on stderr (stdout is kept for JSON)."""
    cells = [header] + [[f"{c:.4g}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(title, file=sys.stderr)
    for index, row in enumerate(cells):
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths)), file=sys.stderr)
        if index == 0:
            print("  ".join("-" * width for width in widths), file=sys.stderr)


def emit_json(payload: object) -> None:
    json.dump(payload, sys.stdout, indent=2)
    sys.stdout.write("\n")
