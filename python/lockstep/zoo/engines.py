"""The engines a process has loaded for a sweep: one model's backends at a time.

A Dask worker keeps this cache between tasks, so each model is loaded once per worker, and
drops a model's engines before it loads the next one's, so a worker never holds two models.
A model that fails to load fails once: the error is kept and raised again for its other cells.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Sequence

from lockstep.dispatch.specs import PreparedBackend, prepare_backend


class EngineCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # one cell at a time per process: a worker's threads share the engines
        self._model: str | None = None
        self._engines: dict[str, PreparedBackend | BaseException] = {}

    def prepared(self, model: str, backends: Sequence[str], n_threads: int | None) -> tuple[list[PreparedBackend], bool]:
        """The loaded backends for `model`, and whether any of them was loaded by this call."""
        if model != self._model:
            self.clear()
            self._model = model
        loaded = False
        out = []
        for name in backends:
            if name not in self._engines:
                loaded = True
                try:
                    self._engines[name] = prepare_backend(name, model, n_threads=n_threads)
                except Exception as error:
                    self._engines[name] = error
            engine = self._engines[name]
            if isinstance(engine, BaseException):
                raise engine
            out.append(engine)
        return out, loaded

    def clear(self) -> None:
        self._engines.clear()
        self._model = None
        gc.collect()  # the engines' memory maps and buffers go now, before the next model loads


ENGINES = EngineCache()
