"""Inference backends. Each registers itself with the C++ dispatcher under its name; the
dispatcher treats them all alike.

- ``native``: lockstep's own C++ engine (registered from C++).
- ``llama.cpp``: llama.cpp through llama-cpp-python (:mod:`lockstep.backends.llamacpp`).
- ``hf``: Hugging Face transformers, float32, eager attention (:mod:`lockstep.backends.hf`).
"""

from __future__ import annotations

from lockstep.backends import hf, llamacpp
from lockstep.preflight import BackendUnavailable, check_backend

llamacpp.register()
hf.register()

__all__ = ["BackendUnavailable", "check_backend"]
