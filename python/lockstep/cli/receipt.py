"""`lockstep receipt verify FILE`: run a receipt's run again and say whether it reproduces
(exit 0; 2 when the tokens or the verdict differ)."""

from __future__ import annotations

import argparse
import json
import sys

from lockstep.cli.registry import command
from lockstep.errors import ExitCode


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["verify"], help="verify: re-run and compare")
    parser.add_argument("file", metavar="FILE", help="a receipt written with --receipt-dir")
    parser.add_argument("--threads", type=int, default=None, help="threads of the engine (default: the receipt's)")
    parser.add_argument("--format", choices=["text", "json"], default="text")


@command("receipt", _configure)
def run(args: argparse.Namespace) -> int:
    """Re-run a receipt and check that it reproduces."""
    from lockstep.dispatch.receipt_verify import verify_receipt

    result = verify_receipt(args.file, n_threads=args.threads)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2))
    out = sys.stdout if args.format == "text" else sys.stderr
    print(f"{result.path}: {result.kind} receipt", file=out)
    for what, same, detail in result.checks:
        print(f"  {'same' if same else 'DIFFERENT':9}  {what}: {detail}", file=out)
    print(f"  {'timing':<18}{'original':>12}{'again':>12}", file=out)
    for name, before, again in result.timings:
        print(f"  {name:<18}{_number(before):>12}{_number(again):>12}", file=out)
    print("REPRODUCED" if result.reproduced else "NOT REPRODUCED", file=out)
    return ExitCode.OK if result.reproduced else ExitCode.TOKEN_MISMATCH


def _number(value) -> str:
    return "-" if value is None else f"{value:.1f}"
