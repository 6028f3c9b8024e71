"""Process exit codes of the `lockstep` CLI (DESIGN.md, "CLI and exit codes")."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # success; for crossval: all positions within thresholds
    LOGITS_DIVERGED = 1  # tokens matched, logits did not
    TOKEN_MISMATCH = 2  # the parity gate stopped the run before any logits
    BACKEND_UNAVAILABLE = 3  # the message gives the install command
    TEMPLATE_ERROR = 4
    BAD_MODEL_FILE = 5  # unreadable, malformed, unsupported
    USAGE = 64  # not argparse's default 2, which would read as a token mismatch
