"""A small synthetic city with known Poisson intensity, and tiny test-local models."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from pulsetwin.models.base import History, Model, future_periods
from pulsetwin.schema.tables import FORECASTS

CATEGORIES = ("burglary_residential", "vandalism")


def make_city(
    *, n_areas: int = 12, n_weeks: int = 80, seed: int = 0, start: str = "2021-01-04"
) -> dict[str, pd.DataFrame]:
    """Canonical frames of a toy city: square buurten of varied size, weekly Poisson counts, the truth."""
    rng = np.random.default_rng(seed)
    codes = [f"BU0917{i:04d}" for i in range(n_areas)]
    sides = rng.uniform(200.0, 800.0, n_areas)
    x0 = 190_000 + 1000 * np.arange(n_areas)
    geometry = [
        f"POLYGON (({x} 320000, {x + s} 320000, {x + s} {320000 + s}, {x} {320000 + s}, {x} 320000))"
        for x, s in zip(x0, sides, strict=True)
    ]
    areas = pd.DataFrame(
        {"area_code": codes, "name": codes, "level": "buurt", "parent_code": "GM0917", "geometry": geometry}
    )
    periods = future_periods(pd.Timestamp(start), "W", n_weeks)
    base = rng.gamma(2.0, 1.5, size=(n_areas, len(CATEGORIES)))
    season = 1.0 + 0.4 * np.sin(2 * np.pi * np.arange(n_weeks) / 52.0)
    mu = base[:, :, None] * season[None, None, :]
    grid = pd.MultiIndex.from_product(
        [codes, CATEGORIES, periods], names=["area_code", "category", "period_start"]
    )
    frame = grid.to_frame(index=False)
    frame["intensity"] = mu.ravel()
    counts = rng.poisson(mu.ravel())
    incidents = frame[["area_code", "period_start"]].assign(
        freq="W", category=frame["category"], count=counts.astype(np.int64), source="police"
    )[["area_code", "period_start", "freq", "category", "count", "source"]]
    truth = frame.assign(freq="W", offence_intensity=frame["intensity"] * 1.5)
    covariates = pd.DataFrame(
        {
            "area_code": np.repeat(codes, 3),
            "year": np.tile([2020, 2021, 2022], n_areas),
            "variable": "inhabitants",
            "value": rng.uniform(500, 3000, 3 * n_areas).round(),
        }
    )
    return {"areas": areas, "incidents": incidents, "truth": truth, "covariates": covariates}


def poisson_frame(
    pairs: pd.DataFrame, periods: pd.DatetimeIndex, mean: np.ndarray, name: str
) -> pd.DataFrame:
    """A canonical forecasts frame: ``mean`` has one row per pair and one column per period."""
    out = pairs.loc[pairs.index.repeat(len(periods))].reset_index(drop=True)
    out["period_start"] = np.tile(periods.to_numpy(), len(pairs))
    mu = np.asarray(mean, dtype=np.float64).ravel()
    out = out.assign(run_id="t", model=name, mean=mu)
    for q, col in ((0.05, "q05"), (0.5, "q50"), (0.95, "q95")):
        out[col] = stats.poisson.ppf(q, mu)
    return out[list(FORECASTS.column_names)]


class HistMean(Model):
    """Historical mean of each pair (a naive baseline)."""

    name: ClassVar[str] = "t_hist"

    def fit(self, history: History) -> HistMean:
        self.means_ = history.incidents.groupby(["area_code", "category"], as_index=False)["count"].mean()
        self.origin_ = history.origin
        return self

    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        self._check_fitted()
        periods = future_periods(self.origin_, "W", horizon)
        pairs = self.means_[["area_code", "category"]]
        mean = np.repeat(self.means_["count"].to_numpy()[:, None], horizon, axis=1)
        return poisson_frame(pairs, periods, mean, self.name)


class LastValue(HistMean):
    """Last observed count of each pair, floored at 0.1 (a naive baseline)."""

    name: ClassVar[str] = "t_last"

    def fit(self, history: History) -> LastValue:
        last = (
            history.incidents.sort_values("period_start")
            .groupby(["area_code", "category"], as_index=False)
            .last()
        )
        self.means_ = last.assign(count=np.maximum(last["count"].astype(float), 0.1))
        self.origin_ = history.origin
        return self


class Seasonal(HistMean):
    """Pair mean times the known seasonal shape (a model with real skill over the historical mean)."""

    name: ClassVar[str] = "t_seasonal"

    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        self._check_fitted()
        periods = future_periods(self.origin_, "W", horizon)
        week = ((periods - pd.Timestamp("2021-01-04")).days // 7).to_numpy()
        shape = 1.0 + 0.4 * np.sin(2 * np.pi * week / 52.0)
        history_weeks = (self.origin_ - pd.Timestamp("2021-01-04")).days // 7
        level = np.mean(1.0 + 0.4 * np.sin(2 * np.pi * np.arange(history_weeks) / 52.0))
        mean = self.means_["count"].to_numpy()[:, None] / level * shape[None, :]
        return poisson_frame(self.means_[["area_code", "category"]], periods, mean, self.name)


class Peeker(HistMean):
    """Scales the pair mean by the inhabitants of the origin's own year: a covariate not yet published."""

    name: ClassVar[str] = "t_peeker"

    def fit(self, history: History) -> Peeker:
        super().fit(history)
        assert history.covariates is not None
        cov = history.covariates[history.covariates["year"] == history.origin.year]
        scale = cov.set_index("area_code")["value"] / 1000.0
        self.means_ = self.means_.assign(
            count=self.means_["count"] * self.means_["area_code"].map(scale).to_numpy()
        )
        return self
