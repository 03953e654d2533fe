"""Generate a twin city: geography, covariates, the true incident process, its observation, and the truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pulsetwin.twin.calibration import check_calibration, recorded_rates
from pulsetwin.twin.output import event_ids, events_table, incidents_table, labels, occurred_at, truth_table
from pulsetwin.twin.parameters import CATEGORIES
from pulsetwin.twin.process import Offences, Timeline
from pulsetwin.twin.replay import STEPS as SIMULATION_STEPS
from pulsetwin.twin.replay import Progress, check_twin_arguments, replay_twin
from pulsetwin.twin.source import TwinSource

STEPS = (*SIMULATION_STEPS, "tables", "truth")
"""The steps ``generate_twin`` reports to its ``progress`` callback, in order."""


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

    @property
    def source(self) -> TwinSource:
        """The provenance label to import these tables under (the origin oracle finds the twin by it)."""
        return TwinSource(self.preset, self.seed)

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

    The same arguments give identical tables. The simulation is :func:`pulsetwin.twin.replay.replay_twin`, so
    replaying with the same arguments recovers the process behind the tables.

    Parameters
    ----------
    preset, seed, years, start_year
        As :func:`pulsetwin.twin.replay.replay_twin`; checked by
        :func:`pulsetwin.twin.replay.check_twin_arguments`.
    progress
        Called with the name of each step of :data:`STEPS` as it starts.
    """
    check_twin_arguments(preset, seed, years, start_year, owner="generate_twin()")
    report = progress or (lambda step: None)
    replay = replay_twin(preset, seed=seed, years=years, start_year=start_year, progress=report)
    geo, cov, process, recorded = replay.geography, replay.covariates, replay.process, replay.recorded
    offences, timeline = process.offences, process.timeline
    window = offences.t >= timeline.start_day
    report(STEPS[4])
    events = events_table(offences.take(recorded & window), CATEGORIES, timeline)
    weekly, monthly = process.periods("W"), process.periods("M")
    kept = offences.take(recorded)
    incidents = pd.concat(
        [incidents_table(kept, periods, geo.codes, CATEGORIES) for periods in (weekly, monthly)],
        ignore_index=True,
    )
    report(STEPS[5])
    truth = pd.concat(
        [
            truth_table(
                process.expected_offences(periods.freq), process.probabilities, periods, geo.codes, CATEGORIES
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
            "patrol": replay.patrol,
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
