"""Every registered model honours the same contract (scikit-learn style shared estimator checks)."""

from __future__ import annotations

import inspect
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import NotFittedError, ParameterError
from pulsetwin.models.base import History, Model, future_periods
from pulsetwin.models.registry import MODELS, make_model, naive_names
from pulsetwin.models.testing import SimulatedPanel, simulate_panel
from pulsetwin.schema.tables import FORECASTS

FAST = {
    "lgbm": {"n_estimators": 20, "min_data_in_leaf": 10},
    "stack": {"members": ("glm", "naive_mean_year"), "inner_origins": 3},
}
HORIZON = 5


def build(name: str) -> Model:
    return make_model(name, **FAST.get(name, {}))


def simulated_events(sim: SimulatedPanel, freq: str, seed: int) -> pd.DataFrame:
    """Anonymous point events behind the simulated counts: uniform in each 500 m cell and in each period
    (withheld counts still happened: their events are Poisson draws of the true intensity)."""
    rng = np.random.default_rng(seed)
    n = np.where(np.isnan(sim.counts), rng.poisson(sim.intensity), sim.counts).astype(np.int64).ravel()
    ia, ic, it = np.unravel_index(np.repeat(np.arange(n.size), n), sim.counts.shape)
    corner = np.array([code[1:].split("_") for code in sim.codes], dtype=float)
    ends = sim.periods.shift(1, freq="W-MON" if freq == "W" else "MS")
    length = (ends - sim.periods).to_numpy()[it]
    return pd.DataFrame(
        {
            "event_id": np.char.mod("e%07d", np.arange(ia.size)).astype(object),
            "category": np.asarray(sim.categories, dtype=object)[ic],
            "occurred_at": sim.periods.to_numpy()[it]
            + (rng.random(ia.size) * length).astype("timedelta64[ns]"),
            "x": corner[ia, 0] + rng.uniform(0.0, 500.0, ia.size),
            "y": corner[ia, 1] + rng.uniform(0.0, 500.0, ia.size),
            "source": "sim",
        }
    )


@pytest.fixture(scope="module", params=["W", "M"])
def history(request: pytest.FixtureRequest) -> History:
    freq = request.param
    periods = 70 if freq == "W" else 30
    sim = simulate_panel(seed=3, side=4, periods=periods, freq=freq, excitation=0.1, withheld=0.05)
    base = sim.history(periods - 6, freq)
    events = simulated_events(sim, freq, seed=4)
    return replace(base, events=events[events["occurred_at"] < base.origin].reset_index(drop=True))


def copies(history: History) -> list[pd.DataFrame]:
    return [
        f.copy(deep=True) for f in (history.incidents, history.covariates, history.areas) if f is not None
    ]


@pytest.fixture(scope="module")
def fitted(history: History) -> dict[str, tuple[Model, pd.DataFrame]]:
    out = {}
    for name in MODELS:
        model = build(name)
        out[name] = (model, model.fit(history).predict(HORIZON, run_id="r1"))
    return out


def test_names_are_unique_short_slugs() -> None:
    names = [cls.name for cls in MODELS.values()]
    assert len(set(names)) == len(names) == len(MODELS)
    assert all(n == k for k, n in zip(MODELS, names, strict=True))
    assert all(len(n) <= 16 and n.replace("_", "").isalnum() and n.islower() for n in names)
    assert set(naive_names()) <= set(MODELS)


@pytest.mark.parametrize("name", list(MODELS))
def test_init_stores_parameters_only(name: str) -> None:
    model = make_model(name)
    signature = inspect.signature(type(model).__init__)
    expected = {
        p.name for p in signature.parameters.values() if p.name != "self" and p.kind is p.KEYWORD_ONLY
    }
    assert set(model.get_params()) == expected
    assert not [k for k in vars(model) if k.endswith("_")]


@pytest.mark.parametrize("name", list(MODELS))
def test_predict_before_fit_raises(name: str) -> None:
    with pytest.raises(NotFittedError):
        make_model(name).predict(1)


def test_unknown_model_refused() -> None:
    with pytest.raises(ParameterError, match="'name' parameter of make_model"):
        make_model("nope")


@pytest.mark.parametrize("name", list(MODELS))
def test_forecast_frame_is_canonical_and_complete(
    name: str, history: History, fitted: dict[str, tuple[Model, pd.DataFrame]]
) -> None:
    _, frame = fitted[name]
    assert tuple(frame.columns) == FORECASTS.column_names
    pairs = history.incidents[["area_code", "category"]].drop_duplicates()
    assert len(frame) == len(pairs) * HORIZON
    got = set(frame[["area_code", "category"]].itertuples(index=False, name=None))
    assert got == set(pairs.itertuples(index=False, name=None))
    expected_periods = future_periods(pd.Timestamp(history.origin), history.freq, HORIZON)
    for _, group in frame.groupby(["area_code", "category"]):
        assert list(group["period_start"]) == list(expected_periods)
    assert frame["period_start"].dtype == "datetime64[ns]"
    assert (frame["model"] == name).all() and (frame["run_id"] == "r1").all()
    values = frame[["mean", "q05", "q50", "q95"]].to_numpy(dtype=float)
    assert np.isfinite(values).all()
    assert (frame["mean"] >= 0).all()
    assert (frame["q05"] <= frame["q50"]).all() and (frame["q50"] <= frame["q95"]).all()


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_returns_self_is_deterministic_and_leaves_inputs_alone(
    name: str, history: History, fitted: dict[str, tuple[Model, pd.DataFrame]]
) -> None:
    before = copies(history)
    model = build(name)
    assert model.fit(history) is model
    again = model.predict(HORIZON, run_id="r1")
    pd.testing.assert_frame_equal(again, fitted[name][1])
    for old, new in zip(before, copies(history), strict=True):
        pd.testing.assert_frame_equal(old, new)


@pytest.mark.parametrize("name", list(MODELS))
def test_bad_horizon_refused(name: str, fitted: dict[str, tuple[Model, pd.DataFrame]]) -> None:
    with pytest.raises(ParameterError, match="horizon"):
        fitted[name][0].predict(0)
