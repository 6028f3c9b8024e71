"""Peak resident memory of the native engine on one model, against what it must hold: the
model file (memory-mapped) plus its KV cache.

Measured in a fresh interpreter (`python -m lockstep.backends.peak_memory`), so that nothing
else loaded in the caller (llama.cpp, torch, a second model) counts: the child imports
lockstep, notes its resident set (the interpreter's own baseline), loads the model, runs the
benchmark's prefill and decode, and reports its high-water mark (VmHWM in /proc/self/status,
or ru_maxrss where there is no /proc).

KV cache bytes = n_layer × n_ctx × n_head_kv × head_dim × 2 (K and V) × 4: the native cache
(src/model/kv_cache.h) keeps keys and values in float32, [position][kv_head][head_dim] per layer.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lockstep.errors import BackendLoadError

KV_ELEMENT_BYTES = 4  # float32 keys and values
_MARK = "LOCKSTEP-PEAK-MEMORY "


@dataclass(frozen=True)
class PeakMemory:
    peak_rss_bytes: int  # the child's high-water mark, interpreter included
    baseline_rss_bytes: int  # resident before the model was loaded (python, numpy, lockstep)
    file_bytes: int  # the model file, or the weight files of a folder
    kv_cache_bytes: int
    n_ctx: int

    @property
    def engine_rss_bytes(self) -> int:
        """What loading and running the model added to the interpreter's baseline."""
        return self.peak_rss_bytes - self.baseline_rss_bytes

    @property
    def ratio(self) -> float:
        """Peak RSS ÷ (file + KV cache), the interpreter's baseline included."""
        return self.peak_rss_bytes / (self.file_bytes + self.kv_cache_bytes)

    @property
    def engine_ratio(self) -> float:
        """(Peak - baseline) RSS ÷ (file + KV cache): the engine's own share."""
        return self.engine_rss_bytes / (self.file_bytes + self.kv_cache_bytes)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "engine_rss_bytes": self.engine_rss_bytes, "ratio": self.ratio,
                "engine_ratio": self.engine_ratio}


def kv_cache_bytes(info: dict[str, Any], n_ctx: int) -> int:
    """Bytes of the native KV cache holding `n_ctx` positions, from the model's config
    (NativeModel.info: n_layer, n_head_kv, head_dim)."""
    return int(info["n_layer"]) * n_ctx * int(info["n_head_kv"]) * int(info["head_dim"]) * 2 * KV_ELEMENT_BYTES


def model_bytes(path: Path) -> int:
    """Size of a GGUF file, or of the weight files (safetensors, bin, gguf) of a model folder."""
    if path.is_dir():
        return sum(f.stat().st_size for f in path.iterdir() if f.suffix in (".safetensors", ".bin", ".gguf"))
    return path.stat().st_size


def measure_peak_memory(path: str | os.PathLike[str], n_threads: int, n_ctx: int, pp: int, tg: int,
                        timeout: float = 1800) -> PeakMemory:
    """Run the native engine on `path` (prefill `pp`, then decode `tg` from an empty context) in
    a fresh interpreter and return its peak RSS next to file + KV cache bytes."""
    path = Path(path)
    package_parent = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, "-m", "lockstep.backends.peak_memory", str(path), str(n_threads), str(n_ctx), str(pp), str(tg)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if done.returncode != 0 or not lines:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise BackendLoadError("native", path, RuntimeError(f"the peak-memory run failed: {reason}"))
    child = json.loads(lines[-1].removeprefix(_MARK))
    return PeakMemory(child["peak_rss_bytes"], child["baseline_rss_bytes"], model_bytes(path),
                      kv_cache_bytes(child["info"], n_ctx), n_ctx)


def _status_bytes(field: str) -> int | None:
    """A `VmRSS`/`VmHWM` line of /proc/self/status in bytes (None where there is no /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        return None
    return None


def _peak_bytes() -> int:
    hwm = _status_bytes("VmHWM")
    if hwm is not None:
        return hwm
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, kB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _child(argv: list[str]) -> None:
    from lockstep.backends.native import NativeModel
    from lockstep.backends.speed import token_ids

    path, n_threads, n_ctx, pp, tg = argv[0], *map(int, argv[1:5])
    baseline = _status_bytes("VmRSS") or _peak_bytes()
    model = NativeModel(path, n_threads=n_threads, n_ctx=n_ctx)
    ids = token_ids(model.n_vocab, max(pp, tg))
    model.eval(ids[:pp], last_only=True)
    model.reset()
    for i in range(tg):
        model.eval(ids[i:i + 1], last_only=True)
    info = {key: int(model.info[key]) for key in ("n_layer", "n_head_kv", "head_dim")}
    print(_MARK + json.dumps({"peak_rss_bytes": _peak_bytes(), "baseline_rss_bytes": baseline, "info": info}), flush=True)


if __name__ == "__main__":
    _child(sys.argv[1:])
