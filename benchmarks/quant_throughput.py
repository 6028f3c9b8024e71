"""Dequantization and quantization throughput of lockstep's scalar codecs, next to gguf.quants.

Usage: PYTHONPATH=python python benchmarks/quant_throughput.py [--rows 1024] [--cols 4096] [--json]
Prints millions of elements per second (single thread) per type; --json prints the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import dequantize as gguf_dequantize

import lockstep as ls

DEQUANTIZE = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "TQ1_0", "TQ2_0", "I2_S"]
QUANTIZE = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "TQ1_0", "TQ2_0", "I2_S"]


def best_seconds(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument("--cols", type=int, default=4096)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.rows * args.cols
    values = np.random.default_rng(0).standard_normal((args.rows, args.cols)).astype(np.float32)
    results = []
    for name in DEQUANTIZE:
        raw = ls.quantize(values, name) if name in QUANTIZE else np.random.default_rng(1).integers(
            0, 256, (args.rows, args.cols // ls.ggml_type(name).block_size * ls.ggml_type(name).block_bytes), dtype=np.uint8)
        ours = best_seconds(lambda: ls.dequantize(raw, name, values.shape))
        row = {"type": name, "dequantize_melem_s": n / ours / 1e6}
        if name != "I2_S":
            with np.errstate(all="ignore"):
                row["gguf_dequantize_melem_s"] = n / best_seconds(lambda: gguf_dequantize(raw, GGMLQuantizationType[name]), 1) / 1e6
        if name in QUANTIZE:
            row["quantize_melem_s"] = n / best_seconds(lambda: ls.quantize(values, name)) / 1e6
        results.append(row)
    if args.json:
        print(json.dumps({"rows": args.rows, "cols": args.cols, "results": results}, indent=2))
        return
    print(f"{'type':6} {'dequant Melem/s':>16} {'gguf.quants':>12} {'quant Melem/s':>14}")
    for row in results:
        gguf_rate = row.get("gguf_dequantize_melem_s")
        quant_rate = row.get("quantize_melem_s")
        print(f"{row['type']:6} {row['dequantize_melem_s']:16.0f} {gguf_rate or float('nan'):12.0f} {quant_rate or float('nan'):14.0f}")


if __name__ == "__main__":
    main()
