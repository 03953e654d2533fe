"""The dispersion a trial's power is simulated from: measured on the run's own out-of-sample fold forecasts, and a
run without them says where it was measured instead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pulsetwin.models.intervals import MAX_SIZE
from pulsetwin.store.database import Store
from pulsetwin.store.fold_forecasts import save_fold_forecasts
from pulsetwin.trials.allocation import Scheme
from pulsetwin.trials.design import fold_totals
from pulsetwin.trials.power import (
    FOLD_FORECASTS,
    HISTORICAL_MEAN,
    Dispersion,
    FoldTotals,
    measure_dispersion,
    simulate_power,
)

BETWEEN, WITHIN, FOLD = 5.0, 8.0, 6


def planted(seed: int, buurten: int = 600, periods: int = 24) -> tuple[pd.DataFrame, FoldTotals]:
    """A history of ``Poisson(m * u * v)`` counts whose last ``FOLD`` periods are a backtest fold forecast as ``m``
    per period: the model misses a persistent factor ``u ~ Gamma(BETWEEN)`` of each buurt, and ``v ~
    Gamma(WITHIN)`` is each buurt-period's own noise. Given the forecast, a fold total is a Gamma-Poisson
    mixture whose persistent part has size ``BETWEEN``."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(3.0, 15.0, buurten)
    rate = level * rng.gamma(BETWEEN, 1.0 / BETWEEN, buurten)
    history = pd.DataFrame(rng.poisson(rate[:, None] * rng.gamma(WITHIN, 1.0 / WITHIN, (buurten, periods))))
    observed = history.iloc[:, -FOLD:].sum(axis=1).to_numpy(dtype=float)
    return history, FoldTotals(observed, FOLD * level, FOLD, pd.Timestamp("2024-01-01"))


@pytest.mark.parametrize("seed", [1, 2])
def test_the_between_size_of_planted_fold_errors_is_recovered(seed: int) -> None:
    history, fold = planted(seed)
    found = measure_dispersion(history, 12, fold)
    # 600 buurten pin 1 / between to about +-0.015 (one sd over seeds); the tolerance is over three of those.
    assert 1.0 / found.between == pytest.approx(1.0 / BETWEEN, abs=0.05)
    assert 1.0 / found.within == pytest.approx(1.0 / WITHIN, abs=0.02)
    # A trial twice the fold's length: the persistent part stays, the within part is summed over 12 periods.
    assert 1.0 / found.total == pytest.approx(1.0 / found.between + 1.0 / (12 * found.within))
    assert found.source == FOLD_FORECASTS and "last backtest fold (6 periods from 2024-01-01" in found.note


def test_the_range_of_the_between_size_covers_the_planted_one_as_often_as_stated() -> None:
    # 100 buurten pin the spread loosely: the 80 % interval holds the planted size in about 80 % of histories
    # (40 draws: 32 expected, 26 to 37 in 95 % of runs of this test were it random) and always the fitted one.
    ranges = []
    for seed in range(40):
        history, fold = planted(seed, buurten=100)
        found = measure_dispersion(history, 6, fold)
        assert found.between_range is not None
        low, high = found.between_range
        assert low <= found.between <= high
        ranges.append((low, high))
    assert 26 <= sum(low <= BETWEEN <= high for low, high in ranges) <= 37


def test_a_forecast_without_persistent_error_shows_no_between_spread() -> None:
    # Constant Poisson rates and a fold forecast of exactly the rate: the totals spread only as Poisson counts.
    rng = np.random.default_rng(3)
    level = rng.uniform(3.0, 15.0, 600)
    counts = pd.DataFrame(rng.poisson(np.repeat(level[:, None], 24, axis=1)))
    exact = FoldTotals(counts.iloc[:, -FOLD:].sum(axis=1).to_numpy(dtype=float), FOLD * level, FOLD,
                       pd.Timestamp("2024-01-01"))  # fmt: skip
    found = measure_dispersion(counts, 6, exact)
    assert found.between > 30 and found.total > 30
    assert found.between_range is not None and found.between_range[1] == MAX_SIZE, "Poisson is not ruled out"


def test_without_fold_forecasts_the_history_is_used_and_the_note_says_so() -> None:
    history, _ = planted(4)
    found = measure_dispersion(history, 6)
    assert found.source == HISTORICAL_MEAN
    assert "keeps no forecasts of its backtest folds" in found.note and "historical mean" in found.note
    short = measure_dispersion(history.iloc[:, :4], 6)
    assert short.between == MAX_SIZE and "holds no window" in short.note


def test_fold_totals_sum_the_runs_fold_forecasts_and_the_recorded_counts(tmp_path: Path) -> None:
    starts = pd.date_range("2023-07-01", periods=3, freq="MS")
    history = pd.DataFrame([[1, 2, 3, 4, 5], [0, 0, 1, 1, 1], [2, 2, 2, 2, 2]], index=["BU1", "BU2", "BU3"],
                           columns=[d.date() for d in pd.date_range("2023-05-01", periods=5, freq="MS")])  # fmt: skip
    with Store(tmp_path / "s.duckdb") as store:
        kept = store.save_run(
            "forecast", run_id="kept", origin=pd.Timestamp("2023-10-01"), freq="M", horizon=3
        )
        bare = store.save_run(
            "forecast", run_id="bare", origin=pd.Timestamp("2023-10-01"), freq="M", horizon=3
        )
        rows = pd.DataFrame({"run_id": "kept", "origin": starts[0].date(), "area_code": ["BU1"] * 3 + ["BU2"] * 3,
                             "category": "violence", "period_start": [d.date() for d in starts] * 2,
                             "mean": [1.0, 2.0, 3.0, 0.5, 0.5, 0.5]})  # fmt: skip
        save_fold_forecasts(store, rows)
        fold = fold_totals(store, kept, "violence", history)
        assert fold_totals(store, bare, "violence", history) is None
        assert fold_totals(store, kept, "burglary", history) is None
    assert fold is not None and fold.periods == 3 and fold.origin == starts[0]
    # BU3 has no fold forecast, so it is left out; the counts are those of July to September.
    assert fold.forecast.tolist() == [6.0, 1.5] and fold.observed.tolist() == [12.0, 3.0]


def test_the_stated_power_range_spans_the_uncertain_between_spread() -> None:
    # A cluster trial of 40 buurten: a persistent spread of size 2 costs far more power than none at all.
    units = pd.DataFrame({"area_code": [f"BU{i}" for i in range(40)], "expected": 30.0, "block": "all"})
    spread = Dispersion(MAX_SIZE, 8.0, 8.0, 6, between_range=(2.0, MAX_SIZE))
    found = simulate_power(units, Scheme("cluster", 0.5, None, 6), spread, effect=0.7, alpha=0.05, target=0.8,
                           simulations=100, seed=3, draws=99)  # fmt: skip
    assert found.power_range is not None
    low, high = found.power_range
    assert low <= found.power <= high and high - low > 0.3
