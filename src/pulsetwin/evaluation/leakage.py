"""Leakage guards: every History is cut strictly before its origin, and a model's forecast must not move when
the future is changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pulsetwin.exceptions import LeakageError, bad_parameter
from pulsetwin.models.base import Freq, History, Model


def build_history(
    frames: Mapping[str, pd.DataFrame],
    *,
    origin: pd.Timestamp,
    freq: Freq,
    categories: Sequence[str] | None = None,
) -> History:
    """Cut canonical frames to what is known before ``origin`` and check the cut.

    Incidents keep one ``freq`` and periods strictly before ``origin``; events keep ``occurred_at < origin``;
    covariates and areas pass whole (the feature code applies the publication rule per year).
    """
    if "incidents" not in frames:
        raise bad_parameter("frames", "build_history", "a mapping with an 'incidents' frame", sorted(frames))
    incidents = frames["incidents"]
    keep = (incidents["freq"] == freq) & (incidents["period_start"] < origin)
    if categories is not None:
        keep &= incidents["category"].isin(list(categories))
    return history_before(
        frames, incidents[keep].reset_index(drop=True), origin=origin, freq=freq, categories=categories
    )


def history_before(
    frames: Mapping[str, pd.DataFrame],
    incidents: pd.DataFrame,
    *,
    origin: pd.Timestamp,
    freq: Freq,
    categories: Sequence[str] | None = None,
) -> History:
    """The History of ``incidents`` (already cut before ``origin``) with the frames' events cut at ``origin``
    (and to ``categories``), covariates and areas whole; the cut is checked."""
    events = frames.get("events")
    if events is not None:
        events = events[events["occurred_at"] < origin]
        if categories is not None:
            events = events[events["category"].isin(list(categories))]
        events = events.reset_index(drop=True)
    history = History(
        incidents=incidents,
        freq=freq,
        origin=pd.Timestamp(origin),
        covariates=frames.get("covariates"),
        areas=frames.get("areas"),
        events=events,
    )
    assert_history_before_origin(history)
    return history


def assert_history_before_origin(history: History) -> None:
    """Raise LeakageError when an incident period or an event lies at or after the history's origin."""
    late = history.incidents[history.incidents["period_start"] >= history.origin]
    if len(late):
        first = late.iloc[0]
        raise LeakageError(
            f"History for origin {history.origin.date()} holds {len(late)} incident row(s) at or after the "
            f"origin, e.g. area {first['area_code']}, category {first['category']}, "
            f"period {first['period_start'].date()}. "
            "Fix: build histories with pulsetwin.evaluation.leakage.build_history."
        )
    if history.events is not None and len(history.events):
        late_events = history.events[history.events["occurred_at"] >= history.origin]
        if len(late_events):
            raise LeakageError(
                f"History for origin {history.origin.date()} holds {len(late_events)} event(s) at or after "
                f"the origin, e.g. event {late_events.iloc[0]['event_id']}. "
                "Fix: build histories with pulsetwin.evaluation.leakage.build_history."
            )


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
    freq: Freq = "W",
    horizon: int = 1,
    seed: int = 0,
) -> None:
    """Raise LeakageError when ``model``'s forecast changes once the data at or after ``origin`` is perturbed.

    Two fresh copies of the model (same parameters) are fitted, one on the real frames and one on frames
    whose future was changed by :func:`perturb_future`, both through :func:`build_history`; an honest model
    gives identical forecasts (relative tolerance 1e-9 for float summation order).
    """
    stamp = pd.Timestamp(origin)
    forecasts = []
    for data in (frames, perturb_future(frames, stamp, seed=seed)):
        fresh = type(model)(**model.get_params())
        fresh.fit(build_history(data, origin=stamp, freq=freq))
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
