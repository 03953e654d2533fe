"""One executor interface for work that fans out (backtest folds x models, Monte-Carlo runs of the twin).

The local default is a process pool; ``scheduler="tcp://host:port"`` sends the same tasks to a Dask distributed
cluster. Tasks must be picklable module-level callables with their own seeds, so results do not depend on where
they ran.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from pulsetwin.exceptions import bad_parameter
from pulsetwin.schema.params import Integer, NoneOr, check_param

T = TypeVar("T")
R = TypeVar("R")


def map_tasks(
    function: Callable[[T], R],
    items: Sequence[T],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
) -> list[R]:
    """Apply ``function`` to every item and return results in input order.

    Parameters
    ----------
    function
        A picklable, module-level function of one argument.
    items
        The task arguments; each should carry its own seed.
    scheduler
        ``None`` or ``"local"`` for a process pool on this machine, ``"serial"`` to run in this process (for
        debugging and tiny jobs), or a Dask scheduler address ``"tcp://HOST:PORT"``.
    workers
        Process-pool size (default: number of CPUs); ignored for Dask, whose cluster decides.
    """
    check_param("workers", "map_tasks", NoneOr(Integer(low=1, say="a positive integer")), workers)
    if not items:
        return []
    if scheduler == "serial":
        return [function(item) for item in items]
    if scheduler is None or scheduler == "local":
        # forkserver: workers fork from a clean server process, not from a parent whose LightGBM/OpenMP
        # threads are running (a plain fork can deadlock there), and start faster than spawn.
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(function, items))
    if scheduler.startswith("tcp://"):
        return _map_on_dask(function, items, scheduler)
    raise bad_parameter("scheduler", "map_tasks", "None, 'local', 'serial' or 'tcp://HOST:PORT'", scheduler)


def _map_on_dask(function: Callable[[T], R], items: Sequence[T], address: str) -> list[R]:
    """Run the tasks on an existing Dask distributed cluster and gather them in order."""
    from dask.distributed import Client

    with Client(address, set_as_default=False) as client:
        futures = client.map(function, list(items), pure=False)
        return list(client.gather(futures))
