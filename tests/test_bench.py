"""`lockstep bench` and the measurement it shares with benchmarks/bench_engine.py
(lockstep.backends.speed, lockstep.backends.peak_memory), and benchmarks/roofline.py's model
arithmetic. A tiny zoo model, pp 8 / tg 4, one repeat: the figures are checked for shape and
consistency (tokens/s = tokens / measured seconds, the timed runs fit inside the wall clock),
KV cache bytes against the GGUF metadata read by the gguf package, peak RSS against the
process that asked for it, and the exit codes of bad input."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import gguf
import numpy as np
import pytest

from crossval_cli import HIDE_LLAMA_CPP, lockstep_path
from lockstep.backends.peak_memory import measure_peak_memory
from lockstep.backends.speed import interleaved, median
from lockstep.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ("--pp", "8", "--tg", "4", "--repeats", "1", "--threads", "1")



@pytest.fixture(scope="module")
def model(converted) -> Path:
    return converted("llama", "q8_0")


def bench(capsys, *args: str) -> tuple[int, str, str, float]:
    start = time.perf_counter()
    code = main(["bench", *map(str, args)])
    wall = time.perf_counter() - start
    out, err = capsys.readouterr()
    return code, out, err, wall


def metadata(path: Path) -> dict[str, int]:
    reader = gguf.GGUFReader(path)
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()

    def value(key: str) -> int:
        return int(reader.fields[f"{arch}.{key}"].parts[-1][0])

    n_head = value("attention.head_count")
    return {"n_layer": value("block_count"), "n_head_kv": value("attention.head_count_kv"),
            "head_dim": value("embedding_length") // n_head}


def test_json_rows_are_consistent(model, capsys):
    code, out, err, wall = bench(capsys, "--model", model, *FLAGS, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["path"] == str(model) and report["threads"] == 1 and report["repeats"] == 1
    assert report["n_ctx"] == 8 + 16
    assert [row["test"] for row in report["results"]] == ["pp8", "tg4"]
    timed = 0.0
    for row, n in zip(report["results"], (8, 4)):
        assert row["n_tokens"] == n and row["file"] == model.name
        for key in ("native", "llamacpp"):
            seconds = row[f"{key}_seconds"]
            assert len(seconds) == 1 and all(s > 0 for s in seconds)
            assert row[f"{key}_median_seconds"] == statistics.median(seconds)
            assert row[f"{key}_tokens_per_s"] == pytest.approx(n / statistics.median(seconds), rel=1e-12)
            timed += sum(seconds)
        assert row["ratio"] == pytest.approx(row["native_tokens_per_s"] / row["llamacpp_tokens_per_s"], rel=1e-12)
    # The timed runs happened inside this call: together they take less than its wall clock.
    assert 0 < timed < wall
    assert "pp8" in err and "tg4" in err  # progress on stderr, JSON alone on stdout


def test_peak_memory_against_the_gguf_metadata(model, capsys):
    code, out, err, _ = bench(capsys, "--model", model, "--backend", "native", *FLAGS, "--format", "json")
    assert code == 0, err
    memory = json.loads(out)["memory"]
    m = metadata(model)
    # src/model/kv_cache.h: float32 keys and values, [position][kv_head][head_dim] per layer
    assert memory["kv_cache_bytes"] == m["n_layer"] * 24 * m["n_head_kv"] * m["head_dim"] * 2 * 4
    assert memory["file_bytes"] == model.stat().st_size and memory["n_ctx"] == 24
    assert 0 < memory["baseline_rss_bytes"] < memory["peak_rss_bytes"]
    assert memory["engine_rss_bytes"] == memory["peak_rss_bytes"] - memory["baseline_rss_bytes"]
    total = memory["file_bytes"] + memory["kv_cache_bytes"]
    assert memory["ratio"] == pytest.approx(memory["peak_rss_bytes"] / total)
    assert memory["engine_ratio"] == pytest.approx(memory["engine_rss_bytes"] / total)


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_peak_memory_is_the_childs_own(model):
    # 256 MiB held (and touched) here must not show in the child's peak: it is a fresh process.
    ballast = np.ones(64 << 20, np.float32)
    here = _rss()
    assert here > ballast.nbytes
    memory = measure_peak_memory(model, n_threads=1, n_ctx=24, pp=8, tg=4)
    assert memory.peak_rss_bytes < here - ballast.nbytes // 2
    del ballast


def test_text_table(model, capsys):
    code, out, err, _ = bench(capsys, "--model", model, *FLAGS)
    assert code == 0, err
    lines = out.splitlines()
    assert "1 thread, median of 1" in out and "ratio" in out
    for test in ("pp8", "tg4"):
        (line,) = [line for line in lines if f" {test} " in line]
        numbers = [float(cell) for cell in line.replace("│", " ").split()[1:]]
        assert len(numbers) == 3 and all(x > 0 for x in numbers)  # native, llama.cpp, ratio
        assert numbers[2] == pytest.approx(numbers[0] / numbers[1], rel=0.06, abs=0.01)
    assert "native peak RSS" in out and "llama-cpp-python" in out


def test_native_only_has_no_llama_cpp_columns(model, capsys):
    code, out, err, _ = bench(capsys, "--model", model, "--backend", "native", "--no-memory", *FLAGS,
                              "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["memory"] is None and list(report["versions"]) == ["native"]
    for row in report["results"]:
        assert row["native_tokens_per_s"] > 0
        assert row["llamacpp_tokens_per_s"] is None and row["llamacpp_seconds"] is None and row["ratio"] is None


@pytest.mark.parametrize("flags, message", [
    (("--pp", "0"), "--pp must be at least 1"),
    (("--tg", "-1"), "--tg must be at least 1"),
    (("--repeats", "0"), "--repeats must be at least 1"),
    (("--threads", "0"), "--threads must be at least 1"),
    (("--backend", "hf"), "--backend must be native, llama.cpp or both"),
    (("--pp", "many"), "invalid int value"),
])
def test_exit_64_on_bad_flags(model, capsys, flags, message):
    code, _, err, _ = bench(capsys, "--model", model, *flags)
    assert code == 64 and message in err


def test_exit_5_on_a_missing_or_malformed_model(tmp_path, capsys):
    code, _, err, _ = bench(capsys, "--model", tmp_path / "nothing.gguf", *FLAGS)
    assert code == 5 and "nothing.gguf" in err
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + bytes(20))
    code, _, err, _ = bench(capsys, "--model", bad, *FLAGS)
    assert code == 5 and "bad.gguf" in err


def test_exit_3_without_llama_cpp(model, tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(HIDE_LLAMA_CPP)
    env = {**os.environ, "PYTHONPATH": lockstep_path(shim)}
    result = subprocess.run([sys.executable, "-m", "lockstep", "bench", "--model", str(model), *FLAGS],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 3, result.stderr
    assert "llama.cpp" in result.stderr and 'pip install "lockstep[llamacpp]"' in result.stderr
    assert result.stdout == ""


def test_benchmark_script_shares_the_measurement():
    # benchmarks/bench_engine.py and `lockstep bench` time with one implementation.
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_engine
        import timing
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from lockstep.backends import speed

    assert timing.interleaved is speed.interleaved and timing.median is speed.median
    assert bench_engine.measure_speed is speed.measure_speed


def test_interleaved_alternates_and_times_each_run():
    order: list[str] = []

    def sleeper(name: str, seconds: float):
        return lambda: (order.append(name), time.sleep(seconds))

    times = interleaved({"a": sleeper("a", 0.01), "b": sleeper("b", 0.03)}, repeats=3, warmup=1)
    assert order == ["a", "b"] * 4
    assert all(0.01 <= t < 0.5 for t in times["a"]) and all(0.03 <= t < 0.5 for t in times["b"])
    assert median(times["b"]) > median(times["a"])


def test_roofline_work_per_token(model):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import roofline
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    work = roofline.model_work(model)
    reader = gguf.GGUFReader(model)
    names = {t.name for t in reader.tensors}
    nbytes = {t.name: int(t.n_bytes) for t in reader.tensors}
    # Tied embeddings (the zoo's llama): the embedding is the output head, read whole per token.
    assert "output.weight" not in names
    assert work["weight_bytes"] == sum(nbytes.values())
    assert work["matmul_elements"] == sum(int(t.n_elements) for t in reader.tensors if len(t.shape) == 2)
    assert work["quantized"] and work["weight_type"] == "Q8_0"
    m = metadata(model)
    assert (work["n_layer"], work["n_head_kv"], work["head_dim"]) == (m["n_layer"], m["n_head_kv"], m["head_dim"])
    row = {"model": "tiny", "path": str(model), "test": "tg4", "n_tokens": 4, "threads": 1,
           "native_tokens_per_s": 100.0, "llamacpp_tokens_per_s": None}
    peaks = {1: {"copy": {"bytes_per_s": 1e10}, "fp32": {"ops_per_s": 1e10}, "int8": {"ops_per_s": 2e10}}}
    (decode,) = roofline.roofline_rows([row], peaks)
    kv = m["n_layer"] * 2.5 * m["n_head_kv"] * m["head_dim"] * 2 * 4
    assert decode["bytes_per_token"] == pytest.approx(sum(nbytes.values()) + kv)
    assert decode["fraction"] == pytest.approx(decode["bytes_per_token"] * 100 / 1e10)
    (prefill,) = roofline.roofline_rows([{**row, "test": "pp8", "n_tokens": 8}], peaks)
    assert prefill["roof"] == "int8 peak" and prefill["fraction"] == pytest.approx(prefill["ops_per_token"] * 100 / 2e10)
