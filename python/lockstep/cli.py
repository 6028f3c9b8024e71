"""The `lockstep` command line. Each subcommand parses its flags here and hands off to the
module that does the work; exit codes follow lockstep.exit_codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from lockstep.exit_codes import ExitCode


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage; 2 means token mismatch here, so raise instead."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}")


Command = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Command]] = {}


def command(name: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register a subcommand: `configure` adds its flags, the decorated function runs it."""

    def decorate(run: Command) -> Command:
        _COMMANDS[name] = (configure, run)
        return run

    return decorate


def build_parser() -> argparse.ArgumentParser:
    import lockstep.commands  # noqa: F401  (registers the subcommands)

    parser = _Parser(prog="lockstep", description="Run a language model on several backends and compare them.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (configure, run) in _COMMANDS.items():
        sub = subparsers.add_parser(name, help=(run.__doc__ or "").strip().splitlines()[0])
        configure(sub)
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
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
