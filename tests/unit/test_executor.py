"""The executor returns results in input order, whatever runs them."""

from __future__ import annotations

import numpy as np
import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.executor import map_tasks


def _draw(seed: int) -> float:
    return float(np.random.default_rng(seed).normal())


def test_pool_and_serial_agree_in_order() -> None:
    seeds = list(range(6))
    assert map_tasks(_draw, seeds, workers=2) == map_tasks(_draw, seeds, scheduler="serial")


def test_empty_input_runs_nothing() -> None:
    assert map_tasks(_draw, []) == []


@pytest.mark.parametrize("scheduler", ["dask", "http://x:1", "tcp:/x"])
def test_unknown_scheduler_is_refused(scheduler: str) -> None:
    with pytest.raises(ParameterError, match="scheduler"):
        map_tasks(_draw, [1], scheduler=scheduler)


@pytest.mark.parametrize("workers", [0, -1, True, 1.5])
def test_bad_worker_count_is_refused(workers: object) -> None:
    with pytest.raises(ParameterError, match="workers"):
        map_tasks(_draw, [1], workers=workers)  # type: ignore[arg-type]
