"""`lockstep inspect PATH [--json]`: what a model is and which backends can run it.

The report (a table, or JSON with --json) goes to stdout; warnings go to stderr. Exit 0 when
the format was recognised (even if no backend runs it: the report says what to convert it
to), 5 when the file is unreadable, malformed or of an unknown format.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lockstep.cli.registry import command
from lockstep.errors import ExitCode
from lockstep.inspection.model_info import ModelInfo
from lockstep.routing.inspect import inspect


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="a model file (GGUF, safetensors, ...) or a model folder")
    parser.add_argument("--json", action="store_true", help="print stable JSON (docs/inspect-json.md) instead of a table")


@command("inspect", _configure)
def run(args: argparse.Namespace) -> int:
    """Show what a model file or folder is and which backends can run it."""
    info = inspect(args.path)
    for warning in info.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(info.to_dict(), sort_keys=True, indent=2, ensure_ascii=False))
    else:
        # Not a terminal (logs, files): wide enough that the routes table stays readable.
        _print_report(info, Console(width=None if sys.stdout.isatty() else 120, highlight=False))
    return ExitCode.BAD_MODEL_FILE if info.format == "unknown" else ExitCode.OK


def _print_report(info: ModelInfo, console: Console) -> None:
    summary = Table(title=Text(f"lockstep inspect {info.path}"), show_header=False, title_justify="left")
    summary.add_column("field", style="bold")
    summary.add_column("value", overflow="fold")

    def add(field: str, value: str) -> None:
        summary.add_row(field, Text(value))  # Text: values are data, never rich markup

    add("format", f"{info.format} — {info.format_detail}")
    if info.weight_files:
        add("weight files", ", ".join(info.weight_files))
    add("architecture", _or_unknown(info.architecture) + (f" ({', '.join(info.hf_architectures)})" if info.hf_architectures else ""))
    add("task", _or_unknown(info.task))
    add("parameters", _count(info.n_params))
    add("tensors", f"{_count(info.n_tensors)}, {_bytes(info.tensor_bytes)}")
    add("BitNet b1.58", f"yes ({info.bitnet_evidence})" if info.is_bitnet else "no")
    if info.ffn_activation:
        add("feed-forward activation", f"{info.ffn_activation} ({info.ffn_activation_source})")
    tokenizer = info.tokenizer
    add(
        "tokenizer",
        f"{tokenizer.kind.upper()}, {_count(tokenizer.vocab_size)} tokens ({tokenizer.source})" if tokenizer else "none found",
    )
    add("chat template", f"embedded ({info.chat_template_source})" if info.has_chat_template else "none")
    if info.context_length is not None:
        add("context length", f"{info.context_length:,}")
    console.print(summary)

    if info.tensor_types:
        types = Table(title="tensor types", title_justify="left")
        for column in ("type", "tensors", "elements", "bytes"):
            types.add_column(column, justify="left" if column == "type" else "right")
        for stat in info.tensor_types:
            types.add_row(Text(stat.type), f"{stat.count:,}", f"{stat.n_elements:,}", f"{stat.nbytes:,}")
        console.print(types)

    if info.routes:
        routes = Table(title="routes (in order)", title_justify="left")
        for column in ("backend", "why", "ready here"):
            routes.add_column(column, overflow="fold")
        for item in info.routes:
            preflight = item.preflight
            if preflight.ok:
                ready = f"yes ({preflight.version})" + (f"; {preflight.message}" if preflight.message != "ready" else "")
            else:
                ready = f"no: {preflight.message}"
            routes.add_row(Text(item.backend), Text(item.reason), Text(ready))
        console.print(routes)
    if info.route_error:
        console.print(Text.assemble(("no route: ", "bold"), info.route_error))


def _or_unknown(value: str | None) -> str:
    return value if value else "unknown"


def _count(value: int | None) -> str:
    return f"{value:,}" if value is not None else "unknown"


def _bytes(value: int | None) -> str:
    if value is None:
        return "unknown bytes"
    return f"{value:,} bytes ({value / 2**20:,.1f} MiB)"
