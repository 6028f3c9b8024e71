"""Threads: logits from several threads on one NativeModel and on separate ones give exactly
the serial results; stateful calls on a busy context refuse with ConcurrentUseError;
several crossval runs at once in one process give the serial reports; every long C++ call
lets another Python thread run meanwhile (the GIL is released).

The model is the real default one (SmolLM2-135M Q4_1), so the engine's thread pool, the
memory map and the tokenizer are the ones users run; references are the same calls made
one after another on one thread.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import lockstep as ls
from lockstep.errors import ConcurrentUseError

PROMPTS = ("The capital of France is", "def fibonacci(n):", "Once upon a time, in a land far away,",
           "1, 2, 3, 5, 8, 13,", "Les enfants jouent dans le jardin.", "import numpy as np")


@pytest.fixture(scope="module")
def model_path():
    return ls.default_model_path()


@pytest.fixture(scope="module")
def shared(model_path):
    return ls.NativeModel(model_path, n_threads=2)


@pytest.fixture(scope="module")
def prompt_ids(shared):
    return [shared.tokenize(p) for p in PROMPTS]


@pytest.fixture(scope="module")
def serial(shared, prompt_ids):
    return [np.array(shared.logits(ids)) for ids in prompt_ids]


def _in_threads(fn, items, n_threads=6):
    barrier = threading.Barrier(min(n_threads, len(items)))

    def run(item):
        barrier.wait()  # start together, so the calls overlap
        return fn(item)

    with ThreadPoolExecutor(n_threads) as pool:
        return list(pool.map(run, items))


def test_logits_from_threads_on_one_model_are_the_serial_ones(shared, prompt_ids, serial):
    for _ in range(2):
        results = _in_threads(lambda ids: np.array(shared.logits(ids)), prompt_ids)
        for got, want in zip(results, serial):
            np.testing.assert_array_equal(got, want)


def test_logits_from_threads_on_separate_models_are_the_serial_ones(model_path, prompt_ids, serial):
    models = [ls.NativeModel(model_path, n_threads=1) for _ in range(3)]
    jobs = [(models[i % 3], ids) for i, ids in enumerate(prompt_ids)]
    results = _in_threads(lambda job: np.array(job[0].logits(job[1])), jobs)
    for got, want in zip(results, serial):
        np.testing.assert_array_equal(got, want)


def test_captures_from_threads_are_the_serial_ones(shared, prompt_ids):
    want = [shared.capture(ids, ["l_out"])["l_out"].copy() for ids in prompt_ids[:3]]
    got = _in_threads(lambda ids: shared.capture(ids, ["l_out"])["l_out"].copy(), prompt_ids[:3])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_stateful_calls_on_a_busy_context_raise_concurrent_use(shared, prompt_ids):
    long_ids = np.concatenate([prompt_ids[2]] * 12)  # a prefill long enough to be caught inside
    started, errors = threading.Event(), []

    def hog():
        started.set()
        shared.logits(long_ids)

    for call in (lambda: shared.eval(prompt_ids[0]), shared.reset, lambda: shared.rewind(0)):
        worker = threading.Thread(target=hog)
        worker.start()
        started.wait()
        deadline = time.monotonic() + 5
        while worker.is_alive() and time.monotonic() < deadline:
            try:
                call()
            except ConcurrentUseError as error:
                errors.append(str(error))
                break
            time.sleep(0.001)
        worker.join()
        started.clear()
    assert len(errors) == 3, errors
    assert all("another thread is using this model's context" in e and "its own model" in e for e in errors)
    assert "NativeModel.eval" in errors[0] and "NativeModel.reset" in errors[1] and "NativeModel.rewind" in errors[2]
    # The model is intact afterwards: the refused calls changed nothing.
    np.testing.assert_array_equal(shared.logits(prompt_ids[0]), shared.logits(prompt_ids[0]))


def test_eval_after_a_refusal_continues_its_own_context(shared, prompt_ids, serial):
    ids = prompt_ids[1]
    shared.reset()
    first = np.array(shared.eval(ids[:3]))
    rest = np.array(shared.eval(ids[3:]))
    np.testing.assert_array_equal(np.concatenate([first, rest]), serial[1])


def _report_json(report):
    import json

    data = json.loads(report.to_json())
    data.pop("timing", None)
    for side in data.get("backends", []):
        if isinstance(side, dict):
            side.pop("seconds", None)
            side.pop("load_seconds", None)
    return data


def test_crossval_runs_at_once_in_one_process_give_the_serial_reports(model_path):
    from lockstep.dispatch.specs import prepare_backend

    def run(job):
        # The second side is loaded by the job itself, with the fault when there is one.
        prompt, fault = job
        other = prepare_backend("native", model_path, n_threads=1, inject_fault=fault)
        return ls.crossval(model_path, prompt=prompt, backends=("native", other), template="raw",
                           localize=False, noise_floor=False, n_threads=1, steps=2)

    jobs = [(PROMPTS[0], None), (PROMPTS[1], "rms-eps-x100"), (PROMPTS[3], None), (PROMPTS[4], "rms-eps-x100")]
    want = [run(job) for job in jobs]
    got = _in_threads(run, jobs, n_threads=4)
    for g, w in zip(got, want):
        assert (g.passed, g.exit_code, g.first_divergence) == (w.passed, w.exit_code, w.first_divergence)
        assert _strip_times(_report_json(g)) == _strip_times(_report_json(w))
    assert [r.passed for r in want] == [True, False, True, False]


def _strip_times(value):
    """The report without anything measured in seconds (wall time differs between runs)."""
    if isinstance(value, dict):
        return {k: _strip_times(v) for k, v in value.items() if "second" not in k and "time" not in k}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


# --- the GIL is released in every long C++ call --------------------------------------------


def _ticks_during(call):
    """Runs call() on this thread, again and again for a fifth of a second at least, while
    another thread ticks every half millisecond; returns the ticks seen strictly inside the
    calls and the time spent inside them. A call that held the GIL throughout would see none."""
    ticks, stop, windows = [], threading.Event(), []

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.0005)

    thread = threading.Thread(target=ticker)
    thread.start()
    time.sleep(0.01)
    begin = time.monotonic()
    while time.monotonic() - begin < 0.2 or not windows:
        start = time.monotonic()
        call()
        windows.append((start, time.monotonic()))
    stop.set()
    thread.join()
    margin = 0.001
    inside = sum(any(s + margin < t < e - margin for s, e in windows) for t in ticks)
    return inside, sum(e - s for s, e in windows)


def _long_calls(model_path):
    """(name, zero-argument call) for each long entry point into C++, with inputs that take
    some tens of milliseconds at least."""
    model = ls.NativeModel(model_path, n_threads=1)
    text = " ".join(PROMPTS) * 4000
    ids = model.tokenize(text)[:48]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((96, model.n_vocab), dtype=np.float32)
    b = a + rng.standard_normal(a.shape, dtype=np.float32) * 0.01
    weights = rng.standard_normal((2048, 4096), dtype=np.float32)
    q4 = ls.quantize(weights, "Q4_0")
    return [
        ("NativeModel(path)", lambda: ls.NativeModel(model_path, n_threads=1)),
        ("NativeModel.logits", lambda: model.logits(ids)),
        ("NativeModel.eval", lambda: (model.reset(), model.eval(ids))),
        ("NativeModel.tokenize", lambda: model.tokenize(text)),
        ("Tokenizer.from_file", lambda: ls.Tokenizer.from_file(model_path)),
        ("Tokenizer.encode", lambda: model.tokenizer.encode(text)),
        ("Tokenizer.decode", lambda: model.tokenizer.decode(np.tile(ids, 4000))),
        ("gguf.open", lambda: ls.gguf.open(model_path)),
        ("compare_logits", lambda: ls.compare_logits(a, b)),
        ("quantize", lambda: ls.quantize(weights, "Q4_0")),
        ("dequantize", lambda: ls.dequantize(q4, "Q4_0", weights.shape)),
        ("crossval", lambda: ls.crossval(model_path, prompt=PROMPTS[2], backends=("native", "native"), template="raw",
                                         localize=False, noise_floor=False, n_threads=1)),
    ]


def test_long_cpp_calls_let_other_threads_run(model_path):
    held = []
    for name, call in _long_calls(model_path):
        inside, seconds = _ticks_during(call)
        # At one tick per half millisecond, 50 ms of calls that release the GIL see dozens.
        assert seconds > 0.05, f"{name} took {seconds * 1000:.1f} ms in all: too short to show anything; give it more work"
        if inside < 3:
            held.append(f"{name}: {inside} ticks in {seconds * 1000:.0f} ms")
    assert not held, f"these calls held the GIL: {held}"
