"""Which backends a crossval runs, on which model files, and loading them.

A backend is named by a spec: ``"llama.cpp"`` runs on the crossval's model, ``"llama.cpp=B.gguf"``
on another file — so one backend can be compared with itself across two files (a re-converted
or re-quantized model, a permuted or extended vocabulary). Loaded backends
(:func:`prepare_backend`) can be passed instead of specs and reused across runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lockstep.backends  # noqa: F401  (registers the reference backends with the dispatcher)
from lockstep import _core
from lockstep.errors import BackendLoadError, BackendUnavailable
from lockstep.routing.inspect import route_to
from lockstep.routing.preflight import check_backend

# The reference comes first: llama.cpp is the established engine the others are held to.
BACKEND_SETS = {"both": ("llama.cpp", "native"), "all": ("llama.cpp", "native", "hf")}


@dataclass(frozen=True)
class BackendSpec:
    """A registered backend's name and the model file it runs on (None: the crossval's model)."""

    name: str
    model: Path | None = None

    @classmethod
    def parse(cls, text: str) -> BackendSpec:
        name, sep, model = text.partition("=")
        name = name.strip()
        if not name or (sep and not model.strip()):
            raise ValueError(f"a backend is NAME or NAME=MODEL_PATH, not {text!r}")
        return cls(name, Path(model.strip()) if sep else None)


@dataclass
class PreparedBackend:
    """A backend loaded on a model file, reusable across crossval runs."""

    name: str
    model: Path
    backend: Any  # lockstep._core.Backend
    version: str
    capabilities: list[str]


def prepare_backend(
    spec: str | BackendSpec, model: str | Path, *, n_threads: int | None = None, inject_fault: str | None = None
) -> PreparedBackend:
    """Preflight and load one backend. ``model`` is used unless the spec names its own file.

    Raises BackendUnavailable (exit 3) or BackendLoadError (exit 5).
    """
    spec = BackendSpec.parse(spec) if isinstance(spec, str) else spec
    path = Path(spec.model if spec.model is not None else model)
    check_available(spec)
    path = Path(route_to(path, spec.name).path)  # RouteError when this backend cannot run the model
    fault = inject_fault if spec.name == "native" and inject_fault else ""
    try:
        backend = _core.create_backend(spec.name, str(path), n_threads or 0, fault)
    except (BackendUnavailable, ImportError, MemoryError):  # not the file's fault: keep their exit codes
        raise
    except Exception as error:  # the backend's own words on why the file does not load
        raise BackendLoadError(spec.name, path, error) from error
    return PreparedBackend(spec.name, path, backend, backend.version(), list(backend.capabilities()))


def check_available(spec: BackendSpec) -> None:
    """BackendUnavailable (exit 3) unless `spec` names a registered backend that is ready here."""
    if spec.name not in _core.backend_names():
        raise ValueError(f"unknown backend {spec.name!r}; known: {', '.join(_core.backend_names())}")
    availability = check_backend(spec.name)
    if not availability.ok:
        raise BackendUnavailable(spec.name, availability.message, availability.install_command)


def labels_for(backends: Sequence[tuple[str, Path]], path: Path) -> list[str]:
    """Names in the report for backends given as (name, model file): the backend's name,
    ``name@file`` when it runs on another model than the crossval's, and ``#2``, ``#3``... for
    repeats."""
    labels = []
    for name, model in backends:
        base = name if same_file(model, path) else f"{name}@{model.name}"
        label, n = base, 1
        while label in labels:
            n += 1
            label = f"{base}#{n}"
        labels.append(label)
    return labels


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b
