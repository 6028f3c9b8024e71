"""The child process of test_limits.py's mutation test: loads random mutations of one model
file the way users do, each in turn, and reports every outcome. A crash kills this process
only; the parent sees the signal and the mutation being loaded (announced on stdout before
each attempt), rebuilds that input from its seed and keeps it.

    python tests/mutation_child.py KIND ORIGINAL SCRATCH FIRST_SEED COUNT

KIND: gguf-model (gguf.open, the native engine, its tokenizer, logits), gguf-vocab,
safetensors, tokenizer-json. After the imports the process may not allocate more than
MUTATION_MEMORY_MB beyond what it holds (RLIMIT_AS; under scripts/sanitize.sh ASan's
max_allocation_size_mb does it instead), so an allocation sized from a corrupt count shows
as a MemoryError, which the parent counts as a failure.
"""

from __future__ import annotations

import os
import random
import resource
import sys
from pathlib import Path

import numpy as np

import lockstep as ls
from lockstep.errors import FormatError

MUTATION_MEMORY_MB = 512


def mutate(data: bytes, seed: int) -> bytes:
    """One random mutation: flipped bits, overwritten bytes (often with extreme integers), a
    cut, a repeated or a deleted stretch."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4))):
        kind = rng.randrange(6)
        at = rng.randrange(len(out)) if out else 0
        if kind == 0 and out:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:
            out[at:at + 1] = bytes([rng.randrange(256)])
        elif kind == 2:
            value = rng.choice((0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 2**63 - 1, 2**64 - 1, rng.randrange(2**32)))
            width = rng.choice((1, 2, 4, 8))
            out[at:at + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
        elif kind == 3:
            del out[rng.randrange(len(out) + 1):]
        elif kind == 4 and out:
            span = out[at:at + rng.randrange(1, 64)]
            out[at:at] = span
        elif out:
            del out[at:at + rng.randrange(1, 64)]
    return bytes(out)


def load(kind: str, path: Path) -> None:
    if kind == "gguf-model":
        model = ls.gguf.open(path)
        for name in model.tensors:
            model.tensors[name]
        engine = ls.NativeModel(path, n_threads=1)
        ids = engine.tokenize("Hello world")
        ids = ids[(ids >= 0) & (ids < engine.n_vocab)][:8]
        if len(ids):
            logits = engine.logits(ids)
            assert logits.shape == (len(ids), engine.n_vocab)
    elif kind == "gguf-vocab" or kind == "tokenizer-json":
        tokenizer = ls.Tokenizer.from_file(path)
        ids = tokenizer.encode("Hello world! 日本語 <s>", add_special=True, parse_special=True)
        tokenizer.decode(ids)
    elif kind == "safetensors":
        checkpoint = ls.safetensors.open(path)
        for name in checkpoint:
            np.asarray(checkpoint[name]).sum()
    else:
        raise SystemExit(f"unknown kind {kind}")


def main() -> None:
    kind, original, scratch, first, count = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    data = original.read_bytes()
    target = scratch / original.name
    if "LOCKSTEP_SANITIZED" not in os.environ:  # ASan reserves terabytes of address space
        with open("/proc/self/statm") as statm:
            held = int(statm.read().split()[0]) * resource.getpagesize()
        limit = held + (MUTATION_MEMORY_MB << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for seed in range(first, first + count):
        print(f"seed {seed}", flush=True)
        target.write_bytes(mutate(data, seed))
        try:
            load(kind, target)
            outcome = "loaded"
        except (FormatError, ValueError) as error:  # FormatError is a ValueError; ValueError: tokenizer text/ids
            outcome = type(error).__name__
        except Exception as error:  # noqa: BLE001 - reported to the parent, which judges
            outcome = f"other {type(error).__name__}: {str(error)[:200]}"
        print(f"outcome {seed} {outcome}", flush=True)


if __name__ == "__main__":
    main()
