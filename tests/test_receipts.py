"""Receipts (docs/receipt-json.md) from generate and crossval validate against the documented
JSON Schema; `lockstep receipt verify` reproduces a greedy native run exactly and says NOT
REPRODUCED (exit 2) when the recorded tokens differ from what the model produces; a file
that is not a receipt is a usage error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import lockstep
from crossval_cli import lockstep_path
from receipt_schema import validate_receipt

DEFAULT = lockstep.default_model_path()


def lockstep_cli(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lockstep", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": lockstep_path()}, timeout=timeout)


def only_receipt(folder, kind: str) -> tuple:
    [path] = folder.glob(f"{kind}-*.json")
    return path, json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def greedy_native_receipt(tmp_path_factory):
    folder = tmp_path_factory.mktemp("receipts")
    out = lockstep_cli("generate", "--model", DEFAULT, "--prompt", "The capital of France is", "--max-tokens", "24",
                       "--threads", "2", "--receipt-dir", folder)
    assert out.returncode == 0, out.stderr
    return only_receipt(folder, "generate") + (out,)


def test_generate_receipt_is_valid_and_complete(greedy_native_receipt):
    path, receipt, out = greedy_native_receipt
    validate_receipt(receipt)
    assert f"receipt: {path}" in out.stderr
    assert receipt["model"]["quant_types"].get("Q4_1", 0) > 0 and receipt["model"]["format"] == "gguf"
    native = receipt["backends"][0]
    assert native["name"] == "native" and native["build"]["kernel_isa"] in native["build"]["supported_isas"]
    assert receipt["result"]["text"] == out.stdout.rstrip("\n")
    model = lockstep.load(DEFAULT, n_threads=1)
    assert receipt["tokens"]["in"] == model.tokenize("The capital of France is", parse_special=True).tolist()
    assert model.detokenize(receipt["tokens"]["out"]) == receipt["result"]["text"]
    assert receipt["sampling"]["temperature"] == 0.0 and receipt["timings"]["generated_tokens"] == 24


def test_verify_reproduces_a_greedy_native_run_exactly(greedy_native_receipt):
    path, _, _ = greedy_native_receipt
    out = lockstep_cli("receipt", "verify", path, "--format", "json")
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert result["reproduced"] and all(check["same"] for check in result["checks"])
    assert "REPRODUCED" in out.stderr and "prefill_ms" in out.stderr


def test_verify_says_not_reproduced_when_the_tokens_differ(greedy_native_receipt, tmp_path):
    _, receipt, _ = greedy_native_receipt
    tampered = dict(receipt, tokens={**receipt["tokens"], "out": receipt["tokens"]["out"][:10] + [13] +
                                     receipt["tokens"]["out"][11:]})
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(tampered), encoding="utf-8")
    out = lockstep_cli("receipt", "verify", path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "NOT REPRODUCED" in out.stdout and "first difference at token 10" in out.stdout


def test_seeded_llamacpp_run_reproduces(tmp_path):
    pytest.importorskip("llama_cpp")
    out = lockstep_cli("generate", "--backend", "llama.cpp", "--model", DEFAULT, "--prompt", "Once upon a time",
                       "--max-tokens", "16", "--temperature", "0.9", "--top-k", "40", "--top-p", "0.9", "--seed", "7",
                       "--receipt-dir", tmp_path)
    assert out.returncode == 0, out.stderr
    path, receipt = only_receipt(tmp_path, "generate")
    validate_receipt(receipt)
    assert "system_info" in receipt["backends"][0]["build"]
    verified = lockstep_cli("receipt", "verify", path)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_crossval_receipt_is_valid_and_reproduces(converted, tmp_path):
    pytest.importorskip("llama_cpp")
    model = converted("llama", "f32")
    out = lockstep_cli("crossval", "--model", model, "--prompt", "Hello world", "--backend", "native,llama.cpp",
                       "--threads", "1", "--receipt-dir", tmp_path)
    assert out.returncode == 0, out.stderr
    path, receipt = only_receipt(tmp_path, "crossval")
    validate_receipt(receipt)
    assert [b["label"] for b in receipt["backends"]] == ["native", "llama.cpp"]
    assert receipt["result"]["exit_code"] == 0 and receipt["template"]["text"]
    verified = lockstep_cli("receipt", "verify", path)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_zoo_cell_receipt_from_the_writer_function_validates(converted, tmp_path):
    from lockstep.dispatch.receipt import backend_facts, build_receipt, read_receipt, write_receipt

    receipt = build_receipt("zoo", argv=["lockstep", "zoo"], flags={"prompts": ["Hi"]}, model=converted("llama", "f32"),
                            backends=[backend_facts("native", "lockstep test")], tokens={"native": [1, 2, 3]},
                            timings={"total_ms": 1.5}, result={"exit_code": 0})
    path = write_receipt(tmp_path, receipt)
    assert read_receipt(path) == receipt
    validate_receipt(receipt)
    out = lockstep_cli("receipt", "verify", path)
    assert out.returncode == 64 and "cannot be re-run" in out.stderr


def test_not_a_receipt_is_a_usage_error(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"schema_version": 1}', encoding="utf-8")
    out = lockstep_cli("receipt", "verify", path)
    assert out.returncode == 64 and "not a lockstep receipt" in out.stderr
    path.write_text("not json", encoding="utf-8")
    assert lockstep_cli("receipt", "verify", path).returncode == 64
