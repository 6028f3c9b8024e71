"""Logit baselines: a test's logits stored once (compressed .npz) and compared on every later run.

One file per baseline name holds one entry per producer, keyed by the model file's sha256, the
backend's name and its version (what ran, including the settings that change arithmetic): a
suite over several models keeps each model's entry side by side, and logits are only ever
compared with logits the same backend made from the same bytes. Each entry records what made
it. Nothing is pickled: the metadata is a JSON string.
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from lockstep.testing.logits import assert_logits_close

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Producer:
    """What made a set of logits: the model file and the backend that ran it."""

    model: str
    sha256: str
    backend: str
    version: str

    def key(self) -> tuple[str, str, str]:
        return (self.sha256, self.backend, self.version)

    def describe(self) -> str:
        return f"model {Path(self.model).name} (sha256 {self.sha256[:16]}…) on {self.backend} {self.version}"


@dataclass
class Entry:
    logits: np.ndarray
    meta: dict[str, Any]

    @property
    def producer(self) -> Producer:
        return Producer(self.meta["model"], self.meta["sha256"], self.meta["backend"], self.meta["version"])


def baseline_path(folder: Path, name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise ValueError(f"a baseline name is letters, digits, '.', '_' and '-' (starting with a letter or digit), "
                         f"not {name!r}")
    return folder / f"{name}.npz"


def read_entries(path: Path) -> list[Entry]:
    """Every entry of a baseline file ([] when there is none). A malformed file is an error
    naming it, never a silent miss."""
    if not path.exists():
        return []
    try:
        with np.load(path, allow_pickle=False) as data:
            count = int(data["entries"])
            return [Entry(np.array(data[f"logits_{i}"]), json.loads(str(data[f"meta_{i}"]))) for i in range(count)]
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(f"{path}: not a lockstep logits baseline ({type(error).__name__}: {error}); "
                         f"delete it or run with --lockstep-regen") from error


def write_entry(path: Path, logits: np.ndarray, producer: Producer, recorded_by: str) -> None:
    """Add (or replace) the entry of `producer`, keeping the others."""
    meta = {
        "model": producer.model, "sha256": producer.sha256, "backend": producer.backend, "version": producer.version,
        "shape": list(logits.shape), "recorded_by": recorded_by,
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.machine(), "python": platform.python_version(),
    }
    entries = [e for e in read_entries(path) if e.producer.key() != producer.key()]
    entries.append(Entry(np.ascontiguousarray(logits, dtype=np.float32), meta))
    arrays: dict[str, np.ndarray] = {"entries": np.array(len(entries))}
    for i, entry in enumerate(entries):
        arrays[f"logits_{i}"] = entry.logits
        arrays[f"meta_{i}"] = np.array(json.dumps(entry.meta, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle


def check_against(path: Path, name: str, logits: np.ndarray, producer: Producer, *, regen: bool,
                  recorded_by: str, tokenizer: Any = None) -> bool:
    """Compare `logits` with the entry `producer` made, or with regen (re)write it. Returns True
    when written. AssertionError when the entry is missing (naming what the file holds instead)
    or the logits are not close in the same-arithmetic band."""
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    logits = np.asarray(logits, dtype=np.float32)
    if regen:
        write_entry(path, logits, producer, recorded_by)
        return True
    entries = read_entries(path)
    entry = next((e for e in entries if e.producer.key() == producer.key()), None)
    if entry is None:
        raise AssertionError(_missing_message(path, name, producer, entries))
    try:
        # The same backend on the same bytes: only summation order (threads) may differ.
        assert_logits_close(logits, entry.logits, band="same-arithmetic", tokenizer=tokenizer)
    except AssertionError as error:
        raise AssertionError(f"Logits differ from baseline {name!r} ({path}, recorded {entry.meta['recorded_at']} "
                             f"by {entry.meta['recorded_by']}; {producer.describe()})\n\n{error}") from None
    return False


def _missing_message(path: Path, name: str, producer: Producer, entries: list[Entry]) -> str:
    if not entries:
        return (f"No baseline {name!r}: {path} does not exist. Run pytest with --lockstep-regen to record it "
                f"({producer.describe()}).")
    lines = [f"Baseline {name!r} ({path}) was not made by this run's {producer.describe()}:"]
    for e in entries:
        p = e.producer
        differs = []
        if p.sha256 != producer.sha256:
            differs.append(f"made from another sha256 {p.sha256[:16]}… ({Path(p.model).name})")
        if p.backend != producer.backend:
            differs.append(f"by another backend {p.backend}")
        elif p.version != producer.version:
            differs.append(f"with another {p.backend} version {p.version}")
        lines.append(f"  it holds an entry {', '.join(differs)}, recorded {e.meta['recorded_at']}")
    lines.append("Run pytest with --lockstep-regen to record one for this model and backend.")
    return "\n".join(lines)
