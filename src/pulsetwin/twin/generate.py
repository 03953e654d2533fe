"""Generate a twin city: geography, covariates, the true incident process, its observation, and the truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pulsetwin.exceptions import ParameterTypeError, bad_parameter
from pulsetwin.twin.calibration import check_calibration, recorded_rates
from pulsetwin.twin.covariates import build_covariates
from pulsetwin.twin.geography import build_geography
from pulsetwin.twin.observation import observe, patrol_presence, record_probabilities
from pulsetwin.twin.output import event_ids, events_table, incidents_table, labels, occurred_at, truth_table
from pulsetwin.twin.parameters import CATEGORIES, PATROL, PRESETS
from pulsetwin.twin.process import (
    Offences,
    Timeline,
    background_rates,
    build_timeline,
    hourly_profile,
    simulate_offences,
)
from pulsetwin.twin.truth import build_periods, expected_offences

Progress = Callable[[str], None]
_STEPS = ("geography", "covariates", "incident process", "observation", "tables", "truth")


@dataclass(frozen=True)
class TwinCity:
    """A generated twin: canonical tables plus what only the twin knows.

    Attributes
    ----------
    tables
        Canonical ``areas``, ``covariates``, ``incidents`` (W and M), ``events``, ``protected`` and ``truth``.
    latent
        Per buurt: ``area_code, deprivation, centrality, patrol, population`` (never published).
    offences
        Every offence in the recorded window, recorded or not: ``area_code, category, occurred_at, x, y,
        generation, recorded, event_id`` (``event_id`` missing when unrecorded).
    """

    preset: str
    seed: int
    years: int
    start_year: int
    tables: dict[str, pd.DataFrame]
    latent: pd.DataFrame
    offences: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        """Counts, recorded rates per 1,000 inhabitants per year and the calibration verdict."""
        areas = self.tables["areas"]
        calibration = check_calibration(self.tables, self.offences)
        return {
            "preset": self.preset,
            "seed": self.seed,
            "years": self.years,
            "start_year": self.start_year,
            "areas": {str(k): int(v) for k, v in areas["level"].value_counts().sort_index().items()},
            "population": round(float(self.latent["population"].sum())),
            "offences": len(self.offences),
            "recorded_events": len(self.tables["events"]),
            "rows": {name: len(frame) for name, frame in self.tables.items()},
            "recorded_per_1000": {k: round(float(v), 2) for k, v in recorded_rates(self.tables).items()},
            "calibration_ok": bool(calibration["ok"].all()),
        }


def generate_twin(
    preset: str, *, seed: int, years: int, start_year: int = 2021, progress: Progress | None = None
) -> TwinCity:
    """Generate the twin ``preset`` (``heerlen`` or ``nl``) for ``years`` calendar years from ``start_year``.

    The same arguments give identical tables. ``progress`` is called with the name of each step as it starts.
    """
    _check_arguments(preset, seed, years, start_year)
    report = progress or (lambda step: None)
    spec = PRESETS[preset]
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(_STEPS))]
    calendar = list(range(start_year, start_year + years))
    timeline = build_timeline(start_year, years)
    report(_STEPS[0])
    geo = build_geography(spec, streams[0])
    report(_STEPS[1])
    cov = build_covariates(geo, spec, calendar, streams[1])
    report(_STEPS[2])
    rates = background_rates(CATEGORIES, cov, streams[2])
    profiles = [hourly_profile(cat, timeline) for cat in CATEGORIES]
    offences = simulate_offences(geo, CATEGORIES, rates, profiles, timeline, streams[2])
    report(_STEPS[3])
    patrol = patrol_presence(cov, PATROL)
    probabilities = record_probabilities(CATEGORIES, patrol)
    recorded = observe(offences, probabilities, streams[3])
    window = offences.t >= timeline.start_day
    report(_STEPS[4])
    events = events_table(offences.take(recorded & window), CATEGORIES, timeline)
    weekly, monthly = build_periods(timeline, "W"), build_periods(timeline, "M")
    kept = offences.take(recorded)
    incidents = pd.concat(
        [incidents_table(kept, periods, geo.codes, CATEGORIES) for periods in (weekly, monthly)],
        ignore_index=True,
    )
    report(_STEPS[5])
    truth = pd.concat(
        [
            truth_table(
                expected_offences(offences, CATEGORIES, rates, profiles, periods),
                probabilities,
                periods,
                geo.codes,
                CATEGORIES,
            )
            for periods in (weekly, monthly)
        ],
        ignore_index=True,
    )
    tables = {
        "areas": geo.areas,
        "covariates": cov.table,
        "incidents": incidents,
        "events": events,
        "protected": cov.protected,
        "truth": truth,
    }
    latent = pd.DataFrame(
        {
            "area_code": pd.array(geo.codes, dtype="str"),
            "deprivation": cov.deprivation,
            "centrality": cov.centrality,
            "patrol": patrol,
            "population": cov.population,
        }
    )
    return TwinCity(
        preset,
        seed,
        years,
        start_year,
        tables,
        latent,
        _offence_frame(offences, recorded, window, geo.codes, timeline),
    )


def _offence_frame(
    offences: Offences, recorded: np.ndarray, window: np.ndarray, codes: np.ndarray, timeline: Timeline
) -> pd.DataFrame:
    """Every offence in the recorded window with its recorded flag and, when recorded, its event id."""
    inside = offences.take(window)
    flag = recorded[window]
    ids = np.full(flag.size, None, dtype=object)
    ids[flag] = event_ids(int(flag.sum()))
    return pd.DataFrame(
        {
            "area_code": labels(inside.area, codes),
            "category": labels(inside.category, [c.slug for c in CATEGORIES]),
            "occurred_at": occurred_at(inside.t, timeline),
            "x": np.round(inside.x),
            "y": np.round(inside.y),
            "generation": inside.generation,
            "recorded": flag,
            "event_id": pd.array(ids, dtype="str"),
        }
    )


def _check_arguments(preset: str, seed: int, years: int, start_year: int) -> None:
    """Refuse unknown presets and non-integer or out-of-range seed, years and start year."""
    owner = "generate_twin()"
    if not isinstance(preset, str):
        raise ParameterTypeError(f"The 'preset' parameter of {owner} must be a str. Got {preset!r} instead.")
    if preset not in PRESETS:
        raise bad_parameter("preset", owner, f"one of {', '.join(sorted(PRESETS))}", preset)
    for name, value, low, high in (
        ("seed", seed, 0, 2**63 - 1),
        ("years", years, 1, 30),
        ("start_year", start_year, 1990, 2100),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ParameterTypeError(
                f"The '{name}' parameter of {owner} must be an int. Got {value!r} instead."
            )
        if not low <= value <= high:
            raise bad_parameter(name, owner, f"an integer in [{low}, {high}]", value)
