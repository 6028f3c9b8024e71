"""`lockstep bench --model M [--backend native|llama.cpp|both]`: prefill and decode tokens/s,
native and llama.cpp side by side on the same file and threads (lockstep.backends.speed), and
the native engine's peak RSS against file + KV cache (lockstep.backends.peak_memory).

The table (or JSON with --format json) goes to stdout, progress to stderr. Exit 3 when
llama.cpp is asked for but not installed (the message gives the install command), 5 for a
missing, malformed or unsupported model, 64 for bad flags.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lockstep.backends.peak_memory import PeakMemory
from lockstep.backends.speed import SpeedReport
from lockstep.cli.registry import command
from lockstep.errors import ExitCode


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="GGUF file (or, for native only, a model folder); default: the default model")
    parser.add_argument("--backend", default="both", help="native, llama.cpp or both (default)")
    parser.add_argument("--pp", type=int, default=512, help="prompt tokens evaluated in one batch (default 512)")
    parser.add_argument("--tg", type=int, default=128, help="tokens generated one at a time (default 128)")
    parser.add_argument("--threads", type=int, default=None, help="threads of both engines (default: all cores)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per engine and test, interleaved (default 3)")
    parser.add_argument("--no-memory", action="store_true", help="skip the native engine's peak-RSS run")
    parser.add_argument("--format", choices=["text", "json"], default="text")


@command("bench", _configure)
def run(args: argparse.Namespace) -> int:
    """Prefill and decode speed of native and llama.cpp on one model, side by side."""
    from pathlib import Path

    from lockstep.backends.peak_memory import measure_peak_memory
    from lockstep.backends.speed import measure_speed, parse_backends
    from lockstep.zoo.known_models import default_model_path

    backends = parse_backends(args.backend)
    path = Path(args.model) if args.model else default_model_path()
    report = measure_speed(path, backends, n_threads=args.threads, pp=args.pp, tg=args.tg, repeats=args.repeats,
                           log=lambda line: print(line, file=sys.stderr))
    memory = None
    if "native" in backends and not args.no_memory:
        memory = measure_peak_memory(path, report.rows[0].threads, report.n_ctx, args.pp, args.tg)
    if args.format == "json":
        print(json.dumps(bench_json(report, memory), indent=2))
    else:
        print_bench(report, memory, Console(width=None if sys.stdout.isatty() else 120, highlight=False))
    return ExitCode.OK


def bench_json(report: SpeedReport, memory: PeakMemory | None) -> dict[str, Any]:
    first = report.rows[0]
    return {"model": first.model, "path": str(first.path), "threads": first.threads, "repeats": first.repeats,
            "n_ctx": report.n_ctx, "versions": report.versions, "results": [row.to_dict() for row in report.rows],
            "memory": memory.to_dict() if memory else None}


def print_bench(report: SpeedReport, memory: PeakMemory | None, console: Console) -> None:
    first = report.rows[0]
    backends = list(report.versions)
    threads = f"{first.threads} thread{'s' if first.threads != 1 else ''}"
    console.print(Text(f"lockstep bench {first.path.name}: {threads}, median of {first.repeats} interleaved runs, tokens/s"))
    table = Table()
    table.add_column("test")
    for backend in backends:
        table.add_column(backend, justify="right")
    if len(backends) == 2:
        table.add_column("ratio native ÷ llama.cpp", justify="right")
    for row in report.rows:
        cells = [row.test] + [f"{row.tokens_per_s(backend):.1f}" for backend in backends]
        if row.ratio is not None:
            cells.append(f"{row.ratio:.2f}")
        table.add_row(*cells)
    console.print(table)
    for backend, version in report.versions.items():
        console.print(Text(f"{backend}: {version}"))
    if memory:
        mib = 1 << 20
        console.print(Text(
            f"native peak RSS {memory.peak_rss_bytes / mib:.1f} MiB = {memory.ratio:.2f} × (file "
            f"{memory.file_bytes / mib:.1f} MiB + KV cache {memory.kv_cache_bytes / mib:.1f} MiB at n_ctx {memory.n_ctx})"))
        console.print(Text(f"  without the interpreter's own {memory.baseline_rss_bytes / mib:.1f} MiB: "
                           f"{memory.engine_rss_bytes / mib:.1f} MiB = {memory.engine_ratio:.2f} ×"))
