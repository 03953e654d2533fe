"""``stack``: a linear pool of registered count models whose weights are chosen on origins inside the history.

At fit, every member is fitted at each of the last ``inner_origins`` periods before the origin (on the counts
before that inner origin only) and forecasts the steps that are still before the origin. The weights, on a
simplex grid, minimise the Poisson deviance of the pooled forecast over all those rows, pooled over areas and
categories (one set of weights: a few hundred rows per category would choose noisily). Then every member is
fitted on the whole history and the forecast is the weighted mean of theirs; its NB2 size per category and step
is fitted on the inner rows of the pooled forecast. Nothing at or after the origin is read: the inner origins
all lie before it, and each inner fit sees only the counts before its own inner origin.

Why: no single model wins everywhere. A pool of the GLM, the boosted trees and the year's mean, weighted by how
each did just before the origin, hedges between them and shrinks toward the naive rule when the models' extra
terms did not pay off lately. It costs about ``inner_origins + 1`` fits of every member, so it is registered
opt-in: backtests and ``best`` run it only when it is named.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import ClassVar, Final

import numpy as np
import pandas as pd

from pulsetwin.exceptions import bad_parameter
from pulsetwin.models.base import History, Model, check_horizon
from pulsetwin.models.common import STEPS, check_history
from pulsetwin.models.intervals import MAX_SIZE, fit_nb_size, nb_quantiles
from pulsetwin.schema.params import Integer, NoneOr, Number, Rules, Text, TupleOf
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import FORECASTS

MEMBERS: Final = ("glm", "lgbm", "naive_mean_year")
"""Default members: the two learned count models and the strongest naive rule on drifting monthly counts."""
INNER_ORIGINS: Final[dict[str, int]] = {"W": 8, "M": 6}
"""Default inner origins: two months of weeks, or half a year of months."""
KEYS: Final = ["area_code", "category", "period_start"]


def simplex_grid(n: int, step: float) -> np.ndarray:
    """Every weight vector of ``n`` non-negative multiples of ``step`` summing to 1, shape (points, n), the
    equal-ish weights first among ties in loss (argmin keeps the first)."""
    k = round(1.0 / step)
    points = [c for c in itertools.product(range(k + 1), repeat=n) if sum(c) == k]
    points.sort(key=lambda c: (max(c) - min(c), c))
    return np.asarray(points, dtype=float) / k


def poisson_loss(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Poisson negative log-likelihood (without log y!) summed over rows, per column of ``mu`` (rows, k)."""
    mu = np.maximum(mu, 1e-12)
    return np.sum(mu - y[:, None] * np.log(mu), axis=0)


