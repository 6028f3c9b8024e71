"""Where a sweep's cells run: in this process, or on a Dask cluster.

Both take the cells still to compute and call ``on_row(cell, row, final)`` with each finished
row, in the order they finish; ``final`` is False for a row that says only that the cell could
not be computed this time (its worker died), which a rerun computes again. The Dask executor ships cells (paths and strings) to the workers, never engines;
each worker loads a model's engines once (lockstep.zoo.engines) and runs one cell at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from lockstep.errors import UsageError
from lockstep.zoo.cells import Cell, error_row, run_cell

OnRow = Callable[[Cell, dict[str, Any], bool], None]
DASK_INSTALL = 'pip install "lockstep[dask]"'
# The Dask worker resource a cell's memory estimate is declared in (bytes).
MEMORY_RESOURCE = "MEMORY"


def run_local(cells: Sequence[Cell], on_row: OnRow, n_threads: int | None = None) -> None:
    for cell in cells:
        on_row(cell, run_cell(cell, n_threads), True)


@contextlib.contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """A client of the cluster that ``scheduler`` names: ``local:N`` starts a LocalCluster of N
    single-threaded worker processes, each declaring its share of this machine's memory as
    the MEMORY resource; ``tcp://HOST:PORT`` (or any address Dask takes) joins a running one."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise UsageError(f"--scheduler {scheduler} needs dask.distributed; install it with: {DASK_INSTALL}") from error
    if scheduler.startswith("local:"):
        try:
            n_workers = int(scheduler.partition(":")[2])
        except ValueError:
            n_workers = 0
        if n_workers < 1:
            raise UsageError(f"--scheduler local:N takes a number of workers N >= 1, not {scheduler!r}")
        import psutil

        share = psutil.virtual_memory().total // n_workers
        # A killed worker's cell is an error row at once, not retried on the next worker
        # (a model that crashes its engine would otherwise take down every worker in turn).
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   resources={MEMORY_RESOURCE: share}, memory_limit=share,
                                   dashboard_address=None, silence_logs=50)
        with cluster, Client(cluster) as client:
            yield client
        return
    with Client(scheduler) as client:
        yield client


def run_dask(cells: Sequence[Cell], on_row: OnRow, client: Any, n_threads: int | None = None) -> None:
    """Submits every cell, model by model, and hands back rows as they finish. A cell whose
    worker died (or whose task failed in Dask itself) becomes an error row; the rest go on."""
    from distributed import as_completed

    capacity = _memory_capacity(client)
    futures = {}
    for cell in cells:
        resources = None
        if capacity:  # workers that declare no MEMORY would never run a task that asks for it
            resources = {MEMORY_RESOURCE: min(cell.memory_bytes, capacity)}
        future = client.submit(run_cell, cell, n_threads, key=f"lockstep-cell-{cell.key}", resources=resources,
                               pure=False)
        futures[future] = cell
    for future in as_completed(futures):
        cell = futures[future]
        try:
            row, final = future.result(), True
        except Exception as error:  # KilledWorker, a lost connection, a cancelled task
            row, final = error_row(cell, f"the Dask task failed: {type(error).__name__}: {error}"), False
        on_row(cell, row, final)


def _memory_capacity(client: Any) -> int:
    """The largest MEMORY resource any worker declares, 0 when none does."""
    workers = client.scheduler_info().get("workers", {})
    return int(max((w.get("resources", {}).get(MEMORY_RESOURCE, 0) for w in workers.values()), default=0))
