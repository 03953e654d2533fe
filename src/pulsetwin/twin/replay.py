"""Replay a twin's simulation: the latent state behind the tables of :func:`pulsetwin.twin.generate_twin`.

The published tables hold only what a municipality would see (recorded counts) plus the truth per period.
Evaluation sometimes needs more of what the twin knows: the true rates, every offence (recorded or not) and
the conditional intensity at any time, e.g. for the origin oracle. :func:`replay_twin` reruns the simulation
steps of ``generate_twin`` with the same random streams, so for the same arguments it returns exactly the
process behind the generated tables (``generate_twin`` itself builds its tables from this replay).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pulsetwin.exceptions import ParameterError, ParameterTypeError, bad_parameter
from pulsetwin.schema.params import Integer, check_param
from pulsetwin.twin.covariates import Covariates, build_covariates
from pulsetwin.twin.geography import Geography, build_geography
from pulsetwin.twin.observation import observe, patrol_presence, record_probabilities
from pulsetwin.twin.parameters import CATEGORIES, PATROL, PRESETS, CategoryParams
from pulsetwin.twin.process import (
    Offences,
    Timeline,
    background_rates,
    build_timeline,
    hourly_profile,
    simulate_offences,
)
from pulsetwin.twin.truth import Periods, build_periods, expected_offences

Progress = Callable[[str], None]
STEPS = ("geography", "covariates", "incident process", "observation")
"""Simulation steps, in order; each draws from its own child of ``numpy.random.SeedSequence(seed)``."""
FREQS = ("W", "M")
HOURS_PER_DAY = 24


def check_twin_arguments(
    preset: object, seed: object, years: object, start_year: object, *, owner: str = "replay_twin()"
) -> None:
    """Refuse an unknown preset and a non-integer or out-of-range seed, years or start year.

    Parameters
    ----------
    preset, seed, years, start_year
        The arguments of :func:`replay_twin` or :func:`pulsetwin.twin.generate_twin`.
    owner
        The function named in the error message.

    Raises
    ------
    ParameterTypeError
        ``preset`` is not a str, or ``seed``, ``years`` or ``start_year`` is not an int (bool refused).
    ParameterError
        Unknown preset; seed outside [0, 2**63 - 1], years outside [1, 30], start year outside [1990, 2100].
    """
    if not isinstance(preset, str):
        raise ParameterTypeError(f"The 'preset' parameter of {owner} must be a str. Got {preset!r} instead.")
    if preset not in PRESETS:
        raise bad_parameter("preset", owner, f"one of {', '.join(sorted(PRESETS))}", preset)
    for name, value, low, high in (
        ("seed", seed, 0, 2**63 - 1),
        ("years", years, 1, 30),
        ("start_year", start_year, 1990, 2100),
    ):
        check_param(name, owner, Integer(low=low, high=high), value)


@dataclass(frozen=True)
class TwinProcess:
    """The true incident process of a twin and its realisation: what only the simulator knows.

    Times are days (float) from ``timeline.origin``, the start of the burn-in; :meth:`day` converts a
    timestamp. Per-category arrays follow ``cats``, per-buurt arrays follow ``codes``.

    Attributes
    ----------
    timeline
        The simulation clock.
    cats
        Category parameters (branching ratio ``n``, mean delay ``tau`` of the exponential kernel, ...).
    rates
        Daily background rate per category and buurt, shape (categories, buurten).
    profiles
        Relative background rate per hour from ``timeline.origin``, one array per category.
    offences
        Every simulated offence (recorded or not, burn-in included), sorted by time.
    probabilities
        Recording probability per category and buurt, shape (categories, buurten).
    codes
        Buurt codes.

    Notes
    -----
    Space-time Hawkes process with exponential kernel (Hawkes 1971, Biometrika 58(1); Mohler et al. 2011,
    JASA 106(493)); see :mod:`pulsetwin.twin.process` and :mod:`pulsetwin.twin.truth`.
    """

    timeline: Timeline
    cats: tuple[CategoryParams, ...]
    rates: np.ndarray
    profiles: tuple[np.ndarray, ...]
    offences: Offences
    probabilities: np.ndarray
    codes: np.ndarray

    def day(self, when: pd.Timestamp) -> float:
        """Days from ``timeline.origin`` to ``when`` (the process clock)."""
        return (pd.Timestamp(when) - self.timeline.origin) / pd.Timedelta(days=1)

    def periods(self, freq: str) -> Periods:
        """The whole weeks (``W``) or months (``M``) of the recorded window, as in the truth table."""
        if freq not in FREQS:
            raise bad_parameter("freq", "TwinProcess.periods()", "'W' or 'M'", freq)
        return build_periods(self.timeline, freq)

    def offences_before(self, day: float) -> Offences:
        """The history ``H_day``: every offence (recorded or not) strictly before ``day``."""
        return self.offences.take(self.offences.t < day)

    def background_at(self, day: float) -> np.ndarray:
        """Background intensity per day ``mu_ci * g_c(day)``, shape (categories, buurten)."""
        hour = int(np.floor(day * HOURS_PER_DAY))
        if not 0 <= hour < self.profiles[0].size:
            raise ParameterError(
                f"day {day!r} is outside the simulated time [0, {self.timeline.n_days}) of the twin. "
                "Fix: pass a day offset from timeline.origin inside the simulated years "
                "(see TwinProcess.day)."
            )
        return self.rates * np.array([profile[hour] for profile in self.profiles])[:, None]

    def excitation_at(self, day: float) -> np.ndarray:
        """Realised excitation ``sum_{t_j < day} (n / tau) exp(-(day - t_j) / tau)`` per category and buurt.

        Shape (categories, buurten), per day like :meth:`background_at`. Offspring stay in their parent's
        category and buurt, so each offence excites only its own cell.
        """
        off = self.offences
        before = off.t < day
        n = np.array([c.branching for c in self.cats])
        tau = np.array([c.decay_days for c in self.cats])
        c, area = off.category[before], off.area[before]
        weight = n[c] / tau[c] * np.exp(-(day - off.t[before]) / tau[c])
        n_c, n_a = self.rates.shape
        return np.bincount(c * n_a + area, weight, minlength=n_c * n_a).reshape(n_c, n_a)

    def intensity_at(self, day: float) -> np.ndarray:
        """Conditional intensity ``lambda(day | H_day)`` per day: background plus excitation."""
        return self.background_at(day) + self.excitation_at(day)

    def expected_offences(self, freq: str) -> np.ndarray:
        """The truth ``E[N(a, b) | H_a]`` per period of :meth:`periods`, shape (periods, categories, buurten).

        Times ``probabilities`` it is the truth table's ``intensity``; as is, its ``offence_intensity``.
        """
        return expected_offences(
            self.offences, self.cats, self.rates, list(self.profiles), self.periods(freq)
        )


@dataclass(frozen=True)
class TwinReplay:
    """A replayed twin: its geography, covariates, observation and true process.

    Attributes
    ----------
    preset, seed, years, start_year
        The arguments the twin was generated (and replayed) with.
    geography
        Areas and the per-buurt geometry arrays.
    covariates
        Canonical covariates and protected tables plus the latent per-buurt arrays.
    patrol
        Relative patrol presence per buurt (population-weighted mean one).
    recorded
        Which of ``process.offences`` were recorded (boolean, burn-in included).
    process
        The true incident process and every offence.
    """

    preset: str
    seed: int
    years: int
    start_year: int
    geography: Geography
    covariates: Covariates
    patrol: np.ndarray
    recorded: np.ndarray
    process: TwinProcess


def replay_twin(
    preset: str, *, seed: int, years: int, start_year: int = 2021, progress: Progress | None = None
) -> TwinReplay:
    """Rerun the simulation of ``generate_twin(preset, seed=seed, years=years, start_year=start_year)``.

    Parameters
    ----------
    preset
        Twin preset, ``heerlen`` or ``nl``.
    seed
        Root of the random streams: one child of ``SeedSequence(seed)`` per step of :data:`STEPS`.
    years, start_year
        Calendar years simulated (after a burn-in) and the first of them.
    progress
        Called with the name of each step of :data:`STEPS` as it starts.

    Returns
    -------
    TwinReplay
        The same geography, covariates, rates, offences and recording as the generated twin.

    Raises
    ------
    ParameterTypeError, ParameterError
        As :func:`check_twin_arguments`.
    """
    check_twin_arguments(preset, seed, years, start_year)
    report = progress or (lambda step: None)
    spec = PRESETS[preset]
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(STEPS))]
    timeline = build_timeline(start_year, years)
    report(STEPS[0])
    geo = build_geography(spec, streams[0])
    report(STEPS[1])
    cov = build_covariates(geo, spec, list(range(start_year, start_year + years)), streams[1])
    report(STEPS[2])
    rates = background_rates(CATEGORIES, cov, streams[2])
    profiles = tuple(hourly_profile(cat, timeline) for cat in CATEGORIES)
    offences = simulate_offences(geo, CATEGORIES, rates, list(profiles), timeline, streams[2])
    report(STEPS[3])
    patrol = patrol_presence(cov, PATROL)
    probabilities = record_probabilities(CATEGORIES, patrol)
    recorded = observe(offences, probabilities, streams[3])
    process = TwinProcess(
        timeline, CATEGORIES, rates, profiles, offences, probabilities, np.asarray(geo.codes)
    )
    return TwinReplay(preset, int(seed), int(years), int(start_year), geo, cov, patrol, recorded, process)
