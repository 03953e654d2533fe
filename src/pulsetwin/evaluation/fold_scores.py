"""Scoring one fold: a model's forecast joined to the recorded counts it is judged on, and the point and hotspot
metrics per category and horizon step that every backtest pools.

Kept apart from :mod:`pulsetwin.evaluation.backtest` (which plans folds and fans tasks out) so the scoring rules
have one home that the backtest, and anyone replaying stored forecasts, call alike.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from pulsetwin.evaluation.calibration import CALIBRATION_COLUMNS, calibration_scores
from pulsetwin.evaluation.splits import Fold
from pulsetwin.exceptions import ParameterError
from pulsetwin.metrics import scores as m
from pulsetwin.metrics.hotspots import DEFAULT_FRACTIONS, hotspot_table
from pulsetwin.models.base import History

KEYS = ["area_code", "category", "period_start"]
"""The key of a scored cell."""
POINT_METRICS = (
    "deviance",
    "mae",
    "mae_median",
    "rmse",
    "wis",
    "log_score",
    "coverage90",
    "below_q05",
    "below_q50",
    "below_q95",
    *CALIBRATION_COLUMNS,
)
HOTSPOT_METRICS = ("hit_rate", "pai", "pei")


def hotspot_column(metric: str, fraction: float) -> str:
    """Column name of a hotspot metric at an area fraction, e.g. ``pai_03`` for 3 %."""
    return f"{metric}_{round(fraction * 100):02d}"


HOTSPOT_COLUMNS = tuple(hotspot_column(k, f) for f in DEFAULT_FRACTIONS for k in HOTSPOT_METRICS)


def join_forecast(targets: pd.DataFrame, forecast: pd.DataFrame, name: str) -> pd.DataFrame:
    """Targets with the model's forecast columns; refuse missing or non-finite forecasts, naming cells."""
    values = ["mean", "q05", "q50", "q95"]
    fc = forecast[[*KEYS, *values]].copy()
    fc["period_start"] = pd.to_datetime(fc["period_start"]).astype("datetime64[ns]")
    cells = targets.merge(fc, on=KEYS, how="left", validate="one_to_one")
    numbers = cells[values].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers).all(axis=1)
    if bad.any():
        first = cells.loc[bad].iloc[0]
        raise ParameterError(
            f"Model '{name}' gave no finite forecast for {int(bad.sum())} of {len(cells)} scored cells, "
            f"e.g. area {first['area_code']}, category {first['category']}, "
            f"period {first['period_start'].date()}. "
            "Fix: a model must forecast every (area, category) pair of its history for each horizon step."
        )
    return cells


def score_cells(cells: pd.DataFrame, *, fold: Fold, model: str, sizes: pd.Series) -> pd.DataFrame:
    """Per (category, step): mean point metrics and area-weighted hotspot metrics of scored cells."""
    y = cells["count"].to_numpy(dtype=np.float64)
    mean, q05, q50, q95 = (cells[c].to_numpy(dtype=np.float64) for c in ("mean", "q05", "q50", "q95"))
    per_cell = pd.DataFrame(
        {
            "category": cells["category"].to_numpy(),
            "period_start": cells["period_start"].to_numpy(),
            "deviance": m.poisson_deviance(y, mean),
            "mae": m.absolute_error(y, mean),
            "mae_median": m.absolute_error(y, q50),
            "rmse": m.squared_error(y, mean),
            "wis": m.weighted_interval_score(y, q05, q50, q95),
            "log_score": m.nb_log_score(y, mean, q95),
            "coverage90": m.interval_covered(y, q05, q95),
            "below_q05": m.below_quantile(y, q05),
            "below_q50": m.below_quantile(y, q50),
            "below_q95": m.below_quantile(y, q95),
        }
    )
    grouped = per_cell.groupby(["category", "period_start"], sort=True)
    out = grouped.mean()
    out["rmse"] = np.sqrt(out["rmse"])
    out.insert(0, "n", grouped.size())
    out = out.reset_index()
    out = out.merge(calibration_scores(cells), on=["category", "period_start"], how="left")
    hot = _hotspots(cells, mean, y, sizes)
    out = out.merge(hot, on=["category", "period_start"], how="left")
    step = fold.test_periods.get_indexer(pd.DatetimeIndex(out["period_start"])) + 1
    out.insert(0, "step", step)
    out.insert(0, "model", model)
    out.insert(0, "cutoff", fold.origin)
    out.insert(0, "fold", fold.index)
    return out


def _hotspots(cells: pd.DataFrame, mean: np.ndarray, y: np.ndarray, sizes: pd.Series) -> pd.DataFrame:
    """Hotspot metrics per (category, period) over its areas, ranked by forecast mean (ties by area code)."""
    area_codes, areas = pd.factorize(cells["area_code"], sort=True)
    category_codes, categories = pd.factorize(cells["category"], sort=True)
    period = cells["period_start"].to_numpy()
    order = np.lexsort((area_codes, period, category_codes))
    category, period = category_codes[order], period[order]
    size = sizes.reindex(areas).to_numpy()[area_codes[order]]
    if np.isnan(size).all():  # areas without geometry: no area-weighted metric is defined
        keys = cells[["category", "period_start"]].drop_duplicates()
        return keys.assign(**dict.fromkeys(HOTSPOT_COLUMNS, np.nan)).reset_index(drop=True)
    score, observed = mean[order], y[order]
    starts = np.flatnonzero(np.r_[True, (category[1:] != category[:-1]) | (period[1:] != period[:-1])])
    bounds = np.r_[starts, len(order)]
    rows = []
    for a, b in itertools.pairwise(bounds):
        table = hotspot_table(score[a:b], observed[a:b], size[a:b], DEFAULT_FRACTIONS)
        row: dict[str, Any] = {"category": categories[category[a]], "period_start": period[a]}
        for fraction, values in table.items():
            row.update({hotspot_column(k, fraction): values[k] for k in HOTSPOT_METRICS})
        rows.append(row)
    return pd.DataFrame(rows, columns=["category", "period_start", *HOTSPOT_COLUMNS])


def fold_targets(incidents: pd.DataFrame, history: History, fold: Fold) -> pd.DataFrame:
    """Recorded counts to score in ``fold``: its periods, pairs seen in training, withheld cells dropped.

    ``incidents`` is the compact frame of :func:`compact_incidents` and the history's incidents a slice of it.
    """
    test = incidents[incidents["period_start"].isin(fold.test_periods)]
    test = test[seen_pairs(history.incidents, test)].astype(
        {k: incidents[k].cat.categories.dtype for k in ("area_code", "category")}
    )
    counts = test["count"].astype("Float64")
    withheld = counts.isna().groupby([test[k] for k in KEYS]).any()
    summed = counts.fillna(0.0).groupby([test[k] for k in KEYS]).sum()
    out = summed[~withheld].rename("count").reset_index()
    out["count"] = out["count"].astype(np.float64)
    return out.sort_values(KEYS).reset_index(drop=True)


def seen_pairs(seen: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Which ``rows`` have an (area, category) pair that occurs in ``seen``; both frames share categoricals."""
    area, category = (seen[k].cat.codes.to_numpy() for k in ("area_code", "category"))
    known = np.zeros(
        (seen["area_code"].cat.categories.size + 1, seen["category"].cat.categories.size + 1), bool
    )
    known[area, category] = True  # a missing code (-1) lands in the extra last row or column
    return known[rows["area_code"].cat.codes.to_numpy(), rows["category"].cat.codes.to_numpy()]
