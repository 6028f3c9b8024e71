"""Every subcommand module; importing this registers them all (lockstep.cli.registry)."""

from lockstep.cli import bench, chat, convert, crossval, generate, inspect, kld, receipt, zoo

__all__ = ["bench", "chat", "convert", "crossval", "generate", "inspect", "kld", "receipt", "zoo"]
