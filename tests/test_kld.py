"""lockstep kld: corpus divergence of llama.cpp and native on the default model, against an
independent numpy computation of llama-perplexity's statistics (their definitions in
llama.cpp's tools/perplexity/perplexity.cpp); the CLI's JSON; the tokenization gate."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import gguf
import numpy as np
import pytest

import lockstep
from crossval_cli import lockstep_path
from crossval_models import TinyLlama, copy_gguf, rope_layout_swapped, write_tiny_llama
from lockstep.dispatch.corpus import _gated_tokens, corpus_divergence
from lockstep.errors import CorpusTokenMismatch

CTX, WINDOWS = 128, 4
# Real English prose that ships with every Python: its licence.
CORPUS = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"


@pytest.fixture(scope="module")
def result():
    return corpus_divergence(lockstep.default_model_path(), CORPUS, "both", ctx=CTX, n_threads=1,
                             max_windows=WINDOWS)


def independent_values(model: Path):
    """Per scored token, from each backend's raw logits: log-softmax in float64 by numpy."""
    base = lockstep.load(model, "llama.cpp", n_threads=1, n_ctx=CTX)
    test = lockstep.load(model, "native", n_threads=1, n_ctx=CTX)
    tokens = base.tokenize(CORPUS.read_text(), add_special=True, parse_special=False)
    out = {k: [] for k in ("kld", "nll_base", "nll_test", "delta_p", "same_top")}
    first = CTX // 2
    for w in range(WINDOWS):
        ids = tokens[w * CTX:(w + 1) * CTX].copy()
        if base.bos_id() >= 0 and tokens[0] == base.bos_id():
            ids[0] = base.bos_id()
        logp = []
        for engine in (base, test):
            x = np.array(engine.logits(ids), dtype=np.float64)[first:CTX - 1]
            x -= x.max(axis=1, keepdims=True)
            logp.append(x - np.log(np.exp(x).sum(axis=1, keepdims=True)))
        lb, lt = logp
        nxt = tokens[w * CTX + first + 1:(w + 1) * CTX]
        rows = np.arange(len(nxt))
        out["kld"].append((np.exp(lb) * (lb - lt)).sum(axis=1))
        out["nll_base"].append(-lb[rows, nxt])
        out["nll_test"].append(-lt[rows, nxt])
        out["delta_p"].append(np.exp(lt[rows, nxt]) - np.exp(lb[rows, nxt]))
        out["same_top"].append(lb.argmax(axis=1) == lt.argmax(axis=1))
    return {k: np.concatenate(v) for k, v in out.items()}


