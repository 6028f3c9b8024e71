"""lockstep zoo / lockstep.zoo: a sweep over converted zoo models, the default model, a model
the native engine cannot run and a broken file; its columns against independent readings
(hashlib, the gguf package, a direct crossval); resuming after the process is killed; the
same rows on a Dask LocalCluster; a killed worker's cell as an error row."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import gguf
import numpy as np
import pandas as pd
import pytest

import lockstep
from crossval_cli import lockstep_path
from crossval_models import TinyLlama, write_tiny_llama
from lockstep.zoo.cells import COLUMNS

PROMPTS = ['"The capital of France is"', '{"messages": [{"role": "user", "content": "Count to three."}]}']
# Real English prose that ships with every Python: its licence (as tests/test_kld.py).
CORPUS = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
METRICS = ["mean_kl", "p99_kl", "max_kl", "top1_agreement", "min_cosine"]


@pytest.fixture(scope="module")
def sweep_inputs(converted, tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    models = root / "models"
    models.mkdir()
    for name, out_type in (("llama", "q8_0"), ("qwen2", "f16")):
        os.symlink(converted(name, out_type), models / f"{name}-{out_type}.gguf")
    (models / "broken.gguf").write_bytes(b"GGUF but not really")
    prompts = root / "prompts.jsonl"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    return {"root": root, "models": models, "prompts": prompts}


@pytest.fixture(scope="module")
def local_sweep(sweep_inputs):
    """The folder of tiny models plus the default model, on llama.cpp and native, here."""
    out = sweep_inputs["root"] / "local.parquet"
    frame = lockstep.zoo([sweep_inputs["models"], lockstep.default_model_path()], sweep_inputs["prompts"],
                         backends="llama.cpp,native", out=out, csv=out.with_suffix(".csv"), n_threads=1)
    return frame, out


def test_a_row_per_cell_with_every_documented_column(local_sweep, sweep_inputs):
    frame, out = local_sweep
    assert list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert len(frame) == 4 * len(PROMPTS)  # 3 models with one pair each, and the broken file
    on_disk = pd.read_parquet(out)
    pd.testing.assert_frame_equal(on_disk, frame, check_dtype=False)
    assert len(pd.read_csv(out.with_suffix(".csv"))) == len(frame)

    ran = frame[frame["verdict"] != "error"]
    assert set(ran["verdict"]) == {"pass"} and (ran["exit_code"] == 0).all()
    assert set(zip(ran["reference"], ran["test"])) == {("llama.cpp", "native")}
    assert ran["reference_version"].str.startswith("llama-cpp-python 0.3.36").all()
    assert ran["test_version"].str.startswith("lockstep ").all()
    assert (ran["n_tokens"] > 3).all() and ran[METRICS].notna().all().all()
    assert (ran["lockstep_version"] == f"lockstep {lockstep.__version__}").all()

    for model, rows in ran.groupby("model"):
        path = Path(model)
        assert rows["model_sha256"].iloc[0] == hashlib.sha256(path.read_bytes()).hexdigest()
        reader = gguf.GGUFReader(path)
        arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
        assert rows["architecture"].iloc[0] == arch
        types = {t.tensor_type.name for t in reader.tensors}
        assert set(rows["quant_types"].iloc[0].split(",")) == types
    assert {"Q8_0", "F16", "Q4_1"} <= {t for q in ran["quant_types"] for t in q.split(",")}

    broken = frame[frame["model"].str.endswith("broken.gguf")]
    assert len(broken) == len(PROMPTS) and (broken["verdict"] == "error").all()
    assert (broken["exit_code"] == 5).all() and broken["error"].str.contains("broken.gguf").all()


def test_rows_are_the_crossval_of_the_cell(local_sweep, sweep_inputs):
    frame, _ = local_sweep
    row = frame[frame["model"].str.contains("qwen2") & (frame["prompt_index"] == 0)].iloc[0]
    report = lockstep.crossval(row["model"], "The capital of France is", backends=("llama.cpp", "native"), n_threads=1)
    summary = report.pairs[0].summary()
    for name in METRICS:
        assert row[name] == pytest.approx(summary[name], rel=1e-6, abs=1e-12), name
    assert row["n_tokens"] == len(report.tokens["native"])


def test_native_cannot_run_it_so_the_others_are_compared(zoo, tmp_path):
    # IQ4_NL weights (quantized by llama.cpp): llama.cpp and transformers read them, the native
    # engine does not.
    import ctypes

    import llama_cpp

    source = write_tiny_llama(tmp_path / "f32.gguf", TinyLlama())
    iq4_nl = tmp_path / "iq4_nl.gguf"
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype, params.nthread = llama_cpp.LLAMA_FTYPE_MOSTLY_IQ4_NL, 1
    assert llama_cpp.llama_model_quantize(str(source).encode(), str(iq4_nl).encode(), ctypes.byref(params)) == 0
    assert "IQ4_NL" in {stat.type for stat in lockstep.inspect(iq4_nl).tensor_types}
    folder = zoo("llama")
    frame = lockstep.zoo([iq4_nl, folder], ["The capital of France is"], backends="native,llama.cpp,hf",
                         out=None, progress=False, n_threads=1)
    by_model = {Path(m).name: rows for m, rows in frame.groupby("model")}
    assert list(zip(by_model["iq4_nl.gguf"]["reference"], by_model["iq4_nl.gguf"]["test"])) == [("llama.cpp", "hf")]
    assert by_model["iq4_nl.gguf"]["verdict"].iloc[0] == "pass"
    assert list(zip(by_model["llama"]["reference"], by_model["llama"]["test"])) == [("native", "hf")]


def test_a_model_no_pair_can_run_is_a_row_with_the_reason(zoo):
    frame = lockstep.zoo([zoo("llama")], ["Hi"], backends="llama.cpp,native", out=None, progress=False)
    row = frame.iloc[0]
    assert row["verdict"] == "error" and row["exit_code"] == 5
    assert "llama.cpp runs GGUF files" in row["error"] and "native runs it" in row["error"]


def test_a_rerun_after_a_kill_computes_only_the_missing_cells(sweep_inputs, tmp_path):
    out, store = tmp_path / "resumed.parquet", tmp_path / "resumed.cells"
    command = [sys.executable, "-m", "lockstep", "zoo", "--models", str(sweep_inputs["models"]),
               "--prompts", str(sweep_inputs["prompts"]), "--backends", "llama.cpp,native", "--out", str(out),
               "--threads", "1"]
    env = {**os.environ, "PYTHONPATH": lockstep_path()}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while len(list(store.glob("*.json"))) < 3 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_before = {p.stem for p in store.glob("*.json")}
    assert 3 <= len(done_before) < 3 * len(PROMPTS) and not out.exists()

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 1, second.stderr  # the broken file's cells are errors
    frame = pd.read_parquet(out)
    assert len(frame) == 3 * len(PROMPTS)
    assert set(frame.loc[frame["cached"], "key"]) == done_before
    assert f"{len(frame) - len(done_before)} computed" in second.stderr
    assert "lockstep zoo" in second.stderr  # the summary table

    forced = subprocess.run(command + ["--force"], env=env, capture_output=True, text=True, timeout=900)
    assert not pd.read_parquet(out)["cached"].any(), forced.stderr


def test_local_cluster_gives_the_same_rows_and_loads_each_model_once_per_worker(local_sweep, sweep_inputs, tmp_path):
    pytest.importorskip("distributed")
    local, _ = local_sweep
    tiny = local[~local["model"].str.endswith(Path(lockstep.default_model_path()).name)]
    frame = lockstep.zoo([sweep_inputs["models"]], sweep_inputs["prompts"], backends="llama.cpp,native",
                         out=tmp_path / "dask.parquet", scheduler="local:2", n_threads=1, progress=False)
    key = ["model", "prompt_index", "reference", "test"]
    a, b = tiny.sort_values(key).reset_index(drop=True), frame.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[key + ["verdict", "exit_code", "n_tokens", "key"]],
                                  b[key + ["verdict", "exit_code", "n_tokens", "key"]], check_dtype=False)
    np.testing.assert_allclose(a[METRICS].to_numpy(float), b[METRICS].to_numpy(float), rtol=1e-6, atol=1e-12)
    ran = b[b["verdict"] != "error"]
    loads = ran[ran["loaded"].astype(bool)].groupby(["worker", "model"]).size()
    assert (loads == 1).all(), loads  # each worker loaded each model it ran once


def test_a_killed_workers_cell_is_an_error_row_and_the_sweep_goes_on(sweep_inputs, tmp_path):
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                           silence_logs=50)
    with cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        killed: list[str] = []

        def kill_the_first_busy_worker():
            deadline = time.monotonic() + 300
            while not killed and time.monotonic() < deadline:
                busy = [address for address, keys in client.processing().items() if keys]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
                time.sleep(0.02)

        killer = threading.Thread(target=kill_the_first_busy_worker)
        killer.start()
        out = tmp_path / "killed.parquet"
        frame = lockstep.zoo([sweep_inputs["models"]], sweep_inputs["prompts"], backends="llama.cpp,native",
                             out=out, scheduler=client, n_threads=1, progress=False)
        killer.join()
    assert killed
    assert len(frame) == 3 * len(PROMPTS)
    lost = frame[frame["error"].fillna("").str.contains("KilledWorker")]
    assert len(lost) >= 1 and (lost["verdict"] == "error").all()
    others = frame.drop(lost.index)
    assert set(others.loc[~others["model"].str.endswith("broken.gguf"), "verdict"]) <= {"pass"}
    # A lost cell is not stored: the rerun computes exactly those.
    rerun = lockstep.zoo([sweep_inputs["models"]], sweep_inputs["prompts"], backends="llama.cpp,native", out=out,
                         n_threads=1, progress=False)
    assert set(rerun.loc[~rerun["cached"], "key"]) == set(lost["key"])
    assert not rerun["error"].fillna("").str.contains("KilledWorker").any()


def test_a_corpus_is_scored_per_model_and_pair_as_kld_scores_it(sweep_inputs, tmp_path):
    """--corpus adds one cell per model and pair: lockstep kld's statistics as columns, kept in
    the store under the corpus's content and window size like any cell."""
    from lockstep.dispatch.corpus import corpus_divergence

    models = [sweep_inputs["models"] / "llama-q8_0.gguf", lockstep.default_model_path()]
    out = tmp_path / "corpus.parquet"
    sweep = dict(backends="llama.cpp,native", out=out, corpus=CORPUS, ctx=64, chunks=2, n_threads=1, progress=False)
    frame = lockstep.zoo(models, **sweep)
    assert len(frame) == 2 and list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert (frame["verdict"] == "pass").all() and frame["prompt"].str.contains("LICENSE.txt").all(), frame["error"]
    for _, row in frame.iterrows():
        direct = corpus_divergence(row["model"], CORPUS, "llama.cpp,native", ctx=64, max_windows=2, n_threads=1)
        for name in ("mean_kld", "p99_kld", "same_top_p", "ppl_base", "ppl_test", "rms_delta_p"):
            assert row[name] == pytest.approx(direct.statistics[name], rel=1e-9), name
        assert row["mean_kl"] == row["mean_kld"] and row["top1_agreement"] == row["same_top_p"]
        assert row["n_windows"] == 2 and row["n_tokens"] == direct.n_tokens
    assert lockstep.zoo(models, **sweep)["cached"].all()
    assert not lockstep.zoo(models, **{**sweep, "ctx": 32})["cached"].any()  # another window size: new cells


def test_a_sweep_without_prompts_or_corpus_is_a_usage_error(capsys):
    from lockstep.cli.main import main

    assert main(["zoo", "--models", str(lockstep.default_model_path())]) == 64
    assert "--prompts FILE, --corpus FILE.txt, or both" in capsys.readouterr().err
