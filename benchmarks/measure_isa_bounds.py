"""Mean KL(llama.cpp || native) per llama.cpp file type and per native kernel table, on the zoo
model llama-256 quantized by llama.cpp itself: the measurements behind MEAN_KL_BOUND in
tests/test_engine_gguf.py. Run it on each kind of CPU the suite must pass on.

    python benchmarks/measure_isa_bounds.py [--json]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import tempfile
from pathlib import Path

import llama_cpp
import numpy as np

import lockstep
from lockstep.backends.llamacpp import LlamaCppBackend
from lockstep.conversion.convert import convert
from lockstep.zoo.synthetic import tiny_model

FILE_TYPES = ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q4_K_S", "Q5_K_S", "Q6_K",
              "TQ1_0", "TQ2_0"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    info = llama_cpp.llama_print_system_info().decode()
    llama_isa = "avx512" if "AVX512 = 1" in info else "avx2" if "AVX2 = 1" in info else "other"
    isas = list(lockstep._core.kernels.supported_isas())
    ids = np.random.default_rng(5).integers(3, 4000, 48).astype(np.int32)  # as the test
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "llama-256-f32.gguf"
        convert(tiny_model("llama-256"), source, "f32")
        for file_type in FILE_TYPES:
            out = Path(tmp) / f"{file_type}.gguf"
            params = llama_cpp.llama_model_quantize_default_params()
            params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{file_type}")
            params.nthread = 2
            assert llama_cpp.llama_model_quantize(str(source).encode(), str(out).encode(), ctypes.byref(params)) == 0
            reference = np.asarray(LlamaCppBackend(out, n_threads=2).logits(ids))
            row = {"file_type": file_type, "llama_cpp_isa": llama_isa}
            for isa in isas:
                native = lockstep.load(out, n_threads=2, isa=isa).logits(ids)
                row[isa] = lockstep.compare_logits(reference, native).summary()["mean_kl"]
            rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"mean KL(llama.cpp [{llama_isa}] || native [table]) on llama-256, 48 tokens")
    print("| file type | " + " | ".join(isas) + " |")
    print("|---|" + "---:|" * len(isas))
    for row in rows:
        print(f"| {row['file_type']} | " + " | ".join(f"{row[isa]:.3g}" for isa in isas) + " |")


if __name__ == "__main__":
    main()
