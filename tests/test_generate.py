"""`lockstep generate` and lockstep.generate on every backend: greedy decoding against
llama.cpp's and transformers' own greedy decoding, seeded sampling that repeats per backend,
the incremental context (rewind + prefill of what differs) against logits from scratch, stop
strings, and streaming text that is always valid UTF-8."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import lockstep
from lockstep.backends.generate import Context, generate_ids
from lockstep.backends.sampling import SamplingSettings
from lockstep.text.stop_strings import StopStrings
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
    ours = list(generate_ids(model, prompt_ids, SamplingSettings(max_tokens=24)))
    hf = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    with torch.inference_mode():
        produced = hf.generate(torch.as_tensor(prompt_ids[None, :].astype(np.int64)), max_new_tokens=24, do_sample=False,
                               eos_token_id=None, pad_token_id=0)
    assert ours == produced[0, len(prompt_ids):].tolist()


SAMPLED = dict(temperature=1.5, top_k=40, top_p=0.95, min_p=0.01, repeat_penalty=1.1, max_tokens=20)


@pytest.mark.parametrize("backend", ["native", "llama.cpp", "hf"])
def test_seeded_sampling_repeats_per_backend_and_depends_on_the_seed(backend, zoo, converted):
    pytest.importorskip("llama_cpp" if backend == "llama.cpp" else "transformers")
    path = converted("llama", "f32") if backend == "llama.cpp" else zoo("llama")
    model = lockstep.load(path, backend, n_threads=1)
    ids = model.tokenize(PROMPT)
    first = list(generate_ids(model, ids, SamplingSettings(seed=11, **SAMPLED)))
    again = list(generate_ids(model, ids, SamplingSettings(seed=11, **SAMPLED)))
    other = list(generate_ids(model, ids, SamplingSettings(seed=12, **SAMPLED)))
    assert len(first) == 20 and first == again
    assert first != other
    assert first != list(generate_ids(model, ids, SamplingSettings(max_tokens=20)))  # random weights: off the greedy path


@pytest.mark.parametrize("backend", ["native", "llama.cpp", "hf"])
def test_context_prefills_only_what_differs_and_matches_logits_from_scratch(backend, zoo, converted):
    pytest.importorskip("llama_cpp" if backend == "llama.cpp" else "transformers")
    path = converted("llama", "f32") if backend == "llama.cpp" else zoo("llama")
    model = lockstep.load(path, backend, n_threads=1)
    first = model.tokenize("One turn of a conversation")
    second = np.concatenate([first[:-2], model.tokenize(" and then another one", add_special=False)])
    context = Context(model)
    context.prefill(first)
    logits, computed = context.prefill(second)
    assert computed == len(second) - (len(first) - 2)  # the shared prefix was not computed again
    assert model.n_past == len(second)
    np.testing.assert_allclose(logits[-1], model.logits(second)[-1], rtol=1e-4, atol=1e-4)
    _, computed = Context(model).prefill(second)
    assert computed == len(second)


def test_stop_strings_end_the_text_before_them():
    stops = StopStrings(["STOP", "\n\n"])
    shown = [stops.feed(piece) for piece in ["Hello S", "TO", "P after"]]
    assert shown == ["Hello ", "", ""] and stops.stopped  # "S", "STO" held back until "P" decided
    assert stops.feed("more") == "" and stops.flush() == ""
    stops = StopStrings(["STOP"])
    assert [stops.feed(piece) for piece in ["A S", "TO", "RY"]] == ["A ", "", "STORY"] and not stops.stopped
    stops = StopStrings(["<end>"])
    assert stops.feed("a <en") == "a " and stops.flush() == "<en"


def test_generate_stops_at_a_stop_string_on_the_default_model():
    model = lockstep.load(lockstep.default_model_path(), n_threads=1)
    full = "".join(model.generate(PROMPT, max_tokens=16))
    stop = full.split()[1]  # the second word of the greedy continuation
    cut = "".join(model.generate(PROMPT, max_tokens=16, stop=[stop]))
    assert cut == full[: full.index(stop)]


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
    ids = list(generate_ids(model, model.tokenize("Emoji: 😀", parse_special=True),
                            SamplingSettings(max_tokens=30, temperature=2.0, seed=5), stop_ids=model.eos_ids))
    assert "".join(pieces) == model.detokenize(ids)


def test_bad_arguments():
    pytest.importorskip("transformers")
    from lockstep.zoo.synthetic import tiny_model

    model = lockstep.load(tiny_model("llama"), n_threads=1)
    with pytest.raises(ValueError, match="temperature"):
        list(model.generate("x", 3, temperature=-1))
    with pytest.raises(ValueError, match="max_tokens"):
        list(model.generate("x", -1))
    out = subprocess.run([sys.executable, "-m", "lockstep", "generate", "--model", "x", "--prompt", "y",
                          "--max-tokens", "-3"], capture_output=True, text=True, check=False)
    assert out.returncode == 64
    out = subprocess.run([sys.executable, "-m", "lockstep", "generate", "--model", "x", "--prompt", "y",
                          "--top-p", "0"], capture_output=True, text=True, check=False)
    assert out.returncode == 64 and "top_p" in out.stderr
    out = subprocess.run([sys.executable, "-m", "lockstep", "generate", "--model", "/nonexistent.gguf", "--prompt", "y"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 5, out.stderr
