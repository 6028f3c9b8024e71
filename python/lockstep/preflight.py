"""Can a backend run here? Installed packages, importable modules and versions, found without
importing them (torch and llama.cpp take seconds to import), and the install command if not."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from typing import Any

from lockstep.backend_support import LLAMA_CPP_DISTRIBUTION, LLAMA_CPP_MODULE, LLAMA_CPP_PINNED_VERSION

LLAMA_CPP_INSTALL = 'pip install "lockstep[llamacpp]"'
HF_INSTALL = 'pip install "lockstep[hf]"'


@dataclass(frozen=True)
class Preflight:
    ok: bool
    installed: bool  # the distributions are installed (importlib.metadata)
    importable: bool  # their modules are found on sys.path (importlib.util.find_spec; not imported)
    version: str | None  # e.g. "llama-cpp-python 0.3.36"
    install_command: str | None  # set when not ok and installing would fix it
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "installed": self.installed,
            "importable": self.importable,
            "version": self.version,
            "install_command": self.install_command,
            "message": self.message,
        }


def _distribution_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _module_found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken package, or a module set to None in sys.modules
        return False


def check_packages(requirements: list[tuple[str, str]], install_command: str) -> Preflight:
    """Preflight for (distribution, module) pairs that must all be present."""
    versions = {distribution: _distribution_version(distribution) for distribution, _ in requirements}
    missing_distributions = [name for name, version in versions.items() if version is None]
    missing_modules = [module for _, module in requirements if not _module_found(module)]
    installed, importable = not missing_distributions, not missing_modules
    version = ", ".join(f"{name} {version}" for name, version in versions.items() if version is not None) or None
    if installed and importable:
        return Preflight(True, True, True, version, None, "ready")
    problems = []
    if missing_distributions:
        problems.append(f"not installed: {', '.join(missing_distributions)}")
    if missing_modules:
        problems.append(f"cannot be imported: {', '.join(missing_modules)}")
    return Preflight(False, installed, importable, version, install_command, f"{'; '.join(problems)}; install with: {install_command}")


def check_llama_cpp() -> Preflight:
    preflight = check_packages([(LLAMA_CPP_DISTRIBUTION, LLAMA_CPP_MODULE)], LLAMA_CPP_INSTALL)
    installed_version = _distribution_version(LLAMA_CPP_DISTRIBUTION)
    if preflight.ok and installed_version != LLAMA_CPP_PINNED_VERSION:
        message = f"ready, but lockstep is tested with {LLAMA_CPP_PINNED_VERSION}; to match: {LLAMA_CPP_INSTALL}"
        return Preflight(True, True, True, preflight.version, None, message)
    return preflight


def check_hf(weights_package: str) -> Preflight:
    """transformers and torch, plus the package that reads the weights (safetensors or gguf)."""
    requirements = [("transformers", "transformers"), ("torch", "torch"), (weights_package, weights_package)]
    return check_packages(requirements, HF_INSTALL)


def check_native() -> Preflight:
    """The native engine is part of lockstep's compiled core; its entry point is lockstep.load."""
    import lockstep

    version = f"lockstep {lockstep.__version__}"
    if not _module_found("lockstep._core"):
        return Preflight(False, True, False, version, "pip install .", "lockstep's compiled core is missing; rebuild: pip install .")
    if not hasattr(lockstep, "load"):
        message = "the native engine is not in this build of lockstep yet (lockstep.load is missing)"
        return Preflight(False, True, True, version, None, message)
    return Preflight(True, True, True, version, None, "ready")
