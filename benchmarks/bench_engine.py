"""Native engine vs llama.cpp (llama-cpp-python) speed: prefill (pp) and decode (tg) tokens per second.

On the same GGUF file and thread count, runs interleaved (native, llama.cpp, native, ...),
median of the repeats, ratio native / llama.cpp. Models: the default SmolLM2-135M (Q4_1) and
the TinyLlama-1.1B shape with random weights (lockstep.zoo.synthetic.full_shape, converted with
lockstep convert to F16, Q8_0 and Q4_0; several GB, built once into the synthetic cache).

pp512: 512 prompt tokens evaluated in one batch from an empty context (logits of the last).
tg128: 128 tokens evaluated one at a time from an empty context, as llama-bench measures.

The measurement itself is lockstep.backends.speed, the same as `lockstep bench`; each model's
native peak RSS is measured in a fresh process (lockstep.backends.peak_memory) and given as a
multiple of file + KV cache bytes.

Usage: PYTHONPATH=python python benchmarks/bench_engine.py [--models smollm2,tinyllama-f16,...]
       [--threads N] [--repeats 3] [--pp 512] [--tg 128] [--no-memory]
Tables on stderr, JSON on stdout (benchmarks/roofline.py reads it).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lockstep  # noqa: E402
from lockstep.backends.peak_memory import measure_peak_memory  # noqa: E402
from lockstep.backends.speed import BACKENDS, measure_speed  # noqa: E402
from timing import emit_json, print_table  # noqa: E402

TINYLLAMA_TYPES = ("f16", "q8_0", "q4_0")
MODELS = ("smollm2", *(f"tinyllama-{t}" for t in TINYLLAMA_TYPES))


def model_path(name: str) -> Path:
    if name == "smollm2":
        return lockstep.default_model_path()
    out_type = name.removeprefix("tinyllama-")
    if out_type not in TINYLLAMA_TYPES:
        raise SystemExit(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    from lockstep.conversion.convert import convert
    from lockstep.zoo.synthetic import full_shape

    folder = full_shape("tinyllama-1.1b", dtype="float16")
    path = folder / f"model-{out_type}.gguf"
    if not path.exists():
        print(f"converting {folder} to {out_type} ...", file=sys.stderr)
        partial = path.with_suffix(".partial")
        convert(folder, partial, out_type)
        partial.rename(path)
    return path


def bench(name: str, n_threads: int, repeats: int, pp: int, tg: int, memory: bool) -> tuple[list[dict], dict | None]:
    """The rows of one model (lockstep.backends.speed, as `lockstep bench`) and its native peak RSS."""
    path = model_path(name)
    report = measure_speed(path, BACKENDS, n_threads=n_threads, pp=pp, tg=tg, repeats=repeats, model=name,
                           log=lambda line: print(line, file=sys.stderr))
    peak = None
    if memory:
        peak = {"model": name, "file": path.name,
                **measure_peak_memory(path, n_threads, report.n_ctx, pp, tg).to_dict()}
    return [row.to_dict() for row in report.rows], peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pp", type=int, default=512)
    parser.add_argument("--tg", type=int, default=128)
    parser.add_argument("--no-memory", action="store_true", help="skip the native peak-RSS run of each model")
    args = parser.parse_args()
    import llama_cpp

    rows, memory = [], []
    for name in args.models.split(","):
        model_rows, peak = bench(name.strip(), args.threads, args.repeats, args.pp, args.tg, not args.no_memory)
        rows += model_rows
        memory += [peak] if peak else []
    print_table(
        f"native vs llama.cpp (llama-cpp-python {llama_cpp.__version__}), {args.threads} threads, "
        f"median of {args.repeats}",
        ["model", "test", "native t/s", "llama.cpp t/s", "ratio"],
        [[r["model"], r["test"], r["native_tokens_per_s"], r["llamacpp_tokens_per_s"], r["ratio"]] for r in rows],
    )
    if memory:
        mib = 1 << 20
        print_table(
            "native peak RSS (a fresh process: prefill then decode) ÷ (file + KV cache); engine: without the "
            "interpreter's baseline",
            ["model", "peak MiB", "baseline MiB", "file MiB", "KV MiB", "ratio", "engine ratio"],
            [[m["model"], m["peak_rss_bytes"] / mib, m["baseline_rss_bytes"] / mib, m["file_bytes"] / mib,
              m["kv_cache_bytes"] / mib, m["ratio"], m["engine_ratio"]] for m in memory],
        )
    emit_json({"threads": args.threads, "repeats": args.repeats, "pp": args.pp, "tg": args.tg,
               "isa": lockstep.NativeModel(lockstep.default_model_path()).info["isa"],
               "llama_cpp_python": llama_cpp.__version__, "results": rows, "memory": memory})
    return 0


if __name__ == "__main__":
    sys.exit(main())
