"""``lockstep.zoo``: models x (prompts and a corpus) x backend pairs -> one row per cell, as a
DataFrame and a Parquet (or CSV) file, resumable, on this machine or a Dask cluster."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from lockstep.errors import ExitCode, UsageError
from lockstep.zoo.cells import COLUMNS, Cell, plan_cells
from lockstep.zoo.executors import dask_client, run_dask, run_local
from lockstep.zoo.progress import console_for, summary_table, sweep_progress
from lockstep.zoo.sources import Corpus, Prompt, corpus_from, find_models, prompts_from
from lockstep.zoo.store import CellStore, default_store

_INTEGER_COLUMNS = ("prompt_index", "n_tokens", "exit_code", "first_divergence")


def zoo(
    models: str | os.PathLike | Sequence[str | os.PathLike],
    prompts: str | os.PathLike | Sequence[str | Mapping | Prompt] | None = None,
    backends: str | Sequence[str] | None = None,
    out: str | os.PathLike | None = "zoo.parquet",
    scheduler: str | Any | None = None,
    *,
    corpus: str | os.PathLike | None = None,
    ctx: int = 512,
    chunks: int | None = None,
    csv: str | os.PathLike | None = None,
    force: bool = False,
    store: str | os.PathLike | None = None,
    n_threads: int | None = None,
    progress: bool = True,
    file: TextIO | None = None,
):
    """Compare backends over a zoo of models: a pandas DataFrame with one row per (model,
    prompt, backend pair), columns :data:`lockstep.zoo.cells.COLUMNS` (and whatever else the
    crossval report gives).

    ``models``: files, Hugging Face folders, or folders to search. ``prompts``: a file (text:
    one prompt a line; ``.jsonl``: strings, ``{"prompt": ...}`` or ``{"messages": [...]}``) or
    a sequence of those. ``backends``: names (or "a,b,c"), reference first; per model, the
    ones ``inspect`` routes are compared (default: llama.cpp, native, hf). ``out``: the Parquet
    file written (None: none); finished cells are kept in ``store`` (default: beside ``out``,
    zoo.parquet -> zoo.cells/) and not computed again unless ``force``. ``scheduler``: None
    runs here; ``"local:N"`` a Dask LocalCluster of N workers; ``"tcp://HOST:PORT"`` an
    existing cluster; or a ``distributed.Client``. Progress and the summary go to ``file``
    (stderr).

    ``corpus``: a text file every model is also scored over, as ``lockstep kld`` scores it
    (windows of ``ctx`` tokens, at most ``chunks`` of them): one more cell per model and pair,
    with kld's statistics as columns (mean_kld, p99_kld, same_top_p, ppl_base, ppl_test, ...)
    and the worst window's localization. A sweep has prompts, a corpus, or both.
    """
    if prompts is None and corpus is None:
        raise UsageError("a sweep needs prompts, a corpus, or both")
    workloads: list[Prompt | Corpus] = [*(prompts_from(prompts) if prompts is not None else []),
                                        *([corpus_from(corpus, ctx, chunks)] if corpus is not None else [])]
    model_paths = find_models([models] if isinstance(models, (str, os.PathLike)) else models)
    cells = plan_cells(model_paths, workloads, _backend_names(backends))
    if store is None and out is not None:
        store = default_store(out)
    cell_store = CellStore(store) if store is not None else None
    rows: dict[str, dict[str, Any]] = {}
    if cell_store is not None and not force:
        for cell in cells:
            stored = cell_store.get(cell.key)
            if stored is not None:
                rows[cell.key] = {**stored, "cached": True}
    missing = [cell for cell in cells if cell.key not in rows]

    console = console_for(file)
    bar = sweep_progress(console, disable=not progress)
    task = bar.add_task(_model_name(missing[0]) if missing else "", total=len(cells), completed=len(rows))

    def on_row(cell: Cell, row: dict[str, Any], final: bool) -> None:
        if final and cell_store is not None:
            cell_store.put(row)
        rows[cell.key] = row
        bar.update(task, advance=1, description=_model_name(cell))

    with bar:
        _execute(missing, on_row, scheduler, n_threads)
    frame = to_frame([rows[cell.key] for cell in cells])
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(out, index=False)
    if csv is not None:
        frame.to_csv(csv, index=False)
    if progress:
        console.print(summary_table(frame))
        computed = len(missing)
        console.print(f"{len(cells)} cells: {computed} computed, {len(cells) - computed} from {store}"
                      + (f"; written to {out}" if out is not None else ""))
    return frame


def sweep_exit_code(frame) -> int:
    """0 when every cell passed, 1 when any diverged or failed."""
    return ExitCode.OK if len(frame) and (frame["verdict"] == "pass").all() else ExitCode.LOGITS_DIVERGED


def to_frame(rows: Sequence[dict[str, Any]]):
    import pandas as pd

    extra = sorted({name for row in rows for name in row} - set(COLUMNS))
    frame = pd.DataFrame(list(rows), columns=[*COLUMNS, *extra])
    for name in _INTEGER_COLUMNS:
        frame[name] = pd.array(frame[name], dtype="Int64")
    frame["cached"] = frame["cached"].astype(bool)
    frame["loaded"] = pd.array(frame["loaded"], dtype="boolean")
    return frame


def _execute(missing: list[Cell], on_row, scheduler, n_threads: int | None) -> None:
    if not missing:
        return
    if scheduler is None:
        run_local(missing, on_row, n_threads)
    elif isinstance(scheduler, str):
        with dask_client(scheduler) as client:
            run_dask(missing, on_row, client, n_threads)
    else:  # a distributed.Client the caller holds
        run_dask(missing, on_row, scheduler, n_threads)


def _backend_names(backends: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if backends is None:
        return None
    names = tuple(b.strip() for b in (backends.split(",") if isinstance(backends, str) else backends) if b.strip())
    if len(names) < 2:
        raise UsageError(f"a sweep compares two or more backends, got {list(names)}")
    return names


def _model_name(cell: Cell) -> str:
    return Path(cell.model).name
