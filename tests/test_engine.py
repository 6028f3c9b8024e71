"""The native engine against transformers (float32, eager attention) on tiny random-weight
models of every architecture, loaded from Hugging Face folders (safetensors); decoding,
captures, zero-copy results and bad input."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

import lockstep

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

N_TOKENS = 64
VOCAB = 300
TOLERANCE = 1e-4  # of the largest |logit|: the bar for float32 sources

COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5)

ARCHITECTURES = {
    "llama": lambda: transformers.LlamaForCausalLM(transformers.LlamaConfig(**COMMON, tie_word_embeddings=False)),
    "llama3": lambda: transformers.LlamaForCausalLM(transformers.LlamaConfig(**COMMON, rope_parameters={
        "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 32})),
    "llama-linear": lambda: transformers.LlamaForCausalLM(transformers.LlamaConfig(**COMMON, rope_parameters={
        "rope_type": "linear", "rope_theta": 10000.0, "factor": 4.0})),
    "mistral": lambda: transformers.MistralForCausalLM(transformers.MistralConfig(**COMMON, sliding_window=16)),
    "qwen2": lambda: transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**COMMON, tie_word_embeddings=True)),
    "phi3": lambda: transformers.Phi3ForCausalLM(transformers.Phi3Config(**COMMON, partial_rotary_factor=0.5,
                                                                         sliding_window=None, pad_token_id=0)),
    # LongRoPE: 64 tokens are beyond the original 32, where both engines take the long factors.
    "phi3-longrope": lambda: transformers.Phi3ForCausalLM(transformers.Phi3Config(
        **COMMON, sliding_window=None, pad_token_id=0, original_max_position_embeddings=32, rope_parameters={
            "rope_type": "longrope", "rope_theta": 10000.0, "short_factor": [1.0 + 0.1 * i for i in range(8)],
            "long_factor": [1.0 + 0.5 * i for i in range(8)], "original_max_position_embeddings": 32})),
    # Six layers, five of them sliding with a window of 4 (64 tokens reach far past it), then a global one.
    "gemma3": lambda: transformers.Gemma3ForCausalLM(transformers.Gemma3TextConfig(
        **{**COMMON, "num_hidden_layers": 6}, head_dim=16, sliding_window=4, query_pre_attn_scalar=16,
        pad_token_id=0)),
    # Another query scale, a final soft-cap that bites, linear RoPE scaling on the global layers only,
    # layer types given one by one.
    "gemma3-softcap": lambda: transformers.Gemma3ForCausalLM(transformers.Gemma3TextConfig(
        **{**COMMON, "num_hidden_layers": 3}, head_dim=16, sliding_window=8, query_pre_attn_scalar=24,
        final_logit_softcapping=3.0, pad_token_id=0,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                         "full_attention": {"rope_type": "linear", "rope_theta": 1000000.0, "factor": 8.0}})),
    "qwen3": lambda: transformers.Qwen3ForCausalLM(transformers.Qwen3Config(**COMMON, head_dim=16)),
    "bitnet": lambda: transformers.BitNetForCausalLM(transformers.BitNetConfig(**COMMON, hidden_act="relu2")),
    "bitnet-silu": lambda: transformers.BitNetForCausalLM(transformers.BitNetConfig(**COMMON, hidden_act="silu")),
}


def make_model(name: str, seed: int = 0):
    torch.manual_seed(seed)
    model = ARCHITECTURES[name]().eval()
    with torch.no_grad():  # larger than the default init, so that every part of the network matters
        for pname, p in model.named_parameters():
            p.copy_(1 + 0.1 * torch.randn_like(p) if "norm" in pname else 0.2 * torch.randn_like(p))
    return model


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    made = {}

    def get(name: str):
        if name not in made:
            folder = tmp_path_factory.mktemp(name)
            make_model(name).save_pretrained(folder)
            made[name] = folder
        return made[name]

    return get


def reference_logits(folder, ids: np.ndarray, dtype=None) -> np.ndarray:
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager",
                                                              dtype=torch.float32)
    with torch.no_grad():
        return model(torch.tensor(ids[None], dtype=torch.long)).logits[0].numpy()


def token_ids(seed: int = 1, n: int = N_TOKENS) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCAB, n).astype(np.int32)


def assert_close_logits(ours: np.ndarray, reference: np.ndarray, tolerance: float = TOLERANCE) -> None:
    assert ours.shape == reference.shape and ours.dtype == np.float32
    error = np.abs(ours - reference).max() / np.abs(reference).max()
    assert error <= tolerance, f"max |delta| is {error:.2e} of max |logit|"


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_safetensors_logits_match_transformers_at_every_position(hf_folder, name):
    folder = hf_folder(name)
    ids = token_ids()
    model = lockstep.load(folder, backend="native", n_threads=2)
    assert_close_logits(model.logits(ids), reference_logits(folder, ids))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_checkpoints_match_transformers_upcast(tmp_path, dtype):
    # transformers upcasts the stored weights to float32; so does the engine, row by row.
    make_model("qwen2").to(getattr(torch, dtype)).save_pretrained(tmp_path)
    ids = token_ids()
    model = lockstep.NativeModel(tmp_path)
    assert set(model.info["tensor_types"]) == {"F16" if dtype == "float16" else "BF16"}
    assert_close_logits(model.logits(ids), reference_logits(tmp_path, ids))


def test_info_describes_the_model(hf_folder):
    info = lockstep.NativeModel(hf_folder("mistral"), n_threads=1).info
    assert info["architecture"] == "mistral" and info["format"] == "safetensors"
    assert (info["n_layer"], info["n_head"], info["n_head_kv"], info["head_dim"]) == (2, 4, 2, 16)
    assert info["rope_layout"] == "neox" and info["sliding_window"] == 16 and info["n_threads"] == 1
    assert info["isa"] in lockstep._core.kernels.supported_isas()


@pytest.mark.parametrize("name", ["llama", "qwen2", "bitnet", "gemma3", "phi3-longrope"])
def test_token_by_token_decoding_equals_one_prefill(hf_folder, name):
    model = lockstep.NativeModel(hf_folder(name), n_threads=2)
    ids = token_ids(seed=3)
    prefill = model.logits(ids)
    model.reset()
    stepped = np.concatenate([model.eval(ids[i : i + 1]) for i in range(len(ids))])
    np.testing.assert_allclose(stepped, prefill, rtol=1e-5, atol=1e-5 * np.abs(prefill).max())
    model.reset()
    chunked = np.concatenate([model.eval(ids[:10]), model.eval(ids[10:50]), model.eval(ids[50:])])
    np.testing.assert_allclose(chunked, prefill, rtol=1e-5, atol=1e-5 * np.abs(prefill).max())
    assert model.n_past == len(ids)
    model.reset()
    last = model.eval(ids, last_only=True)
    np.testing.assert_array_equal(last, prefill[-1:])


def test_every_instruction_set_gives_the_same_logits(hf_folder):
    folder, ids = hf_folder("llama"), token_ids()
    results = {isa: lockstep.NativeModel(folder, isa=isa).logits(ids) for isa in lockstep._core.kernels.supported_isas()}
    reference = results.pop("scalar")
    for isa, logits in results.items():
        np.testing.assert_allclose(logits, reference, rtol=0, atol=1e-5 * np.abs(reference).max(), err_msg=isa)


def capture_with_hooks(model, ids: np.ndarray) -> dict[str, np.ndarray]:
    """The same named points, read from transformers' modules with forward hooks."""
    points: dict[str, list] = {name: [] for name in lockstep.backends.native.CAPTURE_POINTS}
    hooks = []
    for layer in model.model.layers:
        hooks += [
            layer.input_layernorm.register_forward_hook(lambda m, i, o: points["attn_norm"].append(o)),
            layer.self_attn.register_forward_hook(lambda m, i, o: points["attn_out"].append(o[0])),
            layer.post_attention_layernorm.register_forward_hook(lambda m, i, o: points["ffn_inp"].append(i[0])),
            layer.post_attention_layernorm.register_forward_hook(lambda m, i, o: points["ffn_norm"].append(o)),
            layer.mlp.register_forward_hook(lambda m, i, o: points["ffn_out"].append(o)),
            layer.register_forward_hook(lambda m, i, o: points["l_out"].append(o[0] if isinstance(o, tuple) else o)),
        ]
    with torch.no_grad():
        model(torch.tensor(ids[None], dtype=torch.long))
    for h in hooks:
        h.remove()
    return {name: torch.stack(values)[:, 0].numpy() for name, values in points.items()}


