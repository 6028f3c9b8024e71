"""Can a backend run here? Installed packages, importable modules and versions, found without
importing them (torch and llama.cpp take seconds to import), and the install command if not."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from typing import Any

from lockstep import _core
from lockstep.routing.support import LLAMA_CPP_DISTRIBUTION, LLAMA_CPP_MODULE, LLAMA_CPP_PINNED_VERSION

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

    def to_registry(self) -> dict[str, Any]:
        """The form the C++ backend registry takes from a Python backend's preflight."""
        return {"available": self.ok, "version": self.version or "", "install_command": self.install_command or "",
                "detail": self.message}

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
    """llama-cpp-python at the pinned version (the dispatcher refuses others, so preflight does too)."""
    preflight = check_packages([(LLAMA_CPP_DISTRIBUTION, LLAMA_CPP_MODULE)], LLAMA_CPP_INSTALL)
    installed_version = _distribution_version(LLAMA_CPP_DISTRIBUTION)
    if preflight.ok and installed_version != LLAMA_CPP_PINNED_VERSION:
        message = f"{installed_version} is installed but lockstep is tested with {LLAMA_CPP_PINNED_VERSION} only; install with: {LLAMA_CPP_INSTALL}"
        return Preflight(False, True, True, preflight.version, LLAMA_CPP_INSTALL, message)
    return preflight


def check_hf(weights_package: str) -> Preflight:
    """What the hf backend needs (torch, transformers, accelerate), plus the package that reads
    these weights (safetensors, or gguf for transformers' GGUF loading)."""
    modules = ["torch", "transformers", "accelerate", weights_package]
    return check_packages([(module, module) for module in dict.fromkeys(modules)], HF_INSTALL)


def check_native() -> Preflight:
    """The native engine registers itself with the C++ dispatcher; ask the registry."""
    return check_backend("native")


def check_backend(name: str) -> Preflight:
    """Preflight of any backend registered with the dispatcher, by name."""
    result = _core.preflight_backend(name)
    if result is None:
        known = ", ".join(_core.backend_names())
        return Preflight(False, False, False, None, None, f"no backend named {name!r} (known: {known})")
    available = bool(result["available"])
    return Preflight(available, available, available, result["version"] or None,
                     None if available else (result["install_command"] or None), "ready" if available else result["detail"])
