"""Native engine vs llama.cpp (llama-cpp-python) speed: prefill (pp) and decode (tg) tokens per second.

On the same GGUF file and thread count, runs interleaved (native, llama.cpp, native, ...),
median of the repeats, ratio native / llama.cpp. Models: the default SmolLM2-135M (Q4_1) and
the TinyLlama-1.1B shape with random weights (lockstep.zoo.synthetic.full_shape, converted with
lockstep convert to F16, Q8_0 and Q4_0; several GB, built once into the synthetic cache).

pp512: 512 prompt tokens evaluated in one batch from an empty context (logits of the last).
tg128: 128 tokens evaluated one at a time from an empty context, as llama-bench measures.

Usage: PYTHONPATH=python python benchmarks/bench_engine.py [--models smollm2,tinyllama-f16,...]
       [--threads N] [--repeats 3] [--pp 512] [--tg 128]
Table on stderr, JSON on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lockstep  # noqa: E402
from timing import emit_json, interleaved, median, print_table  # noqa: E402

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


class Engines:
    """Both engines on one file, with the same threads and the same token ids."""

    def __init__(self, path: Path, n_threads: int, n_ctx: int):
        import llama_cpp

        self.native = lockstep.NativeModel(path, n_threads=n_threads, n_ctx=n_ctx)
        self.llama = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_batch=512, n_ubatch=512,
                                     n_threads=n_threads, n_threads_batch=n_threads, n_gpu_layers=0,
                                     logits_all=False, verbose=False)
        n_vocab = min(self.native.n_vocab, self.llama.n_vocab())
        self.ids = np.random.default_rng(0).integers(100, n_vocab, size=n_ctx).astype(np.int32)

    def native_prefill(self, n: int) -> None:
        self.native.reset()
        self.native.eval(self.ids[:n], last_only=True)

    def llama_prefill(self, n: int) -> None:
        self.llama.reset()
        self.llama.eval(self.ids[:n].tolist())

    def native_decode(self, n: int) -> None:
        self.native.reset()
        for token in self.ids[:n]:
            self.native.eval(token[None], last_only=True)

    def llama_decode(self, n: int) -> None:
        self.llama.reset()
        for token in self.ids[:n].tolist():
            self.llama.eval([token])


def bench(name: str, n_threads: int, repeats: int, pp: int, tg: int) -> list[dict[str, object]]:
    path = model_path(name)
    engines = Engines(path, n_threads, n_ctx=max(pp, tg) + 16)
    rows = []
    for test, n, native, llama in (
        (f"pp{pp}", pp, engines.native_prefill, engines.llama_prefill),
        (f"tg{tg}", tg, engines.native_decode, engines.llama_decode),
    ):
        times = interleaved({"native": lambda: native(n), "llama.cpp": lambda: llama(n)}, repeats)
        native_tps, llama_tps = n / median(times["native"]), n / median(times["llama.cpp"])
        rows.append({"model": name, "file": path.name, "test": test, "threads": n_threads,
                     "native_tokens_per_s": native_tps, "llamacpp_tokens_per_s": llama_tps,
                     "ratio": native_tps / llama_tps, "repeats": repeats,
                     "native_seconds": times["native"], "llamacpp_seconds": times["llama.cpp"]})
        print(f"{name} {test}: native {native_tps:.1f} t/s, llama.cpp {llama_tps:.1f} t/s", file=sys.stderr)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pp", type=int, default=512)
    parser.add_argument("--tg", type=int, default=128)
    args = parser.parse_args()
    import llama_cpp

    rows = []
    for name in args.models.split(","):
        rows += bench(name.strip(), args.threads, args.repeats, args.pp, args.tg)
    print_table(
        f"native vs llama.cpp (llama-cpp-python {llama_cpp.__version__}), {args.threads} threads, "
        f"median of {args.repeats}",
        ["model", "test", "native t/s", "llama.cpp t/s", "ratio"],
        [[r["model"], r["test"], r["native_tokens_per_s"], r["llamacpp_tokens_per_s"], r["ratio"]] for r in rows],
    )
    emit_json({"threads": args.threads, "repeats": args.repeats, "isa": lockstep.NativeModel(
        lockstep.default_model_path()).info["isa"], "llama_cpp_python": llama_cpp.__version__, "results": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