@pytest.mark.parametrize("name", ["llama", "bitnet"])
def test_captured_layers_match_transformers(hf_folder, name):
    folder, ids = hf_folder(name), token_ids(seed=5, n=20)
    logits, captured = lockstep.NativeModel(folder).logits(ids, capture=list(lockstep.backends.native.CAPTURE_POINTS))
    reference = capture_with_hooks(
        transformers.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32), ids)
    assert set(captured) == set(reference)
    for point, values in captured.items():
        assert values.shape == (2, len(ids), 64)
        error = np.abs(values - reference[point]).max() / np.abs(reference[point]).max()
        assert error <= TOLERANCE, f"{point}: {error:.2e}"


def test_results_are_zero_copy_views_that_outlive_the_model(hf_folder):
    model = lockstep.NativeModel(hf_folder("llama"))
    logits, captured = model.logits(token_ids(n=8), capture=["l_out"])
    for array in (logits, captured["l_out"]):
        assert not array.flags["OWNDATA"] and array.base is not None
    expected = logits.copy()
    del model
    np.testing.assert_array_equal(logits, expected)  # the buffer's owner is the array's base


def test_the_engine_runs_without_the_gil(tmp_path):
    # A model big enough that one call takes a while: if the call held the GIL, this thread
    # could not run Python for that whole time.
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(transformers.LlamaConfig(**{
        **COMMON, "hidden_size": 256, "intermediate_size": 1024, "num_hidden_layers": 4})).save_pretrained(tmp_path)
    model = lockstep.NativeModel(tmp_path, n_threads=1)
    ids = token_ids(n=250)
    started = time.perf_counter()
    model.logits(ids)
    duration = time.perf_counter() - started
    thread = threading.Thread(target=model.logits, args=(ids,))
    longest_gap, last = 0.0, time.perf_counter()
    thread.start()
    while thread.is_alive():
        now = time.perf_counter()
        longest_gap, last = max(longest_gap, now - last), now
    thread.join()
    assert longest_gap < duration / 2, f"Python stalled {longest_gap:.3f}s during a {duration:.3f}s call"


