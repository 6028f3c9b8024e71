"""Hidden states of llama.cpp's own graph, through its eval callback.

llama.cpp names every intermediate tensor of its graph ``NAME-LAYER`` (``attn_norm-3``,
``ffn_out-3``, ``l_out-3``; verified on SmolLM2's llama graph and the bitnet graph of the pinned
llama-cpp-python 0.3.36, whose feed-forward output is named ``ffn_down-3`` instead, see
:data:`GRAPH_NAMES`). A context created with ``cb_eval`` in its ``llama_context_params``
asks the callback, tensor by tensor, whether to stop the scheduler there (``ask``) and calls it
again once the tensor is computed: that is when its values are read, with ggml's own
``ggml_backend_tensor_get``. The capturing context is separate from the backend's scoring
context and shares the loaded model, so capturing never changes what the scores computed.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from lockstep.backends.capture import CAPTURE_POINTS, check_points

_GGML_TYPE_F32 = 0
# Capture points whose tensor an architecture's graph names otherwise: src/models/bitnet.cpp names
# the down projection "ffn_down" and adds it to the residual stream without an "ffn_out".
# src/models/gemma3.cpp names the residual stream after attention "sa_out".
GRAPH_NAMES = {"bitnet": {"ffn_out": "ffn_down"}, "gemma3": {"ffn_inp": "sa_out"}}
_GGML_MAX_DIMS = 4


class _TensorHead(ctypes.Structure):
    """The leading fields of ggml.h's struct ggml_tensor, which is public and stable."""

    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p),
                ("ne", ctypes.c_int64 * _GGML_MAX_DIMS), ("nb", ctypes.c_size_t * _GGML_MAX_DIMS)]


_GGML = None


def _ggml(llama_cpp):
    """libggml-base of the llama-cpp-python wheel (the copy libllama already loaded)."""
    global _GGML
    if _GGML is None:
        lib = ctypes.CDLL(str(Path(llama_cpp.__file__).parent / "lib" / "libggml-base.so"))
        lib.ggml_get_name.restype = ctypes.c_char_p
        lib.ggml_get_name.argtypes = [ctypes.c_void_p]
        lib.ggml_is_contiguous.restype = ctypes.c_bool
        lib.ggml_is_contiguous.argtypes = [ctypes.c_void_p]
        for function in (lib.ggml_backend_tensor_get, lib.ggml_backend_tensor_set):
            function.restype = None
            function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
        _GGML = lib
    return _GGML


def capture(llama_cpp, model, ids: np.ndarray, points: Sequence[str], n_layer: int, n_threads: int,
            anchors: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """{point: float32 [n_layer, len(ids), n_embd]} of `ids` evaluated by llama.cpp on `model`
    (a llama_model pointer) from an empty context, every position an output. `anchors`
    ({point: [n_layer, len(ids), n_embd]}) replace llama.cpp's own values of those points once
    they are captured, so that what follows computes from them."""
    points = check_points(points or CAPTURE_POINTS)
    anchors = dict(anchors or {})
    ggml = _ggml(llama_cpp)
    names = GRAPH_NAMES.get(_architecture(llama_cpp, model), {})
    wanted = {f"{names.get(point, point)}-{layer}".encode(): (point, layer)
              for point in set(points) | set(anchors) for layer in range(n_layer)}
    found: dict[tuple[str, int], np.ndarray] = {}
    errors: list[str] = []

    def on_tensor(tensor, ask, _user_data):
        name = ggml.ggml_get_name(tensor)
        if name not in wanted:
            return not ask  # not asking to stop here; "go on" after a computed tensor
        if ask:
            return True
        head = _TensorHead.from_address(tensor)
        ne = list(head.ne)
        if head.type != _GGML_TYPE_F32 or not ggml.ggml_is_contiguous(tensor) or ne[2] != 1 or ne[3] != 1:
            errors.append(f"{name.decode()}: type {head.type}, shape {ne}, not a contiguous float32 matrix")
            return True
        values = np.empty((ne[1], ne[0]), dtype=np.float32)  # [n_tokens, n_embd]
        ggml.ggml_backend_tensor_get(tensor, values.ctypes.data, 0, values.nbytes)
        point, layer = wanted[name]
        found[point, layer] = values  # a later tensor of the same name (a rename) replaces it
        if point in anchors:
            anchor = np.ascontiguousarray(anchors[point][layer], dtype=np.float32)
            if anchor.shape != values.shape:
                errors.append(f"{name.decode()}: anchor of shape {anchor.shape} for a tensor of {values.shape}")
                return False
            ggml.ggml_backend_tensor_set(tensor, anchor.ctypes.data, 0, anchor.nbytes)
        return True

    callback = llama_cpp.ggml_backend_sched_eval_callback(on_tensor)
    params = llama_cpp.llama_context_default_params()
    n = len(ids)
    params.n_ctx = params.n_batch = params.n_ubatch = max(n, 8)
    params.n_threads = params.n_threads_batch = n_threads
    params.type_k = params.type_v = llama_cpp.GGML_TYPE_F32
    params.cb_eval = callback
    params.cb_eval_user_data = None
    context = llama_cpp.llama_init_from_model(model, params)
    if not context:
        raise RuntimeError("llama.cpp: could not create a context for capturing")
    batch = llama_cpp.llama_batch_init(n, 0, 1)
    try:
        for i, token in enumerate(ids):
            batch.token[i] = int(token)
            batch.pos[i] = i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = True
        batch.n_tokens = n
        status = llama_cpp.llama_decode(context, batch)
        if status != 0 and not errors:
            raise RuntimeError(f"llama.cpp: llama_decode returned {status} while capturing")
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(context)
    if errors:
        raise RuntimeError("llama.cpp: cannot read captured tensors: " + "; ".join(errors))
    missing = sorted({f"{names.get(p, p)}-{layer}" for p in points for layer in range(n_layer)
                      if (p, layer) not in found})
    if missing:
        raise RuntimeError(f"llama.cpp's graph has no tensor named {', '.join(missing[:4])}"
                           f"{' ...' if len(missing) > 4 else ''} for this architecture")
    return {point: np.stack([found[point, layer] for layer in range(n_layer)]) for point in points}


def _architecture(llama_cpp, model) -> str:
    """general.architecture of a loaded llama_model."""
    buffer = ctypes.create_string_buffer(128)
    n = llama_cpp.llama_model_meta_val_str(model, b"general.architecture", buffer, len(buffer))
    return buffer.value.decode() if n >= 0 else ""
