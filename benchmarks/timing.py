"""Shared timing for the benchmarks: interleaved runs, medians, a table on stderr and JSON on stdout."""

from __future__ import annotations

import json
import sys

# The interleaved timing and its median live in the package, shared with `lockstep bench`.
from lockstep.backends.speed import interleaved, median

__all__ = ["emit_json", "interleaved", "median", "print_table"]


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
