"""Every subcommand module; importing this registers them all (lockstep.cli.registry)."""

from lockstep.cli import convert, crossval, generate, inspect, zoo

__all__ = ["convert", "crossval", "generate", "inspect", "zoo"]
