"""Leakage guard of a model: its forecast must not move when the future is changed.

That every History is cut strictly before its origin is checked by :class:`pulsetwin.models.base.History`
itself (built with :meth:`~pulsetwin.models.base.History.from_frames`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pulsetwin.exceptions import LeakageError
from pulsetwin.models.base import History, Model
from pulsetwin.schema.periods import Freq


def perturb_future(
    frames: Mapping[str, pd.DataFrame], origin: pd.Timestamp, *, seed: int
) -> dict[str, pd.DataFrame]:
    """Copies of ``frames`` whose rows at or after ``origin`` carry different values (the past is untouched).

    Incident counts gain 1-50, events move by up to 500 m, covariates of years not ended before ``origin`` are
    scaled by 2-3 and shifted by 1.
    """
    rng = np.random.default_rng(seed)
    out = dict(frames)
    incidents = frames["incidents"].copy()
    late = (incidents["period_start"] >= origin).to_numpy()
    counts = incidents["count"].astype("Int64")
    bumped = counts + pd.Series(rng.integers(1, 51, len(incidents)), index=counts.index, dtype="Int64")
    incidents["count"] = counts.where(~late, bumped)
    out["incidents"] = incidents
    events = frames.get("events")
    if events is not None:
        events = events.copy()
        late_e = (events["occurred_at"] >= origin).to_numpy()
        for column in ("x", "y"):
            events[column] = events[column] + np.where(late_e, rng.uniform(-500.0, 500.0, len(events)), 0.0)
        out["events"] = events
    covariates = frames.get("covariates")
    if covariates is not None:
        covariates = covariates.copy()
        late_c = (covariates["year"] >= origin.year).to_numpy()
        factor = np.where(late_c, rng.uniform(2.0, 3.0, len(covariates)), 1.0)
        covariates["value"] = covariates["value"] * factor + late_c.astype(np.float64)
        out["covariates"] = covariates
    return out


def check_no_peeking(
    model: Model,
    frames: Mapping[str, pd.DataFrame],
    origin: pd.Timestamp | str,
    *,
    freq: Freq = Freq.W,
    horizon: int = 1,
    seed: int = 0,
) -> None:
    """Raise LeakageError when ``model``'s forecast changes once the data at or after ``origin`` is perturbed.

    Two fresh copies of the model (same parameters) are fitted, one on the real frames and one on frames
    whose future was changed by :func:`perturb_future`, both through :meth:`History.from_frames`; an honest model
    gives identical forecasts (relative tolerance 1e-9 for float summation order).
    """
    stamp = pd.Timestamp(origin)
    forecasts = []
    for data in (frames, perturb_future(frames, stamp, seed=seed)):
        fresh = type(model)(**model.get_params())
        fresh.fit(History.from_frames(data, origin=stamp, freq=freq))
        predicted = fresh.predict(horizon, run_id="peek")
        keys = ["area_code", "category", "period_start"]
        forecasts.append(predicted.sort_values(keys).reset_index(drop=True))
    real, perturbed = forecasts
    values = ["mean", "q05", "q50", "q95"]
    same_keys = len(real) == len(perturbed) and real[["area_code", "category", "period_start"]].equals(
        perturbed[["area_code", "category", "period_start"]]
    )
    if not same_keys:
        raise LeakageError(
            f"Model '{model.name}' forecast other (area, category, period) rows when data at or after "
            f"{stamp.date()} changed: it reads the future. Fix: use only History fields before the origin."
        )
    a = real[values].to_numpy(dtype=np.float64)
    b = perturbed[values].to_numpy(dtype=np.float64)
    close = np.isclose(a, b, rtol=1e-9, atol=1e-12) | (np.isnan(a) & np.isnan(b))
    if not close.all():
        row = int(np.flatnonzero(~close.all(axis=1))[0])
        first = real.iloc[row]
        raise LeakageError(
            f"Model '{model.name}' reads the future: perturbing data at or after {stamp.date()} changed "
            f"{int((~close.all(axis=1)).sum())} of {len(real)} forecast rows, "
            f"e.g. area {first['area_code']}, category {first['category']}, "
            f"period {pd.Timestamp(first['period_start']).date()}: mean "
            f"{a[row, 0]:.6g} became {b[row, 0]:.6g}. Fix: use only History fields before the origin "
            "(covariates of a year only once that year ended)."
        )
