"""Where a sweep keeps its finished cells: one JSON file per cell, named by the cell's key
(model sha256 + prompt + backends + lockstep version), written atomically. A rerun reads them
back and computes only the cells that have none, so a crash or Ctrl-C loses at most the cells
that were running."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


class CellStore:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored row of a cell, None when it has none (or an unreadable one: recompute it)."""
        try:
            row = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return row if isinstance(row, dict) and row.get("key") == key else None

    def put(self, row: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor, staging = tempfile.mkstemp(prefix=".cell-", suffix=".json", dir=self.folder)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(row, handle, allow_nan=True, default=str)
            os.replace(staging, self._path(row["key"]))
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise

    def keys(self) -> set[str]:
        return {p.stem for p in self.folder.glob("*.json")} if self.folder.is_dir() else set()


def default_store(out: str | os.PathLike) -> Path:
    """The store beside the sweep's output file: zoo.parquet -> zoo.cells/."""
    out = Path(out)
    return out.with_name(out.stem + ".cells")