def test_statistics_agree_with_an_independent_computation(result):
    v = independent_values(lockstep.default_model_path())
    n = len(v["kld"])
    assert n == WINDOWS * (CTX - 1 - CTX // 2) == result.statistics["count"]
    np.testing.assert_allclose(result.positions["kld"], v["kld"], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(result.positions["delta_p"], v["delta_p"], rtol=1e-5, atol=1e-9)

    def sem(x):  # llama-perplexity: sqrt(var / (n - 1)) with the population variance
        return np.std(x) / np.sqrt(n - 1)

    s = result.statistics
    cov = np.cov(v["nll_test"], v["nll_base"], bias=True)[0, 1] / (n - 1)
    expected = {
        "ppl_test": np.exp(v["nll_test"].mean()), "ppl_base": np.exp(v["nll_base"].mean()),
        "ppl_test_unc": np.exp(v["nll_test"].mean()) * sem(v["nll_test"]),
        "ln_ppl_ratio": v["nll_test"].mean() - v["nll_base"].mean(),
        "ln_ppl_ratio_unc": np.sqrt(sem(v["nll_test"]) ** 2 + sem(v["nll_base"]) ** 2 - 2 * cov),
        "ln_ppl_correlation": np.corrcoef(v["nll_test"], v["nll_base"])[0, 1],  # cov / (unc * unc) is Pearson's
        "mean_kld": v["kld"].mean(), "mean_kld_unc": sem(v["kld"]), "max_kld": v["kld"].max(),
        "median_kld": np.median(v["kld"]), "p99_kld": np.quantile(v["kld"], 0.99),
        "p90_kld": np.quantile(v["kld"], 0.90), "min_kld": v["kld"].min(),
        "mean_delta_p": v["delta_p"].mean(), "p99_delta_p": np.quantile(v["delta_p"], 0.99),
        "p1_delta_p": np.quantile(v["delta_p"], 0.01), "median_delta_p": np.median(v["delta_p"]),
        "rms_delta_p": np.sqrt((v["delta_p"] ** 2).mean()),
        "rms_delta_p_unc": 0.5 / np.sqrt((v["delta_p"] ** 2).mean()) * sem(v["delta_p"] ** 2),
        "same_top_p": v["same_top"].mean(),
        "same_top_p_unc": np.sqrt(v["same_top"].mean() * (1 - v["same_top"].mean()) / (n - 1)),
    }
    for name, value in expected.items():
        assert s[name] == pytest.approx(value, rel=1e-4, abs=1e-8), name
    # The quantized engines differ a little, never wildly, on real text.
    assert 0 < s["mean_kld"] < 0.1 and s["same_top_p"] > 0.8 and 1 < s["ppl_base"] < 1000
    worst = result.worst_window
    per_window = v["kld"].reshape(WINDOWS, CTX - 1 - CTX // 2)
    assert worst["window"] == int(np.argmax(per_window.mean(axis=1)))
    assert worst["max_kld"] == pytest.approx(per_window[worst["window"]].max(), rel=1e-5)


def test_cli_json_and_report(result):
    proc = subprocess.run(
        [sys.executable, "-m", "lockstep", "kld", "--model", str(lockstep.default_model_path()), "--backend", "both",
         "--corpus", str(CORPUS), "--ctx", str(CTX), "--chunks", str(WINDOWS), "--threads", "1", "--format", "json"],
        capture_output=True, text=True, env={"PYTHONPATH": lockstep_path(), "PATH": ""}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)["statistics"]
    for name in ("mean_kld", "p99_kld", "same_top_p", "rms_delta_p", "ppl_test", "ppl_base"):
        assert stats[name] == pytest.approx(result.statistics[name], rel=1e-9), name
    for block in ("Perplexity statistics", "KL divergence statistics", "Token probability statistics"):
        assert f"====== {block} ======" in proc.stderr
    assert "worst window" in proc.stderr


def test_the_gate_stops_different_tokenizations(tmp_path):
    plain = write_tiny_llama(tmp_path / "plain.gguf", TinyLlama())
    permuted = write_tiny_llama(tmp_path / "permuted.gguf", TinyLlama(permute_vocab_seed=1))
    a, b = lockstep.load(plain, "native"), lockstep.load(permuted, "native")
    with pytest.raises(CorpusTokenMismatch, match="tokenize the corpus differently from token 0"):
        _gated_tokens(a, b, "Hello world, hello corpus.", ["a", "b"])
    bigger = lockstep.load(lockstep.default_model_path(), "native")
    with pytest.raises(CorpusTokenMismatch, match="vocabularies differ in size: a 4096, b 49152"):
        _gated_tokens(a, bigger, "Hello", ["a", "b"])


def test_the_clean_pairs_worst_window_is_compared_layer_by_layer_and_not_localized(result):
    """llama.cpp anchored on the native engine's hidden states, block by block, over the worst
    window: a table for every layer, and no block above the floor on a correct pair."""
    worst = result.worst_window
    errors = worst["layer_errors"]
    assert errors is not None and (errors["anchored"], errors["anchors_from"]) == ("llama.cpp", "native")
    n_layer = gguf_int(lockstep.default_model_path(), "llama.block_count")
    for point in ("attn_norm", "attn_out", "ffn_norm", "ffn_out"):
        assert len(errors[point]) == n_layer and all(0 <= e < 0.05 for e in errors[point]), (point, errors[point])
    assert worst["localization"] is None, worst["localization"]


def test_a_quantization_against_its_file_localizes_the_worst_window(result, tmp_path):
    """NAME=PATH compares two files, as llama-perplexity --kl-divergence compares a quantization
    with its base: here the default model against a copy whose middle layer has its Q and K rows
    in the wrong rotary layout. The worst window is localized at that layer's attention."""
    model = lockstep.default_model_path()
    layer = gguf_int(model, "llama.block_count") // 2
    broken = copy_gguf(model, tmp_path / "rope-swapped.gguf",
                       edit=rope_layout_swapped(gguf_int(model, "llama.attention.head_count"),
                                                gguf_int(model, "llama.attention.head_count_kv"), layer))
    found = corpus_divergence(model, CORPUS, ["llama.cpp", f"llama.cpp={broken}"], ctx=CTX, n_threads=1,
                              max_windows=2)
    assert (found.reference, found.test) == ("llama.cpp", "llama.cpp@rope-swapped.gguf")
    assert found.statistics["mean_kld"] > 10 * result.statistics["mean_kld"]
    loc = found.worst_window["localization"]
    assert loc is not None and (loc["layer"], loc["point"]) == (layer, "attn_out"), loc



def gguf_int(path: Path, key: str) -> int:
    return int(gguf.GGUFReader(path).fields[key].contents())
