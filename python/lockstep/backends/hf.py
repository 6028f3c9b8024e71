"""The Hugging Face transformers reference backend: float32 weights, eager attention.

Loads a safetensors model folder, or a GGUF file through transformers' own GGUF loading
(which dequantizes every tensor to float32).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lockstep import _core
from lockstep.backends.capture import CAPTURE_POINTS, LOCAL_POINTS, check_points
from lockstep.backends.generate import Generates
from lockstep.backends.reference_logs import import_reference, verbose
from lockstep.backends.weight_types import float_weights_only
from lockstep.routing.preflight import HF_INSTALL, check_packages

NAME = "hf"


class HFBackend(_core.Backend, Generates):
    def __init__(self, model_path: str | os.PathLike, n_threads: int | None = None):
        _core.Backend.__init__(self)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub
        torch = import_reference(NAME, "torch", HF_INSTALL)
        transformers = import_reference(NAME, "transformers", HF_INSTALL)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not verbose():  # stderr carries lockstep's report
            transformers.utils.logging.disable_progress_bar()
            transformers.utils.logging.set_verbosity_error()
            _quiet_gguf_loading()
        path = Path(model_path)
        if path.is_file():  # a GGUF file
            folder, kwargs = str(path.parent), {"gguf_file": path.name}
        else:
            folder, kwargs = str(path), {}
        if n_threads:
            torch.set_num_threads(n_threads)
        self._torch = torch
        self._version = f"transformers {transformers.__version__}, torch {torch.__version__}"
        self._tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
        self._model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=torch.float32, attn_implementation="eager", **kwargs
        ).eval()
        self._cache: Any = None  # transformers' DynamicCache of the incremental context
        # transformers renamed forward's past_key_values to cache (5.x deprecates the old name).
        self._cache_argument = "cache" if "cache" in inspect.signature(self._model.forward).parameters else "past_key_values"
        self._n_past = 0
        self._pieces: list[bytes] | None = None
        # Every product in float32 on float32 weights (thresholds.h: a same-arithmetic pair with
        # any other such backend). Weights of a quantized GGUF are dequantized first: engines
        # that keep them quantized round the activations too, a cross-precision pair.
        self._capabilities = ["logits", _core.FLOAT32_ARITHMETIC]
        if path.is_file() and not float_weights_only(path):
            self._capabilities.append(_core.DEQUANTIZED_FLOAT32)

    def name(self) -> str:
        return NAME

    def version(self) -> str:
        return self._version

    def capabilities(self) -> list[str]:
        return list(self._capabilities)

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = False) -> np.ndarray:
        ids = self._tokenizer(text, add_special_tokens=add_special, split_special_tokens=not parse_special)["input_ids"]
        return np.asarray(ids, dtype=np.int32)

    def token_piece(self, token_id: int) -> bytes:
        if self._pieces is None:  # once per vocabulary: the dispatcher asks for every id
            self._pieces = token_pieces(self._tokenizer, self.vocab_size())
        token_id = int(token_id)
        return self._pieces[token_id] if 0 <= token_id < len(self._pieces) else b""

    def detokenize(self, ids, skip_special: bool = False) -> str:
        """The tokenizer's own decode, without transformers' clean-up of spaces before punctuation."""
        return str(self._tokenizer.decode([int(i) for i in ids], skip_special_tokens=skip_special,
                                          clean_up_tokenization_spaces=False))

    def vocab_size(self) -> int:
        return int(self._model.config.vocab_size)

    def bos_id(self) -> int:
        bos = self._tokenizer.bos_token_id
        return -1 if bos is None else int(bos)

    def logits(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        if len(ids) == 0:
            raise ValueError("hf: no tokens to evaluate")
        torch = self._torch
        with torch.inference_mode():
            out = self._model(torch.as_tensor(np.asarray(ids, dtype=np.int64))[None, :]).logits[0]
        return out.float().numpy()  # shares the tensor's memory; the array keeps it alive

    def capture(self, ids, points=CAPTURE_POINTS) -> dict[str, np.ndarray]:
        """{point: float32 [n_layer, len(ids), n_embd]} through forward hooks on each decoder
        layer's modules (lockstep.backends.capture)."""
        return self._capture(ids, points, None)

    def capture_anchored(self, ids, anchors, points=LOCAL_POINTS) -> dict[str, np.ndarray]:
        """capture() with each layer's input (the l_out anchor of the layer before) and its
        feed-forward norm's input (the ffn_inp anchor) replaced by forward pre-hooks."""
        return self._capture(ids, points, anchors)

    def _capture(self, ids, points, anchors) -> dict[str, np.ndarray]:
        points = check_points(points)
        anchors = dict(anchors or {})
        if len(ids) == 0:
            raise ValueError("hf: no tokens to evaluate")
        torch = self._torch
        layers = self._model.model.layers
        found: dict[str, list] = {point: [None] * len(layers) for point in points}

        def keep(point, layer, from_input=False):
            def hook(module, args, output=None):
                value = args[0] if from_input else (output[0] if isinstance(output, tuple) else output)
                found[point][layer] = value[0].detach().float().numpy().copy()
            return hook

        def replace_input(values):
            def hook(module, args, kwargs):
                anchor = torch.as_tensor(np.asarray(values, dtype=np.float32))[None]
                if args:
                    return (anchor, *args[1:]), kwargs
                return args, {**kwargs, "hidden_states": anchor}
            return hook

        handles = []
        for i, layer in enumerate(layers):
            # The feed-forward's norm; gemma's post_attention_layernorm normalizes attention's output.
            ffn_norm = getattr(layer, "pre_feedforward_layernorm", None)
            if ffn_norm is None:
                ffn_norm = layer.post_attention_layernorm
            # Input anchors first, so that the capturing pre-hook sees the replaced input.
            if "l_out" in anchors and i > 0:
                handles.append(layer.register_forward_pre_hook(replace_input(anchors["l_out"][i - 1]), with_kwargs=True))
            if "ffn_inp" in anchors:
                handles.append(ffn_norm.register_forward_pre_hook(replace_input(anchors["ffn_inp"][i]), with_kwargs=True))
            modules = {"attn_norm": (layer.input_layernorm, False), "attn_out": (layer.self_attn, False),
                       "ffn_inp": (ffn_norm, True), "ffn_norm": (ffn_norm, False), "ffn_out": (layer.mlp, False),
                       "l_out": (layer, False)}
            for point in points:
                module, from_input = modules[point]
                register = module.register_forward_pre_hook if from_input else module.register_forward_hook
                handles.append(register(keep(point, i, from_input)))
        try:
            with torch.inference_mode():
                self._model(torch.as_tensor(np.asarray(ids, dtype=np.int64))[None, :])
        finally:
            for handle in handles:
                handle.remove()
        return {point: np.stack(values) for point, values in found.items()}

    # The incremental context (lockstep.backends.protocol.IncrementalModel): a DynamicCache.
    @property
    def n_past(self) -> int:
        return self._n_past

    def reset(self) -> None:
        self._cache, self._n_past = None, 0

    def rewind(self, n_keep: int) -> None:
        if not 0 <= n_keep <= self._n_past:
            raise ValueError(f"cannot rewind to {n_keep} tokens: the context holds {self._n_past}")
        if n_keep == 0:
            self.reset()
            return
        # Layer by layer to an absolute length: a forward pass interrupted (Ctrl-C) part way
        # leaves the first layers longer than the rest.
        for layer in self._cache.layers:
            held = layer.get_seq_length()
            if held > n_keep:
                layer.crop(n_keep - held)
        self._n_past = n_keep

    def eval(self, ids, last_only: bool = False) -> np.ndarray:
        if len(ids) == 0:
            raise ValueError("hf: no tokens to evaluate")
        torch = self._torch
        if self._n_past == 0:
            self._cache = None
        with torch.inference_mode():
            out = self._model(torch.as_tensor(np.asarray(ids, dtype=np.int64))[None, :], use_cache=True,
                              logits_to_keep=1 if last_only else 0, **{self._cache_argument: self._cache})
        self._cache = getattr(out, self._cache_argument)
        self._n_past += len(ids)
        return out.logits[0].float().numpy()

    @property
    def eos_ids(self) -> frozenset[int]:
        eos = self._tokenizer.eos_token_id
        return frozenset() if eos is None else frozenset({int(eos)})