# --- bad input ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(hf_folder):
    return lockstep.NativeModel(hf_folder("llama"), n_ctx=16)


@pytest.mark.parametrize("ids, error, match", [
    ([], ValueError, "no tokens"),
    ([1, VOCAB], ValueError, rf"token id {VOCAB} is outside the vocabulary \[0, {VOCAB}\)"),
    ([-1, 2], ValueError, "token id -1 is outside"),
    ([2**40], ValueError, "outside the vocabulary"),
    ([[1, 2]], ValueError, "1-d"),
    ([1.5, 2.0], TypeError, "integers"),
    (list(range(17)), ValueError, "exceed the context length 16"),
])
def test_bad_input_is_a_clear_exception(small, ids, error, match):
    with pytest.raises(error, match=match):
        small.logits(ids)


def test_a_context_overflow_leaves_the_context_as_it_was(small):
    small.reset()
    small.eval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    with pytest.raises(ValueError, match="10 tokens in context \\+ 7 new ones exceed the context length 16"):
        small.eval([1] * 7)
    assert small.n_past == 10
    assert small.eval([1] * 6).shape == (6, VOCAB)


def test_unknown_capture_point_is_named(small):
    with pytest.raises(ValueError, match="unknown capture point 'attn' .*l_out"):
        small.logits([1, 2], capture=["attn"])


# --- malformed models -------------------------------------------------------------------------


def edited_copy(source, target, config_edit=None, tensors_edit=None):
    import safetensors.numpy

    config = json.loads((source / "config.json").read_text())
    if config_edit:
        config_edit(config)
    target.mkdir(exist_ok=True)
    (target / "config.json").write_text(json.dumps(config))
    tensors = safetensors.numpy.load_file(source / "model.safetensors")
    if tensors_edit:
        tensors_edit(tensors)
    safetensors.numpy.save_file(tensors, target / "model.safetensors")
    return target


@pytest.mark.parametrize("config_edit, tensors_edit, match", [
    (lambda c: c.update(model_type="gpt2"), None, "unsupported architecture 'gpt2'"),
    (lambda c: c.pop("hidden_size"), None, "hidden_size is missing"),
    (lambda c: c.update(num_key_value_heads=3), None, "must divide the head count"),
    (lambda c: c.update(hidden_act="gelu"), None, "hidden_act 'gelu' is not supported"),
    (lambda c: c.update(rope_parameters={"rope_type": "yarn", "factor": 2.0}), None, "rope scaling 'yarn'"),
    (None, lambda t: t.pop("model.layers.1.mlp.up_proj.weight"), "blk.1.ffn_up.weight: missing"),
    (None, lambda t: t.update({"model.layers.0.self_attn.q_proj.weight": np.zeros((64, 32), np.float32)}),
     r"blk.0.attn_q.weight: shape \[32, 64\], expected \[64, 64\]"),
    (None, lambda t: t.update({"model.layers.0.mlp.up_proj.weight": np.zeros((128, 64), np.int8)}), "dtype I8"),
    (None, lambda t: t.update({"model.layers.0.extra.weight": np.zeros(4, np.float32)}), "not part of the architectures"),
])
def test_malformed_models_are_format_errors(hf_folder, tmp_path, config_edit, tensors_edit, match):
    folder = edited_copy(hf_folder("llama"), tmp_path / "bad", config_edit, tensors_edit)
    with pytest.raises(lockstep.FormatError, match=match):
        lockstep.NativeModel(folder)


def test_a_missing_file_or_a_folder_without_a_model_is_a_clear_error(tmp_path):
    # load() routes first (as inspect does): a missing path is FileNotFoundError, a folder
    # that holds no model is RouteError saying what it lacks (both exit 5 in the CLI).
    with pytest.raises(FileNotFoundError, match="no such model file"):
        lockstep.load(tmp_path / "absent.gguf")
    (tmp_path / "folder").mkdir()
    with pytest.raises(lockstep.RouteError, match="without config.json"):
        lockstep.load(tmp_path / "folder")


def test_unknown_backend_is_named():
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        lockstep.load("x.gguf", backend="tensorrt")
