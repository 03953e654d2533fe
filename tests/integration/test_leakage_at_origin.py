"""Nothing at the origin leaks through the pipelines: a count planted in the origin period and events planted at
the origin instant move neither ``best`` chosen by its earlier folds through a store nor the ``best`` map. (Each
registered model on its own is checked by :func:`pulsetwin.testing.check_model` in tests/contract.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.runs import run_forecast
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.hotspots import hotspot_map
from pulsetwin.models.base import History
from pulsetwin.models.registry import make_model
from pulsetwin.store.database import Store
from pulsetwin.testing import assert_table_equal
from pulsetwin.testing.panels import SimulatedPanel, simulate_panel

FAST = {
    "lgbm": {"n_estimators": 20, "min_data_in_leaf": 10},
    "stack": {"members": ("glm", "naive_mean_year"), "inner_origins": 3},
}
VALUES = ["mean", "q05", "q50", "q95"]
KEYS = ["area_code", "category", "period_start"]


@pytest.fixture(scope="module")
def sim() -> SimulatedPanel:
    return simulate_panel(seed=11, side=4, periods=30, freq="M", excitation=0.2)


@pytest.fixture(scope="module")
def origin(sim: SimulatedPanel) -> pd.Timestamp:
    return pd.Timestamp(sim.periods[-3])


def events_of(sim: SimulatedPanel, seed: int) -> pd.DataFrame:
    """Anonymous events behind the counts: uniform in each 500 m cell and month."""
    rng = np.random.default_rng(seed)
    n = np.nan_to_num(sim.counts).astype(np.int64).ravel()
    ia, ic, it = np.unravel_index(np.repeat(np.arange(n.size), n), sim.counts.shape)
    corner = np.array([code[1:].split("_") for code in sim.codes], dtype=float)
    return pd.DataFrame(
        {
            "event_id": np.char.mod("e%06d", np.arange(ia.size)).astype(object),
            "category": np.asarray(sim.categories, dtype=object)[ic],
            "occurred_at": sim.periods.to_numpy()[it]
            + (rng.random(ia.size) * 27 * 86400e9).astype("timedelta64[ns]"),
            "x": corner[ia, 0] + rng.uniform(0.0, 500.0, ia.size),
            "y": corner[ia, 1] + rng.uniform(0.0, 500.0, ia.size),
            "source": "sim",
        }
    )


def planted(sim: SimulatedPanel, events: pd.DataFrame, origin: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The same data with a large count in the origin period of one (area, category) and five events of
    every category at exactly the origin instant, in the busiest cell of the map."""
    incidents = sim.incidents.copy()
    at = (incidents["period_start"] == origin) & (incidents["area_code"] == sim.codes[0])
    incidents.loc[at, "count"] = 500
    x, y = events["x"].median(), events["y"].median()
    extra = pd.DataFrame(
        {
            "event_id": [f"p{i}" for i in range(5 * len(sim.categories))],
            "category": [c for c in sim.categories for _ in range(5)],
            "occurred_at": pd.Series([origin] * 5 * len(sim.categories)).astype("datetime64[ns]"),
            "x": x,
            "y": y,
            "source": "planted",
        }
    )
    return {
        "incidents": incidents,
        "areas": sim.areas,
        "covariates": sim.covariates,
        "events": pd.concat([events, extra], ignore_index=True),
    }


def frames_of(sim: SimulatedPanel, events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"incidents": sim.incidents, "areas": sim.areas, "covariates": sim.covariates, "events": events}


def test_the_plant_is_seen_once_it_lies_before_the_origin(sim: SimulatedPanel, origin: pd.Timestamp) -> None:
    later = origin + pd.offsets.MonthBegin(1)
    events = events_of(sim, seed=1)
    means = []
    for frames in (frames_of(sim, events), planted(sim, events, origin)):
        history = History.from_frames(frames, origin=later, freq="M")
        means.append(make_model("naive_last").fit(history).predict(1).sort_values(KEYS)["mean"].to_numpy())
    assert (means[0] != means[1]).sum() == len(sim.categories) and means[1].max() == 500
    cells = [
        hotspot_map(frame, categories=sim.categories[0], origin=origin + pd.Timedelta(days=1), window_days=14,
                    cell_m=250, model="count_8w")[0]
        for frame in (events, planted(sim, events, origin)["events"])
    ]  # fmt: skip
    assert cells[1]["mean"].max() > cells[0]["mean"].max()


def test_forecast_best_through_a_store_does_not_move(
    sim: SimulatedPanel, origin: pd.Timestamp, tmp_path: Path
) -> None:
    events = events_of(sim, seed=1)
    runs = []
    for i, frames in enumerate((frames_of(sim, events), planted(sim, events, origin))):
        with Store(tmp_path / f"s{i}.duckdb") as store:
            store.import_frames(frames, source="test")
            run = run_forecast(
                store, RollingOrigin("M", horizon=2, folds=2), model="best", origin=origin,
                lineup=Lineup(models=["glm"]), skill=SkillSettings(n_boot=200), scheduler="serial",
            )  # fmt: skip
            runs.append(run)
    before, after = runs
    assert before.model == after.model and before.status == after.status
    assert before.choice == after.choice and before.choice["fold_deviance"]
    assert all(fold < str(origin.date()) for fold in before.choice["folds"])
    assert_table_equal(
        before.forecasts[KEYS + VALUES], after.forecasts[KEYS + VALUES], keys=KEYS, check_dtype=True
    )


def test_no_best_map_moves(sim: SimulatedPanel, origin: pd.Timestamp) -> None:
    events = events_of(sim, seed=2)
    maps = []
    for frame in (events, planted(sim, events, origin)["events"]):
        cells, meta = hotspot_map(
            frame, categories=sim.categories[0], origin=origin, window_days=14, cell_m=250, model="best"
        )
        maps.append((cells, meta))
    (a, meta_a), (b, meta_b) = maps
    pd.testing.assert_frame_equal(a, b)
    assert meta_a["model"] == meta_b["model"] and meta_a["selection"] == meta_b["selection"]
