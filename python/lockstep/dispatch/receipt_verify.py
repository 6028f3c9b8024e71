"""`lockstep receipt verify`: run a receipt's run again and say whether it reproduces: the
same tokens out (generate, chat), or the same tokens and verdict on every backend (crossval),
with the timings side by side. A chat turn is re-run from its whole prompt in one prefill
(the original may have reused the KV cache of earlier turns)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockstep.dispatch.receipt import read_receipt
from lockstep.dispatch.report import sha256_of_model
from lockstep.errors import ReceiptError


@dataclass
class Verification:
    path: str
    kind: str
    reproduced: bool
    model_unchanged: bool
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (what, same, detail)
    timings: list[tuple[str, float | None, float | None]] = field(default_factory=list)  # (name, original, again)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "reproduced": self.reproduced,
                "model_unchanged": self.model_unchanged,
                "checks": [{"what": w, "same": s, "detail": d} for w, s, d in self.checks],
                "timings": [{"name": n, "original": a, "again": b} for n, a, b in self.timings]}


def verify_receipt(path: str | os.PathLike, n_threads: int | None = None) -> Verification:
    receipt = read_receipt(path)
    kind = receipt["kind"]
    model_path = Path(receipt["model"]["path"])
    if not model_path.exists():
        raise FileNotFoundError(f"{model_path}: the receipt's model is not there any more")
    unchanged = sha256_of_model(model_path) == receipt["model"]["sha256"]
    if kind in ("generate", "chat"):
        checks, timings = _rerun_generation(receipt, model_path, n_threads)
    elif kind == "crossval":
        checks, timings = _rerun_crossval(receipt, model_path, n_threads)
    else:
        raise ReceiptError(f"{path}: a {kind} receipt cannot be re-run by itself (re-run its cells with crossval)")
    checks.insert(0, ("model sha256", unchanged, receipt["model"]["sha256"][:16]))
    return Verification(str(path), kind, all(same for _, same, _ in checks), unchanged, checks, timings)


def _rerun_generation(receipt: dict, model_path: Path, n_threads: int | None):
    from lockstep.backends.generate import GenerationRecord, stream_text
    from lockstep.backends.loading import load
    from lockstep.backends.sampling import SamplingSettings

    backend = receipt["backends"][0]["name"]
    flags = receipt["command"]["flags"]
    options = {"inject_fault": flags["inject_fault"]} if backend == "native" and flags.get("inject_fault") else {}
    model = load(model_path, backend, n_threads=n_threads or flags.get("threads"), **options)
    settings = SamplingSettings.from_json(receipt["sampling"])
    tokens = receipt["tokens"]
    record = GenerationRecord()
    for _ in stream_text(model, tokens["in"], settings, frozenset(tokens["stop_ids"]), record=record):
        pass
    checks = [("tokens out", record.tokens == tokens["out"], _difference(tokens["out"], record.tokens)),
              ("stop reason", record.stop_reason == receipt["result"]["stop_reason"],
               f"{receipt['result']['stop_reason']} / {record.stop_reason}")]
    before = receipt["timings"]
    timings = [(name, before.get(name), value) for name, value in (
        ("prefill_ms", record.prefill_ms), ("first_token_ms", record.first_token_ms), ("decode_ms", record.decode_ms),
        ("tokens_per_second", record.tokens_per_second))]
    return checks, timings


def _rerun_crossval(receipt: dict, model_path: Path, n_threads: int | None):
    import time

    from lockstep.dispatch.crossval import crossval

    flags, result = receipt["command"]["flags"], receipt["result"]
    start = time.perf_counter()
    report = crossval(
        model_path, flags.get("prompt"), messages=result.get("messages"), system_prompt=flags.get("system_prompt"),
        backends=result["backend_specs"], template=flags.get("prompt_template", "auto"),
        chat_template=flags.get("chat_template"), steps=flags.get("steps", 0), thresholds=result.get("thresholds_given"),
        top_k=flags.get("top_k", 10), n_threads=n_threads or flags.get("threads"), inject_fault=flags.get("inject_fault"),
    )
    elapsed = (time.perf_counter() - start) * 1000
    checks = [(f"tokens of {label}", report.tokens.get(label) == ids, _difference(ids, report.tokens.get(label) or []))
              for label, ids in receipt["tokens"].items()]
    checks.append(("exit code", report.exit_code == result["exit_code"], f"{result['exit_code']} / {report.exit_code}"))
    return checks, [("total_ms", receipt["timings"].get("total_ms"), elapsed)]


def _difference(before: list[int], again: list[int]) -> str:
    if before == again:
        return f"{len(before)} identical"
    first = next((i for i, (a, b) in enumerate(zip(before, again)) if a != b), min(len(before), len(again)))
    return f"first difference at token {first} of {len(before)} / {len(again)}"


__all__ = ["Verification", "verify_receipt"]
