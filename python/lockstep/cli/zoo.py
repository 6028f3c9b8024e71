"""`lockstep zoo`: crossval over models x prompts x backend pairs (and a corpus scored as
`lockstep kld` scores it), one row per cell, written as Parquet (and CSV); resumable, here or
on a Dask cluster."""

from __future__ import annotations

import argparse
import sys

from lockstep.cli.registry import command
from lockstep.errors import UsageError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", nargs="+", required=True, metavar="PATH",
                        help="GGUF files, Hugging Face folders, or folders to search for them")
    parser.add_argument("--prompts", metavar="FILE",
                        help="one prompt a line, or .jsonl: strings, {\"prompt\": ...} or {\"messages\": [...]}")
    parser.add_argument("--corpus", metavar="FILE.txt",
                        help="also score every model over this text, as lockstep kld does (one cell per model and pair)")
    parser.add_argument("--ctx", type=int, default=512, help="with --corpus: tokens per window")
    parser.add_argument("--chunks", type=int, default=None, help="with --corpus: score at most this many windows")
    parser.add_argument("--backends", default=None, metavar="LIST",
                        help="comma-separated backends, reference first (default: llama.cpp,native,hf); per model, "
                             "those that can run it are compared")
    parser.add_argument("--out", default="zoo.parquet", metavar="FILE.parquet", help="the rows, as Parquet")
    parser.add_argument("--csv", metavar="FILE.csv", help="the rows as CSV too")
    parser.add_argument("--store", metavar="DIR", help="where finished cells are kept (default: OUT's name + .cells)")
    parser.add_argument("--scheduler", metavar="local:N|tcp://HOST:PORT",
                        help="run the cells on Dask: a LocalCluster of N workers, or a running cluster")
    parser.add_argument("--force", action="store_true", help="recompute cells already in the store")
    parser.add_argument("--threads", type=int, default=None, help="threads per engine")


@command("zoo", _configure)
def run(args: argparse.Namespace) -> int:
    """Compare backends over a zoo of models and prompts (one row per cell)."""
    from lockstep.zoo.sweep import sweep_exit_code, zoo

    if args.prompts is None and args.corpus is None:
        raise UsageError("lockstep zoo needs --prompts FILE, --corpus FILE.txt, or both")
    frame = zoo(args.models, args.prompts, backends=args.backends, out=args.out, scheduler=args.scheduler,
                corpus=args.corpus, ctx=args.ctx, chunks=args.chunks, csv=args.csv, force=args.force,
                store=args.store, n_threads=args.threads, file=sys.stderr)
    return sweep_exit_code(frame)
