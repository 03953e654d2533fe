"""Monte-Carlo runs on a real local Dask cluster equal those on the process pool and in this process."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from pulsetwin.studies.scenario import run_scenario
from pulsetwin.studies.scenario_spec import parse_spec

distributed = pytest.importorskip("dask.distributed")

# One worker runs the whole module, so its tests share one cluster instead of starting one per xdist worker.
pytestmark = pytest.mark.xdist_group("dask_cluster")

SPEC = {
    "name": "dask equality",
    "category": "burglary_residential",
    "periods": 10,
    "seed": 17,
    "detection": {"report_rate": 0.5, "discovery_rate": 1.0},
    "baseline": {"policy": {"kind": "proportional", "k": 3}},
    "scenario": {
        "policy": {"kind": "top_k_explore", "k": 3, "epsilon": 0.2},
        "learner": "ipw",
        "interventions": [{"kind": "rate", "areas": "all", "effect": {"low": -0.2, "high": 0.1}}],
    },
}


@pytest.fixture(scope="module")
def scheduler_address() -> Iterator[str]:
    """A two-worker local cluster of separate processes, closed after the module."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        # The scheduler's HTTP server binds a port even without a dashboard (default 8787); a random loopback
        # port keeps two clusters on one machine (another test run, a developer's Dask) from colliding.
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address


@pytest.mark.slow
def test_dask_pool_and_serial_give_identical_results(scheduler_address: str) -> None:
    spec = parse_spec(SPEC)
    rates = pd.Series(np.linspace(0.5, 5.0, 12), index=[f"BU091700{n:02d}" for n in range(12)])
    on_dask = run_scenario(spec, rates, runs=40, chunk_size=8, scheduler=scheduler_address)
    on_pool = run_scenario(spec, rates, runs=40, chunk_size=8, scheduler="local")
    serial = run_scenario(spec, rates, runs=40, chunk_size=8, scheduler="serial")
    pd.testing.assert_frame_equal(on_dask.areas, on_pool.areas)
    pd.testing.assert_frame_equal(on_dask.metrics, on_pool.metrics)
    pd.testing.assert_frame_equal(on_pool.areas, serial.areas)
    assert on_dask.summary == serial.summary


def test_another_seed_gives_other_results(scheduler_address: str) -> None:
    spec = parse_spec(SPEC)
    rates = pd.Series(np.linspace(0.5, 5.0, 12), index=[f"BU091700{n:02d}" for n in range(12)])
    first = run_scenario(spec, rates, runs=16, chunk_size=8, scheduler=scheduler_address)
    second = run_scenario(spec, rates, runs=16, seed=18, chunk_size=8, scheduler=scheduler_address)
    assert not first.areas["diff_mean"].equals(second.areas["diff_mean"])
