"""Is a backend usable here, and if not, what to install. Decided without importing the
backend's (heavy) package: find_spec and the installed distribution's metadata."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Availability:
    available: bool
    version: str  # of the package behind the backend, "" when not installed
    install_command: str
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"available": self.available, "version": self.version,
                "install_command": self.install_command, "detail": self.detail}


class BackendUnavailable(RuntimeError):
    """A requested backend cannot run here (CLI exit code 3); the message says what to install."""

    def __init__(self, backend: str, availability: Availability):
        super().__init__(
            f"backend {backend!r} is unavailable: {availability.detail}; install it with: {availability.install_command}"
        )
        self.backend = backend
        self.availability = availability


def check_packages(modules: dict[str, str], install_command: str, pinned: dict[str, str] | None = None) -> Availability:
    """modules: importable module name -> distribution name. All must be installed."""
    versions = []
    for module, distribution in modules.items():
        if importlib.util.find_spec(module) is None:
            return Availability(False, "", install_command, f"Python module {module!r} ({distribution}) is not installed")
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        want = (pinned or {}).get(distribution)
        if want is not None and version != want:
            return Availability(False, version, install_command,
                                f"{distribution} {version} is installed but lockstep is tested with {want} only")
        versions.append(f"{distribution} {version}")
    return Availability(True, ", ".join(versions), install_command, "installed")


def preflight(name: str) -> Availability:
    """Availability of a registered backend by name (KeyError for an unknown name)."""
    from lockstep import _core

    result = _core.preflight_backend(name)
    if result is None:
        raise KeyError(f"no backend named {name!r}; known: {', '.join(_core.backend_names())}")
    return Availability(**result)
