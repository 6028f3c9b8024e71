"""``python -m lockstep crossval ...`` in a fresh interpreter, as a user runs it, on the same
lockstep the tests import: the source tree's python/ in a developer build, site-packages once
the package is installed (CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lockstep

PACKAGE_PARENT = str(Path(lockstep.__file__).resolve().parents[1])


def lockstep_path(*first: str | Path) -> str:
    """A PYTHONPATH that finds `first`, then this lockstep, then what was already there."""
    return os.pathsep.join([*map(str, first), PACKAGE_PARENT, os.environ.get("PYTHONPATH", "")])


def crossval_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": lockstep_path()}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "lockstep", "crossval", *map(str, args)], capture_output=True,
                          text=True, env=environment, timeout=timeout)


# Installed in a child interpreter: llama_cpp is not importable there, as if its package were
# missing from the environment (the import system itself refuses it; nothing is mocked).
HIDE_LLAMA_CPP = '''
import sys

class HideLlamaCpp:
    def find_spec(self, name, path=None, target=None):
        if name == "llama_cpp" or name.startswith("llama_cpp."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideLlamaCpp())
'''
