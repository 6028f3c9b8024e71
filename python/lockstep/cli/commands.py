"""Every subcommand module; importing this registers them all (lockstep.cli.registry)."""

from lockstep.cli import convert, crossval, generate, inspect, kld, zoo

__all__ = ["convert", "crossval", "generate", "inspect", "kld", "zoo"]
