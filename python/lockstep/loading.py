"""lockstep.load: one model on one backend, behind the same methods whichever it is."""

from __future__ import annotations

import os

BACKENDS = ("native", "llama.cpp", "hf")


def load(path: str | os.PathLike, backend: str = "native", n_threads: int | None = None, **options):
    """Load `path` (a GGUF file or a Hugging Face folder) on `backend`.

    native: :class:`lockstep.native.NativeModel` (options: n_ctx, isa, inject_fault). llama.cpp and hf: the
    reference backends (:mod:`lockstep.backends`). Raises BackendUnavailable (with the install
    command) when the backend's package is missing, FormatError for a bad model file.
    """
    if backend == "native":
        from lockstep.native import NativeModel

        return NativeModel(path, n_threads=n_threads, **options)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if options.pop("inject_fault", None):
        raise ValueError("faults can be injected into the native backend only")
    from lockstep.backends import BackendUnavailable, check_backend  # registers them

    availability = check_backend(backend)
    if not availability.ok:
        raise BackendUnavailable(backend, availability)
    if backend == "llama.cpp":
        from lockstep.backends.llamacpp import LlamaCppBackend

        return LlamaCppBackend(path, n_threads=n_threads, **options)
    from lockstep.backends.hf import HFBackend

    return HFBackend(path, n_threads=n_threads, **options)
