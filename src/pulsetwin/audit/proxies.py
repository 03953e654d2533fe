"""Proxy detection: how well the models' own features predict a protected attribute, and which carry it.

A model never reads protected attributes, but its inputs can encode them (income, social housing, past counts
of enforcement-driven categories). The features here are built with the same code the models use: area
covariates as known at the origin (:func:`pulsetwin.features.covariates.covariate_matrix`) and per-category
recent levels from the history panel (:mod:`pulsetwin.features.lags`), and, when area geometry is known, each
level summed over the area's neighbours among the areas of the forecast level (the gemeente and wijk rows a
store also holds are left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold

from pulsetwin.exceptions import ParameterError
from pulsetwin.features.covariates import covariate_matrix
from pulsetwin.features.lags import rolling_means
from pulsetwin.features.panel import build_panel
from pulsetwin.features.spatial import has_geometry, neighbour_matrix, spatial_lag
from pulsetwin.schema.periods import Freq

WINDOWS = (4, 13, 52)


def model_features(
    incidents: pd.DataFrame,
    covariates: pd.DataFrame | None,
    areas: pd.DataFrame | None,
    *,
    origin: pd.Timestamp,
    freq: Freq,
) -> pd.DataFrame:
    """Area-level features the models can see at ``origin``: covariates, ``log1p`` of recent mean counts per
    category and window, and (with geometry) the sum of each lag feature over the area's neighbours among
    the areas of its level (the models' spatial lag)."""
    history = incidents[(incidents["freq"] == freq) & (incidents["period_start"] < origin)]
    panel = build_panel(history, freq, origin)
    codes = [str(c) for c in panel.areas]
    cov = covariate_matrix(covariates, codes, origin)
    columns: dict[str, np.ndarray] = {name: cov.values[:, j] for j, name in enumerate(cov.names)}
    cutoff = np.array([panel.counts.shape[2]])
    lags: dict[str, np.ndarray] = {}
    for window in WINDOWS:
        means = rolling_means(panel.counts, cutoff, min(window, panel.counts.shape[2]))[:, :, 0]
        for k, category in enumerate(panel.categories):
            lags[f"lag{window}_{category}"] = np.log1p(np.nan_to_num(means[:, k], nan=0.0))
    columns.update(lags)
    forecast_areas = _forecast_level(areas, codes)
    if forecast_areas is not None and has_geometry(forecast_areas, codes):
        matrix = neighbour_matrix(forecast_areas, codes)
        columns.update({f"nb_{name}": spatial_lag(matrix, values) for name, values in lags.items()})
    return pd.DataFrame(columns, index=pd.Index(codes, name="area_code"))


def _forecast_level(areas: pd.DataFrame | None, codes: list[str]) -> pd.DataFrame | None:
    """The areas of the forecast areas' level(s) (a store also lists the gemeente and its wijken, which are
    no one's neighbours here), or None when some forecast area has no row: then no neighbour features."""
    if areas is None or areas.empty or not pd.Index(codes).isin(areas["area_code"]).all():
        return None
    levels = areas.loc[areas["area_code"].isin(codes), "level"].unique()
    return areas[areas["level"].isin(levels)]


@dataclass(frozen=True)
class ProxyResult:
    """Cross-validated R² of the features for one attribute, and permutation importances per feature."""

    attribute: str
    r2: float
    r2_by_model: dict[str, float]
    importance: pd.DataFrame
    n_areas: int

    def to_dict(self, top: int = 10) -> dict[str, Any]:
        """JSON-ready form with the ``top`` most important features."""
        head = self.importance.head(top)
        return {
            "attribute": self.attribute, "r2": self.r2, "r2_by_model": self.r2_by_model, "n_areas": self.n_areas,
            "top_features": [
                {"feature": str(i), "importance": float(r["mean"]), "sd": float(r["sd"])} for i, r in head.iterrows()
            ],
        }  # fmt: skip


def _models(seed: int, trees: int) -> dict[str, Any]:
    """A linear and a non-linear learner: a proxy either of them finds counts."""
    return {
        "ridge": RidgeCV(alphas=np.logspace(-3, 3, 13)),
        "forest": RandomForestRegressor(
            n_estimators=trees, min_samples_leaf=3, max_features=0.5, random_state=seed
        ),
    }


def permutation_drops(
    model: Any, x: np.ndarray, y: np.ndarray, *, repeats: int, rng: np.random.Generator
) -> np.ndarray:
    """Mean drop in R² on ``(x, y)`` when each column is permuted, ``repeats`` times; one predict call for all.

    Notes
    -----
    Permutation importance (Breiman 2001; Fisher, Rudin & Dominici 2019), with every permuted copy stacked
    into one matrix so the model predicts once.
    """
    n, d = x.shape
    base = r2_score(y, model.predict(x))
    order = rng.permuted(np.tile(np.arange(n), (d * repeats, 1)), axis=1)  # (d * repeats, n)
    stacked = np.tile(x, (d * repeats, 1, 1))  # (d * repeats, n, d)
    column = np.repeat(np.arange(d), repeats)
    stacked[np.arange(d * repeats), :, column] = x[order, column[:, None]]
    pred = model.predict(stacked.reshape(-1, d)).reshape(d * repeats, n)
    ss_tot = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - np.sum((pred - y[None, :]) ** 2, axis=1) / ss_tot if ss_tot > 0 else np.zeros(d * repeats)
    return np.asarray(base - r2.reshape(d, repeats).mean(axis=1))


def proxy_strength(
    features: pd.DataFrame,
    target: pd.Series,
    *,
    attribute: str,
    folds: int = 5,
    repeats: int = 5,
    trees: int = 100,
    seed: int = 0,
) -> ProxyResult:
    """Out-of-fold R² of predicting ``target`` from ``features`` (best of ridge and a random forest of
    ``trees`` trees), and the mean drop in held-out R² when each feature is permuted (for the better learner).

    Notes
    -----
    Permutation importance (Breiman 2001; Fisher, Rudin & Dominici 2019) on held-out folds; proxy screening
    as in Datta, Fredrikson et al. 2017 (*Use privacy in data-driven systems*).
    """
    joined = features.join(target.rename("__target__"), how="inner").dropna(subset=["__target__"])
    n = len(joined)
    if n < 2 * folds:
        raise ParameterError(
            f"proxy detection needs at least {2 * folds} areas with the attribute '{attribute}'; got {n}. "
            "Fix: audit a larger area set or lower the number of folds"
        )
    x = joined.drop(columns="__target__").to_numpy(dtype=np.float64)
    y = joined["__target__"].to_numpy(dtype=np.float64)
    splits = list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(x))
    scores: dict[str, float] = {}
    fitted: dict[str, list[Any]] = {}
    for name, model in _models(seed, trees).items():
        pred = np.empty(n)
        fitted[name] = [clone(model).fit(x[train], y[train]) for train, _ in splits]
        for fold, (_, test) in zip(fitted[name], splits, strict=True):
            pred[test] = fold.predict(x[test])
        scores[name] = float(r2_score(y, pred))
    best = max(scores, key=lambda k: scores[k])
    rng = np.random.default_rng(seed)
    drops = np.zeros((len(splits), x.shape[1]))
    for i, (_, test) in enumerate(splits):
        drops[i] = permutation_drops(fitted[best][i], x[test], y[test], repeats=repeats, rng=rng)
    names = joined.drop(columns="__target__").columns
    importance = pd.DataFrame({"mean": drops.mean(axis=0), "sd": drops.std(axis=0)}, index=names)
    importance = importance.sort_values("mean", ascending=False)
    return ProxyResult(attribute, scores[best], scores, importance, n)
