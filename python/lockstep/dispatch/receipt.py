"""Receipts: one JSON file per run (per turn for chat) that says exactly what ran, on what,
with what result and how fast, so the run can be repeated and checked (`lockstep receipt
verify`). The schema is docs/receipt-json.md; every command that takes --receipt-dir
(generate, chat, crossval, zoo) writes through :func:`write_receipt`.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lockstep import _core
from lockstep.dispatch.report import json_ready, sha256_of_model
from lockstep.errors import ReceiptError

SCHEMA = "lockstep.receipt"
SCHEMA_VERSION = 1
KINDS = ("generate", "chat", "crossval", "zoo")


def host_facts() -> dict[str, Any]:
    """The machine: CPU model, cores, OS, Python."""
    return {"cpu": _cpu_model(), "cores": os.cpu_count() or 0, "os": platform.platform(),
            "python": platform.python_version(), "machine": platform.machine()}


def peak_rss_bytes() -> int:
    """This process's peak resident set so far (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def model_facts(path: str | os.PathLike) -> dict[str, Any]:
    """Path, sha256 of the bytes, container format and the tensor storage types with counts."""
    from lockstep.inspection.detect import describe

    path = Path(path)
    info = describe(path)
    return {"path": str(path.resolve()), "sha256": sha256_of_model(path), "format": info.format,
            "quant_types": {stat.type: stat.count for stat in info.tensor_types}}


def backend_facts(name: str, version: str, model: object | None = None) -> dict[str, Any]:
    """One backend: its name, version string and build (native: kernel ISA and the ISAs
    compiled and supported here; llama.cpp: its system info; hf: torch's CPU capability)."""
    build: dict[str, Any]
    if name == "native":
        info = getattr(model, "info", None) or {}
        build = {"kernel_isa": info.get("isa", _core.kernels.best_isa()), "compiled_isas": list(_core.kernels.compiled_isas()),
                 "supported_isas": list(_core.kernels.supported_isas()), "n_threads": info.get("n_threads")}
    elif name == "llama.cpp":
        import llama_cpp

        build = {"system_info": llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip()}
    elif name == "hf":
        import torch

        build = {"cpu_capability": torch.backends.cpu.get_cpu_capability(), "n_threads": torch.get_num_threads()}
    else:
        build = {}
    return {"name": name, "version": version, "build": build}


def describe_model_backend(model) -> dict[str, Any]:
    """backend_facts of a loaded model (lockstep.backends.protocol.Model)."""
    return backend_facts(model.name(), model.version(), model)


def build_receipt(
    kind: str,
    *,
    argv: Sequence[str],
    flags: Mapping[str, Any],
    model: str | os.PathLike,
    backends: Sequence[Mapping[str, Any]],
    template: Mapping[str, Any] | None = None,
    sampling: Mapping[str, Any] | None = None,
    tokens: Mapping[str, Any] | None = None,
    timings: Mapping[str, Any] | None = None,
    result: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A receipt as a dict (docs/receipt-json.md). backends: from backend_facts /
    describe_model_backend. template: {"name", "reason", "text", "add_bos"}; tokens:
    {"in": [...], "out": [...]} (crossval, zoo: per backend label); timings in milliseconds."""
    if kind not in KINDS:
        raise ValueError(f"receipt kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "id": uuid.uuid4().hex,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "lockstep_version": _core.engine_version().removeprefix("lockstep "),
        "command": {"argv": list(argv), "flags": json_ready(dict(flags))},
        "model": model_facts(model),
        "backends": [dict(b) for b in backends],
        "template": dict(template) if template is not None else None,
        "sampling": dict(sampling) if sampling is not None else None,
        "tokens": json_ready(dict(tokens)) if tokens is not None else None,
        "timings": dict(timings) if timings is not None else None,
        "peak_rss_bytes": peak_rss_bytes(),
        "host": host_facts(),
        "result": json_ready(dict(result)) if result is not None else None,
    }


def write_receipt(directory: str | os.PathLike, receipt: Mapping[str, Any], name: str | None = None) -> Path:
    """Writes `receipt` (from build_receipt) as DIR/NAME.json, creating DIR; NAME defaults to
    KIND-CREATED-ID. Returns the file's path."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = receipt["created"].replace(":", "").replace("-", "").replace("+0000", "Z")
    name = name or f"{receipt['kind']}-{stamp}-{receipt['id'][:8]}"
    path = folder / f"{name}.json"
    path.write_text(json.dumps(receipt, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_receipt(path: str | os.PathLike) -> dict[str, Any]:
    """A receipt file's contents; ReceiptError naming the file when it is not a lockstep receipt
    of a version this lockstep reads."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReceiptError(f"{path}: cannot read the receipt: {error}") from error
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ReceiptError(f"{path}: not a lockstep receipt (no \"schema\": \"{SCHEMA}\")")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ReceiptError(f"{path}: receipt schema version {data.get('schema_version')!r}; this lockstep reads {SCHEMA_VERSION}")
    return data


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


__all__ = ["SCHEMA_VERSION", "backend_facts", "build_receipt", "describe_model_backend", "generation_receipt", "host_facts",
           "model_facts", "peak_rss_bytes", "read_receipt", "write_receipt"]


def generation_receipt(kind: str, *, argv: Sequence[str], flags: Mapping[str, Any], model_path: str | os.PathLike,
                       model, settings, prompt_ids, record, tokenize_ms: float, stop_ids, template=None,
                       result: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The receipt of one generation (generate, or one chat turn): `model` the loaded backend,
    `settings` its SamplingSettings, `record` the GenerationRecord the run filled in, `template`
    the RenderedPrompt (None when no template was applied)."""
    rendered = None if template is None else {"name": template.template, "reason": template.reason,
                                              "text": template.text, "add_bos": template.add_bos}
    return build_receipt(
        kind, argv=argv, flags=flags, model=model_path, backends=[describe_model_backend(model)], template=rendered,
        sampling=settings.to_json(),
        tokens={"in": [int(t) for t in prompt_ids], "out": list(record.tokens), "stop_ids": sorted(map(int, stop_ids))},
        timings={"tokenize_ms": tokenize_ms, "prefill_ms": record.prefill_ms, "decode_ms": record.decode_ms,
                 "first_token_ms": record.first_token_ms, "tokens_per_second": record.tokens_per_second,
                 "prompt_tokens": record.prompt_tokens, "prefilled_tokens": record.prefilled_tokens,
                 "generated_tokens": len(record.tokens)},
        result={"stop_reason": record.stop_reason, **(result or {})},
    )
