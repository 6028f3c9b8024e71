"""The subcommands of `lockstep`: each command module registers its flags and its run
function here with @command; main() builds the parser from what is registered."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Command = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]
COMMANDS: dict[str, tuple[Configure, Command]] = {}


def command(name: str, configure: Configure):
    """Register a subcommand: `configure` adds its flags, the decorated function runs it and
    returns an exit code; exceptions it raises are mapped by lockstep.errors.EXIT_CODES."""

    def decorate(run: Command) -> Command:
        COMMANDS[name] = (configure, run)
        return run

    return decorate
