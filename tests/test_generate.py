"""`lockstep generate` and lockstep.generate: greedy decoding against llama.cpp's and
transformers' own greedy decoding, seeded sampling, and streaming text that is always valid UTF-8."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import lockstep
from lockstep.backends.generate import generate_ids, pick_token
from lockstep.text.utf8_stream import Utf8Stream

PROMPT = "The capital of France is"


def llamacpp_greedy(path, prompt: str, n: int) -> list[int]:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, n_threads=1, logits_all=True, verbose=False)
    ids = llm.tokenize(prompt.encode(), add_bos=True, special=True)
    out = []
    llm.eval(ids)
    for _ in range(n):
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        if token == llm.token_eos():
            break
        out.append(token)
        llm.eval([token])
    return out, llm


def test_cli_greedy_text_is_llamacpps_on_the_default_model():
    pytest.importorskip("llama_cpp")
    pytest.importorskip("transformers")
    path = lockstep.default_model_path()
    tokens, llm = llamacpp_greedy(path, PROMPT, 16)
    assert len(tokens) == 16  # no early end of sequence: all 16 are compared
    expected = llm.detokenize(tokens).decode("utf-8", errors="replace")
    out = subprocess.run([sys.executable, "-m", "lockstep", "generate", "--model", str(path), "--prompt", PROMPT,
                          "--max-tokens", "16", "--threads", "1"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout == expected + "\n"
    assert f"{len(tokens)} generated" in out.stderr


def test_greedy_tokens_are_transformers_greedy_on_a_zoo_model():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from lockstep.zoo.synthetic import tiny_model

    path = tiny_model("qwen2")
    model = lockstep.load(path, n_threads=1)
    prompt_ids = model.tokenize(PROMPT)
    ours = list(generate_ids(model, prompt_ids, max_tokens=24))
    hf = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    with torch.inference_mode():
        produced = hf.generate(torch.as_tensor(prompt_ids[None, :].astype(np.int64)), max_new_tokens=24, do_sample=False,
                               eos_token_id=None, pad_token_id=0)
    assert ours == produced[0, len(prompt_ids):].tolist()


def test_seeded_sampling_repeats_and_depends_on_the_seed():
    pytest.importorskip("transformers")
    from lockstep.zoo.synthetic import tiny_model

    model = lockstep.load(tiny_model("llama"), n_threads=1)
    ids = model.tokenize(PROMPT)
    first = list(generate_ids(model, ids, 20, temperature=1.5, seed=11))
    again = list(generate_ids(model, ids, 20, temperature=1.5, seed=11))
    other = list(generate_ids(model, ids, 20, temperature=1.5, seed=12))
    assert first == again
    assert first != other
    assert first != list(generate_ids(model, ids, 20))  # random weights: sampling leaves the greedy path


def test_sampling_follows_the_softmax_at_the_temperature():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    rng = np.random.default_rng(0)
    for temperature in (1.0, 0.5):
        expected = np.exp(logits / temperature)
        expected /= expected.sum()
        draws = np.bincount([pick_token(logits, temperature, rng) for _ in range(20000)], minlength=4) / 20000
        np.testing.assert_allclose(draws, expected, atol=0.015)
    assert pick_token(logits, 0.0, rng) == 0


def test_stream_never_cuts_a_character():
    text = "naïve 😀 日本語 ok"
    data = text.encode("utf-8")
    stream = Utf8Stream()
    pieces = [stream.feed(data[i:i + 1]) for i in range(len(data))] + [stream.flush()]
    assert "".join(pieces) == text
    assert all(piece.encode("utf-8").decode("utf-8") == piece for piece in pieces)
    # Bytes that never form a character come out as U+FFFD, as Python's own "replace" does.
    broken = b"ok \xff\xfe then \xf0\x9f\x98"
    stream = Utf8Stream()
    assert "".join([stream.feed(broken[:5]), stream.feed(broken[5:]), stream.flush()]) == broken.decode(
        "utf-8", errors="replace")


def test_streamed_text_is_the_detokenized_ids():
    pytest.importorskip("transformers")
    from lockstep.zoo.synthetic import tiny_model

    model = lockstep.load(tiny_model("llama"), n_threads=1)
    pieces = list(model.generate("Emoji: 😀", max_tokens=30, temperature=2.0, seed=5))
    ids = list(generate_ids(model, model.tokenize("Emoji: 😀", parse_special=True), 30, temperature=2.0, seed=5,
                            stop_ids=model.eos_ids))
    assert "".join(pieces) == model.detokenize(ids)


def test_bad_arguments():
    pytest.importorskip("transformers")
    from lockstep.zoo.synthetic import tiny_model

    model = lockstep.load(tiny_model("llama"), n_threads=1)
    with pytest.raises(ValueError, match="temperature"):
        list(generate_ids(model, [1, 2], 3, temperature=-1))
    with pytest.raises(ValueError, match="max_tokens"):
        list(generate_ids(model, [1, 2], -1))
    out = subprocess.run([sys.executable, "-m", "lockstep", "generate", "--model", "x", "--prompt", "y",
                          "--max-tokens", "-3"], capture_output=True, text=True, check=False)
    assert out.returncode == 64
    out = subprocess.run([sys.executable, "-m", "lockstep", "generate", "--model", "/nonexistent.gguf", "--prompt", "y"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 5, out.stderr