class StackedCount(Model):
    """Linear pool of registered count models, weights chosen on inner origins before the forecast origin.

    Parameters
    ----------
    members
        Registered model names pooled (at least two; point-process models, which read events, are refused).
    inner_origins
        Periods before the origin at which every member is fitted to choose the weights (None: 8 weeks / 6
        months).
    weight_step
        Grid step of the weights (1 divided by it must be a whole number).

    Notes
    -----
    Linear opinion pools and forecast combination weighted by past performance (Bates & Granger 1969; Timmermann
    2006, *Handbook of Economic Forecasting* 1, ch. 4); stacking on out-of-sample forecasts (Wolpert 1992;
    Breiman 1996) with weights on the simplex.
    """

    name = "stack"
    parameter_rules: ClassVar[Rules] = {
        "members": TupleOf(Text()),
        "inner_origins": NoneOr(Integer(low=1)),
        "weight_step": Number(low=0, high=1, closed="right"),
    }

    def __init__(
        self,
        *,
        members: tuple[str, ...] = MEMBERS,
        inner_origins: int | None = None,
        weight_step: float = 0.1,
    ) -> None:
        self.members = members
        self.inner_origins = inner_origins
        self.weight_step = weight_step

    def _check_params(self) -> None:
        """The declared rules, then the members' names and a weight step 1/k."""
        from pulsetwin.models.registry import MODELS

        super()._check_params()
        known = [n for n in MODELS if n != self.name and not MODELS[n].uses_events]
        if (
            not isinstance(self.members, tuple)
            or len(self.members) < 2
            or len(set(self.members)) != len(self.members)
            or any(m not in known for m in self.members)
        ):
            raise bad_parameter(
                "members", "StackedCount", f"a tuple of two or more distinct names of {', '.join(known)}",
                self.members,
            )  # fmt: skip
        step = self.weight_step
        if abs(1.0 / step - round(1.0 / step)) > 1e-9:
            raise bad_parameter("weight_step", "StackedCount", "a number 1/k for a whole k >= 1", step)

    def _members(self) -> list[Model]:
        from pulsetwin.models.registry import make_model

        return [make_model(name) for name in self.members]

    def fit(self, history: History) -> StackedCount:
        """Choose the weights on the inner origins, then fit every member on the whole history."""
        self._check_params()
        origin = check_history(history, type(self).__name__)
        steps = STEPS[history.freq]
        count = self.inner_origins if self.inner_origins is not None else INNER_ORIGINS[history.freq]
        inner = pd.date_range(end=origin, periods=count + 1, freq=Freq(history.freq).pandas_alias)[:-1]
        incidents = history.incidents
        known = incidents.loc[incidents["count"].notna(), [*KEYS, "count"]]
        known = known.assign(period_start=pd.to_datetime(known["period_start"]).astype("datetime64[ns]"))
        rows = []
        for start in inner:
            part = incidents[incidents["period_start"] < start]
            # A category with no known count before the inner origin cannot be fitted there (require_observed).
            seen = part.loc[part["count"].notna(), "category"].unique()
            part = part[part["category"].isin(seen)]
            if part["period_start"].nunique() < 2:
                continue
            cut = replace(history, incidents=part, origin=start, events=None)
            horizon = min(steps, len(pd.date_range(start, origin, freq=Freq(history.freq).pandas_alias)) - 1)
            frames = [m.fit(cut).predict(horizon) for m in self._members()]
            rows.append(self._pooled_rows(frames, start, history.freq))
        grid = simplex_grid(len(self.members), float(self.weight_step))
        if rows:
            table = pd.concat(rows, ignore_index=True).merge(known, on=KEYS, how="inner")
            means = table[list(self.members)].to_numpy(dtype=float)
            y = table["count"].to_numpy(dtype=float)
            weights = grid[int(np.argmin(poisson_loss(y, means @ grid.T)))]
        else:
            table, weights = None, grid[0]
        self.weights_ = dict(zip(self.members, (float(w) for w in weights), strict=True))
        self.inner_rows_ = 0 if table is None else len(table)
        self.fitted_ = [m.fit(history) for m in self._members()]
        self.size_ = self._sizes(table, weights, steps)
        self.origin_ = origin
        self.freq_: Freq = history.freq
        return self

    def _pooled_rows(self, frames: list[pd.DataFrame], start: pd.Timestamp, freq: Freq) -> pd.DataFrame:
        """One row per key with each member's mean as a column, and the step of the row from ``start``."""
        out = frames[0][KEYS].copy()
        for name, frame in zip(self.members, frames, strict=True):
            if not frame[KEYS].equals(out[KEYS]):
                frame = out[KEYS].merge(frame, on=KEYS, how="left", validate="one_to_one")
            out[name] = frame["mean"].to_numpy(dtype=float)
        out["period_start"] = pd.to_datetime(out["period_start"]).astype("datetime64[ns]")
        periods = pd.date_range(start, out["period_start"].max(), freq=Freq(freq).pandas_alias)
        out["step"] = periods.get_indexer(pd.DatetimeIndex(out["period_start"])) + 1
        return out

    def _sizes(
        self, table: pd.DataFrame | None, weights: np.ndarray, steps: int
    ) -> dict[tuple[str, int], float]:
        """NB2 size per (category, step) of the pooled forecast on the inner rows."""
        if table is None:
            return {}
        pooled = table[list(self.members)].to_numpy(dtype=float) @ weights
        y = table["count"].to_numpy(dtype=float)
        categories = table["category"].astype(str).to_numpy()
        step = table["step"].to_numpy(dtype=np.int64)
        sizes = {}
        for category in np.unique(categories):
            for h in np.unique(step):
                rows = (categories == category) & (step == h)
                sizes[(str(category), int(h))] = fit_nb_size(y[rows], pooled[rows])
        return sizes

    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        """The weighted mean of the members' forecasts with NB2 quantiles."""
        self._check_fitted()
        check_horizon(horizon, type(self).__name__)
        if not isinstance(run_id, str) or not run_id:
            raise bad_parameter("run_id", type(self).__name__, "a non-empty string", run_id)
        frames = [m.predict(horizon, run_id=run_id) for m in self.fitted_]
        out = self._pooled_rows(frames, self.origin_, self.freq_)
        weights = np.array([self.weights_[m] for m in self.members])
        mean = out[list(self.members)].to_numpy(dtype=float) @ weights
        last = max((s for _, s in self.size_), default=1)
        pairs = zip(out["category"], out["step"], strict=True)
        size = np.array([self.size_.get((str(c), min(int(s), last)), MAX_SIZE) for c, s in pairs])
        q05, q50, q95 = nb_quantiles(mean, size)
        frame = out[KEYS].assign(run_id=run_id, model=self.name, mean=mean, q05=q05, q50=q50, q95=q95)
        return frame[list(FORECASTS.column_names)]
