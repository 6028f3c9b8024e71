"""Backends loaded once and reused: a parity suite runs many crossvals on the same few models."""

from __future__ import annotations

from pathlib import Path

from lockstep.dispatch.specs import BackendSpec, PreparedBackend, check_available, prepare_backend


class BackendPool:
    """PreparedBackends by (spec, model file, injected fault). Raises what prepare_backend
    raises: BackendUnavailable (before loading anything), RouteError, BackendLoadError."""

    def __init__(self, n_threads: int | None = None):
        self._n_threads = n_threads
        self._loaded: dict[tuple[str, Path | None, Path, str], PreparedBackend] = {}

    def get(self, spec: str | BackendSpec, model: str | Path, inject_fault: str | None = None) -> PreparedBackend:
        spec = BackendSpec.parse(spec) if isinstance(spec, str) else spec
        model = Path(model).resolve()
        fault = inject_fault if spec.name == "native" and inject_fault else ""
        key = (spec.name, spec.model and spec.model.resolve(), model, fault)
        if key not in self._loaded:
            check_available(spec)
            self._loaded[key] = prepare_backend(spec, model, n_threads=self._n_threads, inject_fault=fault or None)
        return self._loaded[key]

    def clear(self) -> None:
        self._loaded.clear()
