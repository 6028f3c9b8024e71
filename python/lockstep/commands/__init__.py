"""The CLI subcommands, one module each; importing this package registers them all."""
from lockstep.commands import convert  # noqa: F401
from lockstep.commands import crossval  # noqa: F401
from lockstep.commands import inspect  # noqa: F401
from lockstep.commands import generate  # noqa: F401
