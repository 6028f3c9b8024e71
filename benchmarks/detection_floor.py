"""What crossval catches on a real quantized model, and what it raises on clean prompts.

For each injected fault (``lockstep crossval --list-faults``) and for one-layer weight
perturbations of 0.1%, 0.3%, 1% and 3%, on the default model (SmolLM2-135M-Instruct Q4_1) and
on F32 / Q8_0 / Q4_0 conversions of tiny zoo models (lockstep.zoo.synthetic, written by
``lockstep convert``): whether the verdict is 1 or 2 (caught), at which stage, and the layer the
cross-backend localization names. Then false alarms over the clean, varied prompts of
tests/data/clean_prompts.json (chat, code, several languages and scripts, long inputs).

The perturbations are applied in the weights' own type, so that the perturbed layer keeps its
arithmetic: every block's scales (Q4_0/Q4_1/Q5_0/Q5_1/Q8_0: d and m; Q4_K: d and dmin; Q6_K: d)
are multiplied by 1 + u, u uniform in [-r, r] per block, which multiplies each of the block's
weights by exactly that factor; float tensors are multiplied element by element. The native
engine runs the perturbed copy, the reference backends the original file.

    python benchmarks/detection_floor.py [--backends both,all] [--models default,llama,qwen2]
        [--zoo-types F32,Q8_0,Q4_0] [--cases faults,perturbations,clean] [--steps 8] [--prompts N]
        [--json FILE]

The table goes to stderr, the JSON (with --json) to the file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import gguf
import numpy as np

import lockstep
from lockstep.backends.faults import fault_names
from lockstep.backends.native import NativeModel
from lockstep.dispatch.crossval import crossval

PROMPT = "What is the capital of France?"
CLEAN = Path(__file__).resolve().parent.parent / "tests" / "data" / "clean_prompts.json"
LEVELS = (0.001, 0.003, 0.01, 0.03)
# Byte offsets of the float16 scales that multiply a whole block, and the block size in bytes.
SCALE_OFFSETS = {"Q4_0": ((0,), 18), "Q4_1": ((0, 2), 20), "Q5_0": ((0,), 22), "Q5_1": ((0, 2), 24),
                 "Q8_0": ((0,), 34), "Q4_K": ((0, 2), 144), "Q6_K": ((208,), 210)}


def perturbed_copy(model: Path, layer: int, relative: float, out: Path, seed: int = 0) -> Path:
    """A copy of `model` with every tensor of blk.`layer` perturbed by up to `relative`, in its own type."""
    data = bytearray(model.read_bytes())
    rng = np.random.default_rng(seed)
    for tensor in gguf.GGUFReader(model).tensors:
        if not tensor.name.startswith(f"blk.{layer}."):
            continue
        kind, start, size = tensor.tensor_type.name, int(tensor.data_offset), int(tensor.n_bytes)
        if kind == "F32":
            values = np.frombuffer(data, dtype=np.float32, count=size // 4, offset=start)
            values = values * (1 + rng.uniform(-relative, relative, values.shape)).astype(np.float32)
            data[start:start + size] = values.astype(np.float32).tobytes()
        elif kind in SCALE_OFFSETS:
            offsets, block = SCALE_OFFSETS[kind]
            blocks = np.frombuffer(data, dtype=np.uint8, count=size, offset=start).reshape(-1, block).copy()
            factor = 1 + rng.uniform(-relative, relative, len(blocks))
            for offset in offsets:
                scale = blocks[:, offset:offset + 2].copy().view(np.float16)[:, 0].astype(np.float64)
                blocks[:, offset:offset + 2] = (scale * factor).astype(np.float16).reshape(-1, 1).view(np.uint8)
            data[start:start + size] = blocks.tobytes()
        else:
            raise SystemExit(f"{model}: {tensor.name} is {kind}, which this benchmark cannot perturb in its own type")
    out.write_bytes(bytes(data))
    return out


def row(report, model: str, case: str, backends: str, seconds: float) -> dict:
    loc = [p.localization for p in report.pairs if p.localization]
    stages = sorted({p.diverged_stage for p in report.pairs if p.diverged_stage})
    return {"model": model, "case": case, "backends": backends, "exit_code": report.exit_code, "caught": report.exit_code in (1, 2),
            "stages": stages, "localized_layer": loc[0]["layer"] if loc else None,
            "localized_point": loc[0]["point"] if loc else None,
            "times_floor": [round(p.noise_floor["pair_times_floor"], 2) for p in report.pairs if p.noise_floor],
            "seconds": round(seconds, 1)}


def models(names: list[str], zoo_types: list[str], tmp: Path) -> list[tuple[str, Path]]:
    """(label, GGUF path): "default" is the default model; any other name a tiny zoo model,
    converted to each of `zoo_types`."""
    from lockstep.conversion.convert import convert
    from lockstep.zoo import synthetic

    out = []
    for name in names:
        if name == "default":
            out.append(("SmolLM2-135M Q4_1", Path(lockstep.default_model_path())))
            continue
        folder = synthetic.tiny_model(name, tmp / name)
        for out_type in zoo_types:
            path = tmp / f"{name}-{out_type}.gguf"
            convert(folder, path, out_type)
            out.append((f"zoo {name} {out_type}", path))
    return out


def cases(label: str, model: Path, backends: str, steps: int, clean: list[dict], tmp: Path, kinds: set[str]):
    """The rows of one model with one backend set: faults, perturbations, clean prompts."""
    n_layer = NativeModel(model).info["n_layer"]
    names = ["llama.cpp", "native"] + (["hf"] if backends == "all" else [])
    for fault in fault_names() if "faults" in kinds else ():
        if fault == "silu-for-relu2":
            continue
        start = time.perf_counter()
        report = crossval(model, PROMPT, backends=backends, steps=steps, inject_fault=fault)
        yield row(report, label, fault, backends, time.perf_counter() - start)
    for level in LEVELS if "perturbations" in kinds else ():
        copy = perturbed_copy(model, n_layer // 2, level, tmp / f"{model.stem}-p{level}.gguf")
        specs = [n if n != "native" else f"native={copy}" for n in names]
        start = time.perf_counter()
        report = crossval(model, PROMPT, backends=specs, steps=steps)
        yield row(report, label, f"layer {n_layer // 2}/{n_layer} weights ±{level:.1%}", backends,
                  time.perf_counter() - start)
    for item in clean if "clean" in kinds else ():
        kwargs = {"messages": item["messages"]} if "messages" in item else {"prompt": item["prompt"]}
        start = time.perf_counter()
        report = crossval(model, backends=backends, steps=steps, **kwargs)
        yield row(report, label, f"clean: {item['id']}", backends, time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="both,all")
    parser.add_argument("--models", default="default,llama", help="default and/or tiny zoo model names")
    parser.add_argument("--zoo-types", default="F32,Q8_0,Q4_0", help="GGUF types the zoo models are converted to")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--prompts", type=int, default=None, help="clean prompts to run (default: all)")
    parser.add_argument("--cases", default="faults,perturbations,clean")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    kinds = set(args.cases.split(","))
    clean = json.loads(CLEAN.read_text(encoding="utf-8"))["prompts"][: args.prompts]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, model in models(args.models.split(","), args.zoo_types.split(","), Path(tmp)):
            for backends in args.backends.split(","):
                for r in cases(label, model, backends, args.steps, clean, Path(tmp), kinds):
                    rows.append(r)
                    print(r, file=sys.stderr, flush=True)
    print("\n| model | case | backends | exit | stage | localized |\n|---|---|---|---|---|---|", file=sys.stderr)
    for r in rows:
        if r["case"].startswith("clean"):
            continue
        where = f"layer {r['localized_layer']} {r['localized_point']}" if r["localized_layer"] is not None else "—"
        print(f"| {r['model']} | {r['case']} | {r['backends']} | {r['exit_code']} | {', '.join(r['stages']) or '—'} "
              f"| {where} |", file=sys.stderr)
    for label in dict.fromkeys(r["model"] for r in rows):
        for backends in args.backends.split(","):
            clean_rows = [r for r in rows if r["case"].startswith("clean") and r["backends"] == backends
                          and r["model"] == label]
            if clean_rows:
                alarms = sum(r["exit_code"] != 0 for r in clean_rows)
                print(f"| {label} | clean prompts ({len(clean_rows)}) | {backends} | false alarms: {alarms} | | |",
                      file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
