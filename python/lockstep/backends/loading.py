"""lockstep.load: one model on one backend, behind the same methods whichever it is
(lockstep.backends.protocol.IncrementalModel, which extends Model)."""

from __future__ import annotations

import os

from lockstep.backends.protocol import IncrementalModel
from lockstep.routing.inspect import route_to
from lockstep.routing.route import BACKENDS


def load(path: str | os.PathLike, backend: str = "native", n_threads: int | None = None, **options) -> IncrementalModel:
    """Load `path` (a GGUF file or a Hugging Face folder) on `backend`: "native", "llama.cpp" or "hf".

    The model is routed first, as ``lockstep.inspect`` routes it: RouteError when that backend
    cannot run this model, BackendUnavailable (with the install command) when its package is
    missing or broken, FormatError for a bad model file. options: native: n_ctx, isa,
    inject_fault; llama.cpp: n_ctx, kv_cache.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if options.get("inject_fault") and backend != "native":
        raise ValueError("faults can be injected into the native backend only")
    chosen = route_to(path, backend)
    if backend == "native":
        from lockstep.backends.native import NativeModel

        return NativeModel(chosen.path, n_threads=n_threads, **options)
    if backend == "llama.cpp":
        from lockstep.backends.llamacpp import LlamaCppBackend

        return LlamaCppBackend(chosen.path, n_threads=n_threads, **options)
    from lockstep.backends.hf import HFBackend

    return HFBackend(chosen.path, n_threads=n_threads, **options)
