"""How close each bench_engine row is to this machine's limits: measured copy bandwidth for
decode, measured peak int8 / fp32 arithmetic for prefill.

Measured here, in this process, at each thread count the rows use:
- copy bandwidth: numpy `np.copyto` of float32 arrays of several sizes, each at least 2× the
  last-level cache, split across the threads (numpy releases the GIL while copying); bytes
  read + bytes written per second (STREAM's "copy" convention), median of the repeats per
  size, then the median over the sizes.
- fp32 peak: a 1024×1024×1024 float32 matrix product, torch.mm (oneDNN/MKL SGEMM) with
  torch.set_num_threads, else numpy's BLAS; 2 flops per multiply-add.
- int8 peak: torch's fbgemm int8 GEMM (torch.ops.quantized.linear: u8 activations × s8
  weights, 32-bit sums, 512×2048×2048), the tuned int8 kernel at hand; 2 ops per multiply-add.
  Without torch, lockstep's own Q8_0 matmul kernel (lockstep._core.matmul) stands in, and the
  table says so.

Each row as a fraction of them:
- decode (tgN): bytes read per token × tokens/s ÷ copy bandwidth; bytes per token = every
  weight tensor once (the token embedding: one row, unless it is also the output head) + the
  KV cache at the mean position (float32 in the native engine, float16 in llama.cpp).
- prefill (ppN): ops per token × tokens/s ÷ peak (int8 for quantized weights, fp32 for
  F32/F16/BF16); ops per token = 2 × matmul weight elements + 4 × n_layer × n_head × head_dim ×
  the mean number of keys each query sees ((N+1)/2).

Usage: PYTHONPATH=python python benchmarks/roofline.py [--input bench.json] [--models smollm2]
       [--threads N] [--repeats 3] [--pp 512] [--tg 128] [--peaks-only]
With --input, the rows of that bench_engine.py JSON; else bench_engine's measurement runs here.
Table on stderr, JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lockstep  # noqa: E402
from lockstep.backends.speed import median  # noqa: E402
from timing import emit_json, print_table  # noqa: E402

FLOAT_TYPES = {"F32", "F16", "BF16"}
KV_BYTES = {"native": 4, "llamacpp": 2}  # bytes per cached key/value element


def last_level_cache_bytes() -> int:
    """The largest CPU cache sysfs reports (32 MiB when it cannot be read)."""
    sizes = []
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            text = (index / "size").read_text().strip()
        except OSError:
            continue
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        sizes.append(int(text.rstrip("KMG")) * scale)
    return max(sizes, default=32 << 20)


def _timed(run: Callable[[], object], repeats: int) -> list[float]:
    run()  # warm-up: pages touched, threads started
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def copy_bandwidth(threads: int, repeats: int, llc: int) -> dict[str, Any]:
    """Bytes read + written per second by a threaded numpy copy, at sizes of 2×, 4× and 8× the LLC."""
    per_size = {}
    with ThreadPoolExecutor(threads) as pool:
        for multiple in (2, 4, 8):
            n = multiple * llc // 4
            src, dst = np.ones(n, np.float32), np.zeros(n, np.float32)
            bounds = np.linspace(0, n, threads + 1).astype(int)

            def copy(src=src, dst=dst, bounds=bounds) -> None:
                list(pool.map(lambda i: np.copyto(dst[bounds[i]:bounds[i + 1]], src[bounds[i]:bounds[i + 1]]),
                              range(threads)))

            per_size[f"{src.nbytes >> 20} MiB"] = 2 * src.nbytes / median(_timed(copy, repeats))
            del src, dst
    return {"bytes_per_s": median(list(per_size.values())), "per_size": per_size,
            "method": f"numpy copyto, float32, {threads} threads, (read + write) bytes / s, median"}


def fp32_peak(threads: int, repeats: int) -> dict[str, Any]:
    n = 1024
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    try:
        import torch
    except ImportError:
        seconds = median(_timed(lambda: a @ b, repeats))
        method = "numpy matmul (its BLAS, its own threads) 1024^3"
    else:
        torch.set_num_threads(threads)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        seconds = median(_timed(lambda: torch.mm(ta, tb), repeats))
        method = f"torch.mm {torch.__version__} float32 1024^3, {threads} threads"
    return {"ops_per_s": 2 * n ** 3 / seconds, "method": method}


def int8_peak(threads: int, repeats: int) -> dict[str, Any]:
    m, k, n = 512, 2048, 2048
    rng = np.random.default_rng(0)
    try:
        import warnings

        import torch
    except ImportError:
        return _int8_peak_ours(threads, repeats, m, k, n, rng)
    torch.set_num_threads(threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notice for quantized tensors
        x = torch.quantize_per_tensor(torch.from_numpy(rng.standard_normal((m, k)).astype(np.float32)), 0.05, 128, torch.quint8)
        w = torch.quantize_per_tensor(torch.from_numpy(rng.standard_normal((n, k)).astype(np.float32)), 0.05, 0, torch.qint8)
        packed = torch.ops.quantized.linear_prepack(w, None)
        seconds = median(_timed(lambda: torch.ops.quantized.linear(x, packed, 1.0, 0), repeats))
    return {"ops_per_s": 2 * m * k * n / seconds,
            "method": f"torch {torch.__version__} fbgemm int8 GEMM (u8 x s8 -> s32) {m}x{k}x{n}, {threads} threads"}


def _int8_peak_ours(threads: int, repeats: int, m: int, k: int, n: int, rng: np.random.Generator) -> dict[str, Any]:
    from lockstep import _core

    weights = lockstep.quantize(rng.standard_normal((n, k)).astype(np.float32), "Q8_0")
    x = rng.standard_normal((m, k)).astype(np.float32)
    isa = _core.default_isa()
    raw = np.frombuffer(np.asarray(weights).tobytes(), np.uint8)
    seconds = median(_timed(lambda: _core.matmul(isa, "Q8_0", raw, n, k, x, 1.0, threads), repeats))
    return {"ops_per_s": 2 * m * k * n / seconds,
            "method": f"lockstep's own Q8_0 matmul ({isa}) {m}x{k}x{n}, {threads} threads (torch not installed)"}


def machine_peaks(threads: int, repeats: int) -> dict[str, Any]:
    llc = last_level_cache_bytes()
    return {"threads": threads, "llc_bytes": llc, "copy": copy_bandwidth(threads, repeats, llc),
            "fp32": fp32_peak(threads, repeats), "int8": int8_peak(threads, repeats)}


def model_work(path: Path) -> dict[str, Any]:
    """What one token costs on `path`: weight bytes read in decode, matmul weight elements,
    attention shape, and whether the weights are quantized."""
    info = lockstep.NativeModel(path, n_threads=1, n_ctx=32).info
    tensors = lockstep.gguf.open(path).tensor_infos
    names = {t.name for t in tensors}
    weight_bytes, matmul_elements = 0, 0
    for t in tensors:
        if t.name == "token_embd.weight" and "output.weight" in names:
            weight_bytes += t.nbytes // max(1, t.shape[0])  # one row looked up per token
            continue
        weight_bytes += t.nbytes
        if len(t.shape) == 2:
            matmul_elements += t.n_elements
    types = info["tensor_types"]
    main_type = max(types, key=lambda name: types[name] if name != "F32" else -1)
    return {"weight_bytes": weight_bytes, "matmul_elements": matmul_elements, "n_layer": info["n_layer"],
            "n_head": info["n_head"], "n_head_kv": info["n_head_kv"], "head_dim": info["head_dim"],
            "weight_type": main_type, "quantized": main_type not in FLOAT_TYPES}


def roofline_rows(rows: list[dict[str, Any]], peaks: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    works: dict[str, dict[str, Any]] = {}
    out = []
    for row in rows:
        path = Path(row["path"])
        work = works.setdefault(str(path), model_work(path))
        peak = peaks[row["threads"]]
        n = row.get("n_tokens") or int(row["test"][2:])
        for key in ("native", "llamacpp"):
            tps = row.get(f"{key}_tokens_per_s")
            if tps is None:
                continue
            if row["test"].startswith("tg"):
                kv = work["n_layer"] * (n + 1) / 2 * work["n_head_kv"] * work["head_dim"] * 2 * KV_BYTES[key]
                per_token, roof, unit = work["weight_bytes"] + kv, peak["copy"]["bytes_per_s"], "bytes"
                roof_name = "copy bandwidth"
            else:
                attention = 4 * work["n_layer"] * work["n_head"] * work["head_dim"] * (n + 1) / 2
                per_token, unit = 2 * work["matmul_elements"] + attention, "ops"
                roof_name = "int8 peak" if work["quantized"] else "fp32 peak"
                roof = peak["int8" if work["quantized"] else "fp32"]["ops_per_s"]
            out.append({"model": row["model"], "test": row["test"], "backend": "llama.cpp" if key == "llamacpp" else key,
                        "threads": row["threads"], "tokens_per_s": tps, "weight_type": work["weight_type"],
                        f"{unit}_per_token": per_token, f"achieved_{unit}_per_s": per_token * tps,
                        "roof": roof_name, "roof_per_s": roof, "fraction": per_token * tps / roof})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, help="bench_engine.py's JSON (else its measurement runs here)")
    parser.add_argument("--models", default="smollm2", help="for a run here: bench_engine.py's model names")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pp", type=int, default=512)
    parser.add_argument("--tg", type=int, default=128)
    parser.add_argument("--peaks-only", action="store_true", help="measure the machine only, no model rows")
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    if args.input:
        rows = json.loads(args.input.read_text())["results"]
    elif not args.peaks_only:
        from bench_engine import bench

        for name in args.models.split(","):
            rows += bench(name.strip(), args.threads, args.repeats, args.pp, args.tg, memory=False)[0]
    thread_counts = sorted({row["threads"] for row in rows} or {args.threads})
    peaks = {threads: machine_peaks(threads, max(3, args.repeats)) for threads in thread_counts}
    print_table("this machine, measured", ["threads", "copy GB/s", "fp32 GFLOP/s", "int8 GOP/s"],
                [[t, p["copy"]["bytes_per_s"] / 1e9, p["fp32"]["ops_per_s"] / 1e9, p["int8"]["ops_per_s"] / 1e9]
                 for t, p in peaks.items()])
    for p in peaks.values():
        for what in ("copy", "fp32", "int8"):
            print(f"  {what}: {p[what]['method']}", file=sys.stderr)
    results = roofline_rows(rows, peaks)
    if results:
        print_table("each row as a fraction of its roof (decode: bytes/token × t/s ÷ copy bandwidth; "
                    "prefill: ops/token × t/s ÷ peak)",
                    ["model", "test", "backend", "threads", "t/s", "per token", "achieved /s", "roof", "fraction"],
                    [[r["model"], r["test"], r["backend"], r["threads"], r["tokens_per_s"],
                      _si(r.get("bytes_per_token") or r.get("ops_per_token"), "B" if "bytes_per_token" in r else "op"),
                      _si(r.get("achieved_bytes_per_s") or r.get("achieved_ops_per_s"), "B/s" if "bytes_per_token" in r else "op/s"),
                      r["roof"], r["fraction"]] for r in results])
    emit_json({"peaks": {str(t): p for t, p in peaks.items()}, "rows": results})
    return 0


def _si(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


if __name__ == "__main__":
    sys.exit(main())
