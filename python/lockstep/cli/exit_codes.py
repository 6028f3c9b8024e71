"""The CLI's one error table: each exception class -> one exit code (DESIGN.md). Commands
raise; main() catches here, prints one line on stderr and exits with the code.

Order matters where classes inherit: the first matching entry wins.
"""

from __future__ import annotations

from lockstep.errors import (
    BackendLoadError,
    BackendUnavailable,
    ConvertError,
    ExitCode,
    FormatError,
    ReceiptError,
    RouteError,
    TemplateError,
    UnsupportedTypeError,
    UsageError,
)

EXIT_CODES: tuple[tuple[type[BaseException], ExitCode, str], ...] = (
    # (exception class, exit code, how the message starts)
    (BackendUnavailable, ExitCode.BACKEND_UNAVAILABLE, ""),
    (TemplateError, ExitCode.TEMPLATE_ERROR, "template error: "),
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
    which is a bug in lockstep and keeps its traceback."""
    for cls, code, prefix in EXIT_CODES:
        if isinstance(error, cls):
            return code, prefix
    return None
