"""What the reference backends (llama.cpp, transformers) may print, and how their imports fail.

stderr carries lockstep's report, so the reference engines' own logs and progress bars stay
off it unless LOCKSTEP_VERBOSE is set (the CLI's --verbose). A package that is installed but
fails at import (a broken build, a missing shared library) is an unavailable backend with the
reason and the install command (exit 3), not a traceback.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from lockstep.errors import BackendUnavailable

VERBOSE_VARIABLE = "LOCKSTEP_VERBOSE"


def verbose() -> bool:
    return os.environ.get(VERBOSE_VARIABLE, "") not in ("", "0")


def import_reference(backend: str, module: str, install_command: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except Exception as error:  # ImportError, OSError from a missing .so, anything a broken package raises
        raise BackendUnavailable(backend, f"{module} is installed but fails at import ({type(error).__name__}: {error})",
                                 install_command) from error
