"""Inference backends, each behind lockstep.backends.protocol.Model. Importing this package
registers the Python ones with the C++ dispatcher, which treats them all alike.

- ``native``: lockstep's own C++ engine (registered from C++; NativeModel is its Python face).
- ``llama.cpp``: llama.cpp through llama-cpp-python (:mod:`lockstep.backends.llamacpp`).
- ``hf``: Hugging Face transformers, float32, eager attention (:mod:`lockstep.backends.hf`).
"""

from __future__ import annotations

from lockstep.backends import hf, llamacpp

llamacpp.register()
hf.register()