def _quiet_gguf_loading() -> None:
    # transformers' GGUF loader draws its own tqdm bar, which disable_progress_bar() does not
    # reach; its module-level tqdm is replaced by a disabled one.
    import functools

    from transformers import modeling_gguf_pytorch_utils as gguf_loading

    if not isinstance(gguf_loading.tqdm, functools.partial):
        gguf_loading.tqdm = functools.partial(gguf_loading.tqdm, disable=True)


def token_pieces(tokenizer, n_vocab: int) -> list[bytes]:
    """The bytes of every id below `n_vocab` of a transformers tokenizer, in one pass.

    Added and special tokens stand for their text; byte-level BPE tokens for the bytes their
    characters encode; SentencePiece tokens for their text with U+2581 as a space, byte-fallback
    tokens ``<0xNN>`` for that byte. Ids the tokenizer does not know (a model's padded rows) are
    empty. The tokenizer's views of its added tokens (``added_tokens_decoder``,
    ``all_special_tokens``) are rebuilt on every access, so they are read once here: asking
    them per id costs minutes on a 262,144-token vocabulary with thousands of added tokens.
    """
    tokens = tokenizer.convert_ids_to_tokens(list(range(n_vocab)))
    verbatim = {int(i) for i in tokenizer.added_tokens_decoder}
    special = set(tokenizer.all_special_tokens)
    byte_level = _is_byte_level(tokenizer)
    decoder = _byte_decoder() if byte_level else {}
    pieces = []
    for token_id, token in enumerate(tokens):
        if not isinstance(token, str):  # None for an id outside the vocabulary
            pieces.append(b"")
        elif token_id in verbatim or token in special:
            pieces.append(token.encode("utf-8"))
        elif byte_level:
            pieces.append(bytes(decoder.get(ch, ord(ch) & 0xFF) for ch in token))
        elif token.startswith("<0x") and token.endswith(">") and len(token) == 6:  # SentencePiece byte fallback
            pieces.append(bytes([int(token[3:5], 16)]))
        else:
            pieces.append(token.replace("\u2581", " ").encode("utf-8"))
    return pieces


def _is_byte_level(tokenizer) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = getattr(backend, "decoder", None)
    return decoder is not None and type(decoder).__name__ == "ByteLevel"


def _byte_decoder() -> dict[str, int]:
    # GPT-2's byte <-> printable-character table, as transformers defines it.
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    return {char: byte for byte, char in bytes_to_unicode().items()}


def register() -> None:
    def create(path: str, options: dict) -> HFBackend:
        if options.get("inject_fault"):
            raise ValueError("faults can be injected into the native backend only")
        return HFBackend(path, n_threads=options.get("n_threads") or None)

    def preflight() -> dict:
        needed = [("torch", "torch"), ("transformers", "transformers"), ("accelerate", "accelerate")]
        return check_packages(needed, HF_INSTALL).to_registry()

    _core.register_backend(NAME, preflight, create)
