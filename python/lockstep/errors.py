"""Every exception lockstep raises on purpose, in one place, and the one table that maps each
class to an exit code (:data:`EXIT_CODES`): the CLI exits with it, a zoo sweep records it in
the row of a cell that failed. The Python API raises the same classes.

FormatError is raised by the C++ core (src/formats/errors.h) for any malformed or unreadable
model, tokenizer or tensor data, and by the Python readers for the same kind of fault.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

from lockstep._core import FormatError


class ExitCode(IntEnum):
    """Process exit codes (DESIGN.md, "CLI and exit codes"); a crossval report carries one too.
    EXIT_CODES maps each exception class below to one of them."""

    OK = 0  # success; for crossval: all positions within thresholds
    LOGITS_DIVERGED = 1  # tokens matched, logits did not
    TOKEN_MISMATCH = 2  # the parity gate stopped the run before any logits
    BACKEND_UNAVAILABLE = 3  # the message gives the install command
    TEMPLATE_ERROR = 4
    BAD_MODEL_FILE = 5  # unreadable, malformed, unsupported
    USAGE = 64  # not argparse's default 2, which would read as a token mismatch


class UsageError(ValueError):
    """A command or call that cannot mean anything: bad flags, unknown names (exit 64)."""


class RouteError(ValueError):
    """No backend can run the model, or not the one demanded: unsupported (exit 5); the message
    says why and what to convert it to."""


class BackendUnavailable(RuntimeError):
    """A requested backend cannot run here (exit 3): not installed, the wrong version, or it
    fails at import. The message says why and what to install."""

    def __init__(self, backend: str, reason: str, install_command: str | None = None):
        install = f"; install it with: {install_command}" if install_command and install_command not in reason else ""
        super().__init__(f"backend {backend!r} is unavailable: {reason}{install}")
        self.backend = backend
        self.reason = reason
        self.install_command = install_command


class BackendLoadError(RuntimeError):
    """A backend that is installed could not load its model file (exit 5)."""

    def __init__(self, backend: str, model: Path, cause: BaseException):
        super().__init__(f"{backend} could not load {model}: {type(cause).__name__}: {cause}")
        self.backend = backend
        self.model = model


class TemplateError(ValueError):
    """A prompt template could not be chosen or rendered (exit 4)."""


class ReceiptError(ValueError):
    """A receipt file that is unreadable, not a lockstep receipt, or of a schema version this
    lockstep does not read (docs/receipt-json.md)."""


class ConvertError(ValueError):
    """The input folder cannot be converted: missing or malformed files, an unsupported
    architecture or tokenizer (exit 5, bad model file)."""


class UnsupportedTypeError(UsageError):
    """The requested output type does not apply to this model, e.g. a ternary type for a model
    whose weights are not ternary (exit 64, usage)."""


class CorpusTokenMismatch(ValueError):
    """`lockstep kld`: the backends tokenized the corpus differently, so their windows would
    not hold the same tokens (exit 2, as crossval's token gate)."""


class ConcurrentUseError(RuntimeError):
    """A stateful call (``eval``, ``reset``, ``rewind``, a generation) on a model whose context
    (KV cache) another thread is using at that moment. ``logits(ids)`` never raises it: it
    waits its turn. Give each thread its own model to run them in parallel."""


class NotProtobuf(Exception):
    """The bytes are not the expected protobuf message; `offset` is where that became clear."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"at byte {offset}: {reason}")
        self.offset = offset
        self.reason = reason


def format_error(path: str | Path, offset: int | None, reason: str) -> FormatError:
    """A FormatError naming the file, the byte offset (None: not tied to one place) and the problem."""
    message = f"{path}: {reason}" if offset is None else f"{path}: at byte {offset}: {reason}"
    error = FormatError(message)
    # FormatError is the C++ core's exception class: its fields are plain attributes, the same
    # ones the core sets on the errors it raises.
    for name, value in (("path", str(path)), ("offset", offset), ("reason", reason)):
        setattr(error, name, value)
    return error


EXIT_CODES: tuple[tuple[type[BaseException], ExitCode, str], ...] = (
    # (exception class, exit code, how the message starts). Order matters where classes
    # inherit: the first matching entry wins.
    (BackendUnavailable, ExitCode.BACKEND_UNAVAILABLE, ""),
    (TemplateError, ExitCode.TEMPLATE_ERROR, "template error: "),
    (CorpusTokenMismatch, ExitCode.TOKEN_MISMATCH, "token mismatch: "),
    (UnsupportedTypeError, ExitCode.USAGE, "error: "),
    (UsageError, ExitCode.USAGE, "error: "),
    (ReceiptError, ExitCode.USAGE, "bad receipt: "),
    (RouteError, ExitCode.BAD_MODEL_FILE, "unsupported model: "),
    (FormatError, ExitCode.BAD_MODEL_FILE, "bad model file: "),
    (ConvertError, ExitCode.BAD_MODEL_FILE, "cannot convert: "),
    (BackendLoadError, ExitCode.BAD_MODEL_FILE, "bad model file: "),
    (FileNotFoundError, ExitCode.BAD_MODEL_FILE, "bad model file: "),
    (IsADirectoryError, ExitCode.BAD_MODEL_FILE, "bad model file: "),
    (NotADirectoryError, ExitCode.BAD_MODEL_FILE, "bad model file: "),
    (PermissionError, ExitCode.BAD_MODEL_FILE, "bad model file: "),
)


def exit_code_for(error: BaseException) -> tuple[ExitCode, str] | None:
    """(exit code, message prefix) for an exception the table knows; None for any other,
    which is a bug in lockstep (or a crash of a backend) and keeps its traceback."""
    for cls, code, prefix in EXIT_CODES:
        if isinstance(error, cls):
            return code, prefix
    return None


__all__ = [
    "BackendLoadError", "BackendUnavailable", "ConcurrentUseError", "ConvertError", "CorpusTokenMismatch", "EXIT_CODES", "ExitCode",
    "FormatError", "NotProtobuf", "ReceiptError", "RouteError", "TemplateError", "UnsupportedTypeError", "UsageError", "exit_code_for",
    "format_error",
]
