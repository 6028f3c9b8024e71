"""The `lockstep` command line: one subcommand per module (registered through
lockstep.cli.registry), one error table (lockstep.errors.EXIT_CODES)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import lockstep.cli.commands  # noqa: F401  (imports every command module, which registers itself)
from lockstep.backends.reference_logs import VERBOSE_VARIABLE
from lockstep.cli.registry import COMMANDS
from lockstep.errors import ExitCode, UsageError, exit_code_for


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage; 2 means token mismatch here, so raise instead."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lockstep", description="Run a language model on several backends and compare them.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (configure, run) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=(run.__doc__ or "").strip().splitlines()[0])
        configure(sub)
        sub.add_argument("--verbose", action="store_true",
                         help="let llama.cpp and transformers print their own logs and progress bars on stderr")
        sub.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(error, file=sys.stderr)
        return ExitCode.USAGE
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    if args.verbose:
        os.environ[VERBOSE_VARIABLE] = "1"
    try:
        return int(args.run(args))
    except Exception as error:
        known = exit_code_for(error)
        if known is None:
            raise
        code, prefix = known
        print(f"lockstep {args.command}: {prefix}{error}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
