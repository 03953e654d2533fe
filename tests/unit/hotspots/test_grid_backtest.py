"""The grid backtest: origins before the data's end, paired comparison to the best baseline."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.hotspots.backtest import backtest_origins, run_grid_backtest, summarise
from pulsetwin.hotspots.simulate import simulate_drifting_city


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return simulate_drifting_city(seed=11, days=400, events_per_year=2_500.0, size_m=3_000.0)


def test_origins_are_a_step_apart_and_the_last_window_ends_after_the_data(events: pd.DataFrame) -> None:
    origins = backtest_origins(events, window_days=14, n_origins=4, step_days=7, last_origin=None)
    assert [b - a for a, b in itertools.pairwise(origins)] == [pd.Timedelta(days=7)] * 3
    assert origins[-1] + pd.Timedelta(days=14) == events["occurred_at"].max().normalize() + pd.Timedelta(
        days=1
    )
    with pytest.raises(ParameterError, match="fewer --origins"):
        backtest_origins(events, window_days=14, n_origins=100, step_days=14, last_origin=None)


def test_backtest_is_reproducible_and_always_has_the_baselines(events: pd.DataFrame) -> None:
    kwargs = {
        "categories": ["burglary_residential"],
        "cell_m": 150,
        "window_days": 28,
        "n_origins": 3,
        "models": ["kde"],
    }
    first = run_grid_backtest(events, **kwargs)  # type: ignore[arg-type]
    assert first["models"] == ["count_365", "count_8w", "count_all", "kde"]
    assert "does" in first["verdicts"]["kde"] or "beats" in first["verdicts"]["kde"]
    second = run_grid_backtest(events, **kwargs)  # type: ignore[arg-type]
    assert first["comparison"] == second["comparison"]


def _origin(values: dict[str, float]) -> dict[str, object]:
    metrics = {m: {"0.05": {"hit_rate": v * 0.05, "pai": v, "pei": v / 10}} for m, v in values.items()}
    return {"n_observed": 5, "metrics": metrics, "ceiling_hit_rate": {"0.05": 1.0}}


def test_comparison_uses_the_best_baseline_and_a_bootstrap_interval() -> None:
    rng = np.random.default_rng(0)
    per_origin = [
        _origin(
            {
                "count_365": 2.0,
                "count_8w": 3.0 + rng.normal(0, 0.1),
                "count_all": 1.0,
                "m": 5.0 + rng.normal(0, 0.1),
            }
        )
        for _ in range(10)
    ]
    out = summarise(per_origin, ["count_365", "count_8w", "count_all", "m"], [0.05], n_boot=500, seed=1)
    pai = out["comparison"]["m"]["0.05"]["pai"]
    assert pai["best_baseline"] == "count_8w"
    assert pai["ci_low"] < pai["difference"] < pai["ci_high"] and pai["ci_low"] > 1.5 and pai["beats"]
    assert "beats count_8w" in out["verdicts"]["m"]
