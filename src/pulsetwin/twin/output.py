"""Canonical tables from the simulation: recorded events, incidents per period, and the truth."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pulsetwin.schema.tables import EVENTS, INCIDENTS, TRUTH
from pulsetwin.twin.parameters import CategoryParams
from pulsetwin.twin.process import Offences, Timeline
from pulsetwin.twin.truth import Periods


def labels(codes: np.ndarray, names: Sequence[str] | np.ndarray) -> pd.Categorical[str]:
    """A categorical from integer ``codes`` into ``names`` (memory-light string columns)."""
    return pd.Categorical.from_codes(codes, categories=pd.Index([str(name) for name in names]))


def occurred_at(t: np.ndarray, timeline: Timeline) -> np.ndarray:
    """Timestamps (datetime64[ns], floored to the minute) of times ``t`` in days from the timeline origin."""
    minutes = np.floor(t * 1440.0).astype(np.int64)
    return timeline.origin.to_datetime64().astype("datetime64[ns]") + minutes.astype("timedelta64[m]").astype(
        "timedelta64[ns]"
    )


def event_ids(n: int) -> np.ndarray:
    """Identifiers ``E000000001`` ... in time order."""
    return np.char.add("E", np.char.zfill(np.arange(1, n + 1).astype(str), 9)).astype(object)


def events_table(recorded: Offences, cats: tuple[CategoryParams, ...], timeline: Timeline) -> pd.DataFrame:
    """Anonymous recorded events: id, category, time, RD point rounded to the metre, source ``twin``."""
    slugs = np.array([c.slug for c in cats], dtype=object)
    frame = pd.DataFrame(
        {
            "event_id": pd.array(event_ids(recorded.t.size), dtype="str"),
            "category": pd.array(slugs[recorded.category], dtype="str"),
            "occurred_at": occurred_at(recorded.t, timeline),
            "x": np.round(recorded.x),
            "y": np.round(recorded.y),
            "source": _constant("twin", recorded.t.size),
        }
    )
    return frame[list(EVENTS.column_names)]


def _constant(value: str, n: int) -> object:
    """A string column of ``n`` copies of ``value``."""
    return labels(np.zeros(n, dtype=np.int64), [value]).astype("str")


def _grid(periods: Periods, codes: np.ndarray, cats: tuple[CategoryParams, ...]) -> dict[str, object]:
    """Key columns of a (period, buurt, category) grid in that nesting order."""
    n_p, n_a, n_c = periods.start_day.size, codes.size, len(cats)
    slugs = np.array([c.slug for c in cats], dtype=object)
    return {
        "area_code": labels(np.tile(np.repeat(np.arange(n_a), n_c), n_p), codes).astype("str"),
        "period_start": np.repeat(periods.starts.to_numpy(), n_a * n_c),
        "freq": _constant(periods.freq, n_p * n_a * n_c),
        "category": labels(np.tile(np.arange(n_c), n_p * n_a), slugs).astype("str"),
    }


def incidents_table(
    recorded: Offences, periods: Periods, codes: np.ndarray, cats: tuple[CategoryParams, ...]
) -> pd.DataFrame:
    """Recorded counts for every buurt, category and complete period (zeros included)."""
    n_p, n_a, n_c = periods.start_day.size, codes.size, len(cats)
    p = periods.index_of(recorded.t)
    keep = p >= 0
    flat = (p[keep] * n_a + recorded.area[keep]) * n_c + recorded.category[keep]
    frame = pd.DataFrame(_grid(periods, codes, cats))
    frame["count"] = np.bincount(flat, minlength=n_p * n_a * n_c).astype(np.int64)
    sources, code = np.unique(np.array([c.source for c in cats]), return_inverse=True)
    frame["source"] = labels(np.tile(code, n_p * n_a), sources).astype("str")
    return frame[list(INCIDENTS.column_names)]


def truth_table(
    offence_mean: np.ndarray,
    probabilities: np.ndarray,
    periods: Periods,
    codes: np.ndarray,
    cats: tuple[CategoryParams, ...],
) -> pd.DataFrame:
    """Expected recorded (``intensity``) and offence (``offence_intensity``) counts on the incidents grid."""
    frame = pd.DataFrame(_grid(periods, codes, cats))
    ordered = offence_mean.transpose(0, 2, 1)  # periods x buurten x categories
    frame["intensity"] = (ordered * probabilities.T[None, :, :]).ravel()
    frame["offence_intensity"] = ordered.ravel()
    return frame[list(TRUTH.column_names)]
