"""Grid point-process models as area forecasters: they find the true intensity and conserve the calibrated
total."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats

from pulsetwin.exceptions import ParameterError
from pulsetwin.hotspots.simulate import simulate_hawkes
from pulsetwin.models.base import History
from pulsetwin.models.point_process import GridToAreas
from pulsetwin.models.registry import OPT_IN, default_model_names, make_model

START = pd.Timestamp("2021-01-04")
SIDE, CELL = 10, 500.0
MU, THETA, OMEGA, SIGMA, DAYS = 4.0, 0.6, 1.0 / 10.0, 120.0, 420.0
CATEGORY = "burglary_residential"
X0, Y0 = 150_000.0, 450_000.0


@cache
def simulation() -> tuple[History, np.ndarray]:
    """A Hawkes process on 10 x 10 square areas of 500 m, weekly incidents = its events, and the true mean
    count of each area in the first forecast week (background + offspring of all past events)."""
    sample = simulate_hawkes(
        mu=MU, theta=THETA, omega=OMEGA, sigma=SIGMA, days=DAYS, size_m=SIDE * CELL, seed=11
    )
    origin_day = 7.0 * np.floor(DAYS / 7.0) - 7.0
    inside = (sample.x >= 0) & (sample.x < SIDE * CELL) & (sample.y >= 0) & (sample.y < SIDE * CELL)
    t, x, y = sample.t[inside], sample.x[inside], sample.y[inside]
    past = t < origin_day
    ix, iy = (x // CELL).astype(int), (y // CELL).astype(int)
    area = ix * SIDE + iy
    codes = np.array([f"A{i:03d}" for i in range(SIDE * SIDE)], dtype=object)
    lo_x, lo_y = np.repeat(np.arange(SIDE), SIDE) * CELL, np.tile(np.arange(SIDE), SIDE) * CELL
    week = (t[past] // 7).astype(int)
    counts = np.zeros((SIDE * SIDE, week.max() + 1))
    np.add.at(counts, (area[past], week), 1.0)
    periods = pd.date_range(START, periods=counts.shape[1], freq="W-MON")
    incidents = pd.DataFrame(
        {
            "area_code": np.repeat(codes, counts.shape[1]),
            "period_start": np.tile(periods.to_numpy(), SIDE * SIDE),
            "freq": "W",
            "category": CATEGORY,
            "count": pd.array(counts.ravel().astype(np.int64), dtype="Int64"),
            "source": "sim",
        }
    )
    areas = pd.DataFrame(
        {
            "area_code": codes,
            "name": codes,
            "level": "buurt",
            "parent_code": "WK000000",
            "geometry": shapely.to_wkt(shapely.box(X0 + lo_x, Y0 + lo_y, X0 + lo_x + CELL, Y0 + lo_y + CELL)),
        }
    )
    events = pd.DataFrame(
        {
            "event_id": np.char.mod("e%06d", np.arange(past.sum())).astype(object),
            "category": CATEGORY,
            "occurred_at": (START + pd.to_timedelta(t[past], unit="D")).astype("datetime64[ns]"),
            "x": X0 + x[past],
            "y": Y0 + y[past],
            "source": "sim",
        }
    )
    origin = START + pd.Timedelta(days=origin_day)
    history = History(incidents, "W", origin, None, areas, events)
    # true mean in [origin, origin + 7): background share plus the offspring (all generations) of past events
    kappa = OMEGA * (1.0 - THETA)
    background = MU / (1.0 - THETA) * 7.0 / (SIDE * SIDE)
    weight = THETA * OMEGA * np.exp(-OMEGA * (origin_day - t[past])) * (1.0 - np.exp(-kappa * 7.0)) / kappa
    px = stats.norm.cdf((lo_x[:, None] + CELL - x[past]) / SIGMA) - stats.norm.cdf(
        (lo_x[:, None] - x[past]) / SIGMA
    )
    py = stats.norm.cdf((lo_y[:, None] + CELL - y[past]) / SIGMA) - stats.norm.cdf(
        (lo_y[:, None] - y[past]) / SIGMA
    )
    steady_excess = THETA * background / 7.0 * (1.0 - np.exp(-kappa * 7.0)) / kappa
    truth = background + (px * py) @ weight - steady_excess
    return history, truth


@pytest.mark.parametrize("name", ["etas_area", "prospective_area"])
def test_area_forecasts_track_the_true_intensity_better_than_flat(name: str) -> None:
    history, truth = simulation()
    frame = make_model(name).fit(history).predict(1)
    mean = frame.sort_values("area_code")["mean"].to_numpy()
    flat = np.full_like(truth, mean.sum() / truth.size)
    assert np.corrcoef(mean, truth)[0, 1] > 0.5
    assert np.mean((mean - truth) ** 2) < 0.8 * np.mean((flat - truth) ** 2)


def test_kde_area_conserves_the_calibrated_total() -> None:
    history, _ = simulation()
    model = make_model("kde_area").fit(history)
    frame = model.predict(3)
    totals = frame.groupby("period_start")["mean"].sum().to_numpy()
    np.testing.assert_allclose(totals, 7.0 * model.recent_rate_[CATEGORY], rtol=1e-9)
    weekly = history.incidents.groupby("period_start")["count"].sum().to_numpy(dtype=float)[-52:]
    np.testing.assert_allclose(7.0 * model.recent_rate_[CATEGORY], weekly.mean(), rtol=1e-9)
    assert model.fallback_ == {} and model.uncovered_ == ()


def test_category_without_events_falls_back_to_the_pair_mean_and_says_so() -> None:
    history, _ = simulation()
    extra = history.incidents.assign(
        category="vandalism", count=pd.array([1, 3] * (len(history.incidents) // 2), dtype="Int64")
    )
    both = History(
        pd.concat([history.incidents, extra], ignore_index=True),
        "W",
        history.origin,
        None,
        history.areas,
        history.events,
    )
    model = make_model("kde_area").fit(both)
    assert set(model.fallback_) == {"vandalism"}
    frame = model.predict(2)
    got = frame[frame["category"] == "vandalism"].groupby("area_code")["mean"].agg(["min", "max"])
    expected = extra.groupby("area_code")["count"].mean().astype(float)
    np.testing.assert_allclose(got["min"], expected.to_numpy())
    np.testing.assert_allclose(got["max"], expected.to_numpy())


def test_opt_in_models_stay_out_of_the_default_lineup() -> None:
    assert set(OPT_IN) == {"kde_area", "prospective_area", "etas_area", "stack"}  # slow: run only when named
    assert not set(OPT_IN) & set(default_model_names())


def test_bad_parameters_and_missing_areas_refused() -> None:
    history, _ = simulation()
    with pytest.raises(ParameterError, match="hotspot"):
        GridToAreas(hotspot="learned").fit(history)
    with pytest.raises(ParameterError, match="cell_m"):
        make_model("kde_area", cell_m=0).fit(history)
    with pytest.raises(ParameterError, match="areas"):
        make_model("kde_area").fit(
            History(history.incidents, "W", history.origin, None, None, history.events)
        )
