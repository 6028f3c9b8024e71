"""The llama.cpp reference backend, through the pinned llama-cpp-python package."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lockstep import _core
from lockstep.backends import llamacpp_capture
from lockstep.backends.capture import CAPTURE_POINTS, LOCAL_POINTS
from lockstep.backends.generate import Generates
from lockstep.backends.reference_logs import import_reference, verbose
from lockstep.backends.weight_types import float_weights_only
from lockstep.routing.preflight import LLAMA_CPP_INSTALL, check_llama_cpp

NAME = "llama.cpp"


class LlamaCppBackend(_core.Backend, Generates):
    """llama.cpp on one GGUF file: logits at every position (``logits_all``), CPU only."""

    def __init__(self, model_path: str | os.PathLike, n_threads: int | None = None, n_ctx: int = 2048,
                 kv_cache: str = "f32"):
        """kv_cache: the type of llama.cpp's K and V cache. "f32" by default, unlike llama.cpp's
        own default "f16": rounding every cached key and value to 11 bits is a difference of the
        runtime, not of the model, and it alone moves the logits by a KL of ~1e-4 on the tiny
        zoo models (where, with an F32 cache, native and llama.cpp agree to 1e-14 on Q8_0)."""
        _core.Backend.__init__(self)
        llama_cpp = import_reference(NAME, "llama_cpp", LLAMA_CPP_INSTALL)
        _silence(llama_cpp)

        cache_types = {"f32": llama_cpp.GGML_TYPE_F32, "f16": llama_cpp.GGML_TYPE_F16}
        if kv_cache not in cache_types:
            raise ValueError(f"llama.cpp kv_cache must be one of {', '.join(cache_types)}, not {kv_cache!r}")
        self._version = llama_cpp.__version__
        self._kv_cache = kv_cache
        self._llm = llama_cpp.Llama(
            model_path=str(Path(model_path)), n_ctx=n_ctx, n_batch=512, logits_all=True,
            n_threads=n_threads or os.cpu_count(), n_gpu_layers=0, verbose=False,
            type_k=cache_types[kv_cache], type_v=cache_types[kv_cache],
        )
        self._n_ctx = n_ctx
        # ggml multiplies F32 weights with F32 activations; for F16 and quantized weights it first
        # rounds the activations to F16 or 8 bits (src/dispatch/thresholds.h).
        float32 = float_weights_only(model_path, ("F32",))
        self._capabilities = ["logits"] + ([_core.FLOAT32_ARITHMETIC] if float32 else [])

    def name(self) -> str:
        return NAME

    def version(self) -> str:
        return f"llama-cpp-python {self._version} (KV cache {self._kv_cache})"

    def capabilities(self) -> list[str]:
        return list(self._capabilities)

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = False) -> np.ndarray:
        ids = self._llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=parse_special)
        return np.asarray(ids, dtype=np.int32)

    def token_piece(self, token_id: int) -> bytes:
        # Not Llama.detokenize: it reads each piece into a 32-byte buffer and returns b"" for
        # longer pieces (SmolLM2 has whitespace runs of 33 bytes and more).
        import ctypes

        import llama_cpp

        vocab = self._llm._model.vocab  # pinned llama-cpp-python: the model's llama_vocab pointer
        size = 64
        while True:
            buffer = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(vocab, llama_cpp.llama_token(token_id), buffer, size, 0, True)
            if n >= 0:
                return buffer.raw[:n]
            size = -n  # the piece needs this many bytes

    def detokenize(self, ids, skip_special: bool = False) -> str:
        """llama.cpp's own detokenizer (llama_detokenize), special tokens rendered unless skipped."""
        import ctypes

        import llama_cpp

        tokens = (llama_cpp.llama_token * len(ids))(*map(int, ids))
        size = max(64, 8 * len(ids))
        while True:
            buffer = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_detokenize(self._llm._model.vocab, tokens, len(ids), buffer, size, skip_special, True)
            if n >= 0:
                return buffer.raw[:n].decode("utf-8", errors="replace")
            size = -n  # the text needs this many bytes

    def vocab_size(self) -> int:
        return self._llm.n_vocab()

    def bos_id(self) -> int:
        return self._llm.token_bos()

    def logits(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        n = len(ids)
        if n == 0:
            raise ValueError("llama.cpp: no tokens to evaluate")
        if n > self._n_ctx:
            raise ValueError(f"llama.cpp: {n} tokens exceed the context of {self._n_ctx}")
        self._llm.reset()
        return self.eval(ids)

    # The incremental context (lockstep.backends.protocol.IncrementalModel): llama-cpp-python's
    # own, whose n_tokens is the number of positions its KV cache holds.
    @property
    def n_past(self) -> int:
        return int(self._llm.n_tokens)

    def reset(self) -> None:
        self._llm.reset()

    def rewind(self, n_keep: int) -> None:
        if not 0 <= n_keep <= self._llm.n_tokens:
            raise ValueError(f"cannot rewind to {n_keep} tokens: the context holds {self._llm.n_tokens}")
        self._llm.n_tokens = n_keep  # Llama.eval drops the cache from n_tokens on before it computes

    def eval(self, ids, last_only: bool = False) -> np.ndarray:
        start, n = self._llm.n_tokens, len(ids)
        if n == 0:
            raise ValueError("llama.cpp: no tokens to evaluate")
        if start + n > self._n_ctx:
            raise ValueError(f"llama.cpp: {start} tokens in context + {n} new ones exceed the context of {self._n_ctx}")
        self._llm.eval([int(i) for i in ids])
        first = start + n - 1 if last_only else start
        # A copy: llama-cpp-python refills its score buffer on the next eval.
        return np.array(self._llm.scores[first:start + n], dtype=np.float32, copy=True)

    @property
    def eos_ids(self) -> frozenset[int]:
        eos = self._llm.token_eos()
        return frozenset() if eos < 0 else frozenset({int(eos)})

    def capture(self, ids, points=CAPTURE_POINTS) -> dict[str, np.ndarray]:
        """{point: float32 [n_layer, len(ids), n_embd]} from llama.cpp's graph (lockstep.backends.capture)."""
        return self._capture(ids, points, None)

    def capture_anchored(self, ids, anchors, points=LOCAL_POINTS) -> dict[str, np.ndarray]:
        """capture() with the anchors' values written over llama.cpp's own as its graph computes them."""
        return self._capture(ids, points, anchors)

    def _capture(self, ids, points, anchors) -> dict[str, np.ndarray]:
        import llama_cpp

        ids = np.asarray(ids, dtype=np.int32)
        if len(ids) == 0:
            raise ValueError("llama.cpp: no tokens to evaluate")
        model = self._llm._model.model  # pinned llama-cpp-python: the llama_model pointer
        return llamacpp_capture.capture(llama_cpp, model, ids, points, llama_cpp.llama_model_n_layer(model),
                                        self._llm.n_threads, anchors)


# llama.cpp logs through one process-wide callback; keep ours referenced while it is installed.
_QUIET_CALLBACK = None


def _silence(llama_cpp) -> None:
    """llama.cpp's own log lines (model loading, KV cache sizes) stay off stderr, which carries
    lockstep's report, unless LOCKSTEP_VERBOSE is set (the CLI's --verbose)."""
    global _QUIET_CALLBACK
    if verbose() or _QUIET_CALLBACK is not None:
        return
    _QUIET_CALLBACK = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
    llama_cpp.llama_log_set(_QUIET_CALLBACK, None)


def register() -> None:
    def create(path: str, options: dict) -> LlamaCppBackend:
        if options.get("inject_fault"):
            raise ValueError("faults can be injected into the native backend only")
        return LlamaCppBackend(path, n_threads=options.get("n_threads") or None)

    _core.register_backend(NAME, lambda: check_llama_cpp().to_registry(), create)
