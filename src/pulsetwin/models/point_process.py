"""Point-event grid models as area forecasters: a hotspot map per category on a lattice, summed per area and
calibrated to the incidents scale.

For each category the grid model of :mod:`pulsetwin.hotspots` turns the events before a cutoff into expected
events per masked cell per day (KDE, prospective) or into a stationary rate per day plus the excess of the
past events' offspring, which decays with lead time (ETAS). A cell belongs to
the area holding its centre; an area's raw forecast is the sum of its cells. Calibration multiplies a category's
map by incidents per event: its recorded incidents per day over the last year in the covered areas divided by
its events per day in the masked cells over the same span (:func:`~pulsetwin.hotspots.base.expected_total`), so
events and incidents may be different registrations of the same categories. For KDE and prospective the areas
then sum to exactly the recent incidents per day times the period length.

Fallbacks, recorded in fitted attributes: a category with fewer than :data:`MIN_EVENTS` events in the last year
or none in the masked cells gets each pair's historical mean (``fallback_``), and so does an area whose polygon
holds no cell centre (``uncovered_``). Intervals are NB2 with one size per category, fitted on a held-out
backcast made :data:`~pulsetwin.models.common.STEPS` periods before the origin (its steps pooled: one backcast
gives too few rows per step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

import numpy as np
import pandas as pd
import shapely

from pulsetwin.exceptions import Location, ParameterError, SchemaError
from pulsetwin.features.panel import Panel, build_panel
from pulsetwin.grid.cells import Grid, area_geometries, build_grid, cells_in_areas, containing_area
from pulsetwin.hotspots.base import YEAR_DAYS, GridHistory, expected_total
from pulsetwin.hotspots.etas import ETAS
from pulsetwin.hotspots.kde import smoothed_image
from pulsetwin.hotspots.prepare import check_events
from pulsetwin.hotspots.registry import make_model as make_hotspot
from pulsetwin.models.base import History, Model, check_horizon, future_periods
from pulsetwin.models.common import RUN_ID, SEASON, STEPS, check_history, forecast_frame
from pulsetwin.models.intervals import MAX_SIZE, fit_nb_size, nb_quantiles
from pulsetwin.schema.params import Integer, Options, Rules, check_param
from pulsetwin.schema.periods import Freq

SUPPORTED: Final = ("kde", "prospective", "etas")
"""Grid models that map events to expected counts per cell."""
MIN_EVENTS: Final = 2
"""Fewest events of a category in the last year for a map (ETAS needs two to fit)."""
CELL_M: Final = Integer(low=1, say="a whole number of metres >= 1")
"""The rule of the lattice cell size."""


@dataclass(frozen=True)
class Layout:
    """The lattice over the areas and which area (row of the panel) holds each masked cell's centre."""

    grid: Grid
    cells: np.ndarray
    cell_area: np.ndarray
    covered: np.ndarray


@dataclass(frozen=True)
class Events:
    """Events before the origin as arrays: time, flat lattice cell (-1 outside), coordinates, category."""

    time: np.ndarray
    cell: np.ndarray
    x: np.ndarray
    y: np.ndarray
    category: np.ndarray


@dataclass(frozen=True)
class Rates:
    """Calibrated area rates at one cutoff, each (areas, categories): expected incidents per day from the
    map, the amplitude of the decaying excess (ETAS) with its decay ``omega`` per category, and the fallback
    means per period."""

    rate: np.ndarray
    amplitude: np.ndarray
    omega: np.ndarray
    use_map: np.ndarray
    hist: np.ndarray
    recent_rate: np.ndarray
    reasons: dict[str, str]


def build_layout(panel: Panel, areas: pd.DataFrame | None, cell_m: int) -> Layout:
    """The lattice of ``cell_m`` metres over the panel's areas and the area of each cell centre inside them."""
    if areas is None or areas.empty:
        raise ParameterError(
            "The grid-to-area models need the areas' polygons (history.areas). Got none. "
            "Fix: import areas, or pass History(..., areas=frame)."
        )
    by_code = areas.drop_duplicates("area_code").set_index("area_code")
    missing = panel.areas.difference(by_code.index)
    if len(missing):
        raise SchemaError(
            "every incident area needs a polygon in history.areas",
            where=Location(file="history.areas", column="area_code", value=missing[0]),
            fix=f"import the areas of all incidents ({len(missing)} missing, e.g. {missing[0]})",
        )
    own = by_code.loc[panel.areas].reset_index()
    bounds = shapely.total_bounds(area_geometries(own))
    grid = build_grid(np.empty(0), np.empty(0), cell_m, bounds=tuple(bounds))
    cells = cells_in_areas(grid, own)
    cell_area = panel.areas.get_indexer(pd.Index(containing_area(grid, cells, own), dtype=object))
    covered = np.bincount(cell_area, minlength=len(panel.areas)) > 0
    return Layout(grid=grid, cells=cells, cell_area=cell_area, covered=covered)


def event_arrays(events: pd.DataFrame | None, origin: pd.Timestamp, grid: Grid) -> Events:
    """The events before ``origin`` on ``grid`` (none when the history has no events frame)."""
    if events is None:
        frame = pd.DataFrame({"category": [], "occurred_at": pd.to_datetime([]), "x": [], "y": []})
    else:
        frame = check_events(events)
    frame = frame[frame["occurred_at"] < origin]
    x, y = frame["x"].to_numpy(float), frame["y"].to_numpy(float)
    return Events(
        time=frame["occurred_at"].to_numpy(dtype="datetime64[ns]"),
        cell=grid.locate(x, y),
        x=x,
        y=y,
        category=frame["category"].astype(str).to_numpy(dtype=object),
    )


def grid_history(layout: Layout, events: Events, category: str, cutoff: pd.Timestamp) -> GridHistory:
    """The :class:`GridHistory` of ``category`` at ``cutoff`` with a one-day window (maps are per day)."""
    keep = (events.time < cutoff.to_datetime64()) & (events.cell >= 0)
    days = (events.time[keep] - cutoff.to_datetime64()) / np.timedelta64(1, "D")
    target = events.category[keep] == category
    order = np.argsort(days[target], kind="stable")
    other = np.argsort(days[~target], kind="stable")
    return GridHistory(
        grid=layout.grid,
        cells=layout.cells,
        origin=cutoff,
        window_days=1,
        t=days[target][order],
        x=events.x[keep][target][order],
        y=events.y[keep][target][order],
        cell=events.cell[keep][target][order],
        other_t=days[~target][other],
        other_cell=events.cell[keep][~target][other],
    )


def cell_rates(hotspot: str, history: GridHistory) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Per masked cell: expected events per day, the amplitude of a decaying excess and its decay per day;
    None when the fitted process is explosive (ETAS branching ratio >= 1).

    Events in ``[a, b)`` days after the cutoff: ``rate * (b - a) + amplitude * (exp(-decay a) - exp(-decay
    b))``. KDE and prospective maps are constant rates (amplitude 0). For ETAS the mean intensity given the
    past tends to the stationary ``mu f / (1 - theta)`` while the excess of the past events' offspring over
    it decays at ``omega (1 - theta)``; all generations are counted, later ones kept in their parent's cell.

    Notes
    -----
    Stationary mean of a Hawkes process (Hawkes 1971); the conditional mean of the exponential kernel solves a
    linear ODE (Bacry, Mastromatteo & Muzy 2015, "Hawkes processes in finance", Market Microstructure and
    Liquidity 1(1)).
    """
    model = make_hotspot(hotspot).fit(history)
    if not isinstance(model, ETAS):
        return model.predict(), np.zeros(history.cells.size), 0.0
    fit, grid = model.fit_, history.grid
    if not fit.theta < 1.0:
        return None
    recent = history.t >= -model.days
    cell, t = history.cell[recent], history.t[recent]
    density = smoothed_image(grid, cell, model.bandwidth_m / grid.cell_m, fit.background_prob).ravel()
    background = fit.mu * density[history.cells] / density.sum()
    excess = smoothed_image(
        grid, cell, fit.sigma / grid.cell_m, fit.theta * fit.omega * np.exp(fit.omega * t)
    )
    steady = background / (1.0 - fit.theta)
    decay = fit.omega * (1.0 - fit.theta)
    return steady, (excess.ravel()[history.cells] - fit.theta * steady) / decay, decay


def area_rates(hotspot: str, panel: Panel, layout: Layout, events: Events, cutoff: int, freq: Freq) -> Rates:
    """Calibrated area rates of every category from the events and incidents before ``panel.periods[cutoff]``
    (the origin when ``cutoff`` is the number of periods)."""
    n_t = panel.counts.shape[-1]
    stamp = panel.periods[cutoff] if cutoff < n_t else future_periods(panel.periods[-1], freq, 2)[-1]
    counts = panel.counts[..., :cutoff]
    seen_any = np.isfinite(counts).any(axis=-1)
    hist = np.where(seen_any, np.nanmean(np.where(seen_any[..., None], counts, 0.0), axis=-1), 0.0)
    first = max(0, cutoff - SEASON[freq])
    window = counts[..., first:]
    seen_recent = np.isfinite(window).any(axis=-1)
    pair_mean = np.nanmean(np.where(seen_recent[..., None], window, 0.0), axis=-1)
    recent_days = (stamp - panel.periods[first]).days
    recent_rate = (pair_mean * layout.covered[:, None]).sum(axis=0) * window.shape[-1] / recent_days
    n_a, n_c = hist.shape
    rate, amplitude = np.zeros((n_a, n_c)), np.zeros((n_a, n_c))
    omega, use_map = np.zeros(n_c), np.zeros(n_c, dtype=bool)
    reasons: dict[str, str] = {}
    for c, category in enumerate(panel.categories):  # a grid model fit per category: few, each vectorised
        gh = grid_history(layout, events, str(category), stamp)
        n_recent = int((gh.t >= -YEAR_DAYS).sum())
        per_day = expected_total(gh) if gh.t.size else 0.0
        if n_recent < MIN_EVENTS or per_day <= 0:
            reasons[str(category)] = (
                f"{n_recent} event(s) in the last year before {stamp.date()}, "
                f"{per_day * YEAR_DAYS:.0f} per year in the areas' cells: historical mean per area used"
            )
            continue
        maps = cell_rates(hotspot, gh)
        if maps is None:
            reasons[str(category)] = (
                f"the {hotspot} fit before {stamp.date()} is explosive (branching ratio >= 1): "
                "historical mean per area used"
            )
            continue
        cell_rate, cell_amp, omega[c] = maps
        scale = recent_rate[c] / per_day
        rate[:, c] = scale * np.bincount(layout.cell_area, weights=cell_rate, minlength=n_a)
        amplitude[:, c] = scale * np.bincount(layout.cell_area, weights=cell_amp, minlength=n_a)
        use_map[c] = True
    return Rates(rate, amplitude, omega, use_map, hist, recent_rate, reasons)


def area_means(rates: Rates, covered: np.ndarray, periods: pd.DatetimeIndex, end: pd.Timestamp) -> np.ndarray:
    """Mean incidents (areas, categories, steps) of the periods starting at ``periods`` (the last ending at
    ``end``): the calibrated map where it applies, else the pair's historical mean."""
    edges = np.append(periods.to_numpy(dtype="datetime64[ns]"), end.to_datetime64())
    offset = (edges - edges[0]) / np.timedelta64(1, "D")
    length = np.diff(offset)
    decay = np.exp(-rates.omega[:, None] * offset[None, :-1]) - np.exp(
        -rates.omega[:, None] * offset[None, 1:]
    )
    mapped = rates.rate[..., None] * length + rates.amplitude[..., None] * decay[None]
    use = covered[:, None, None] & rates.use_map[None, :, None]
    return np.where(use, mapped, rates.hist[..., None])


class GridToAreas(Model):
    """Area forecasts from a grid point-process model (``hotspot``: kde, prospective or etas) on a lattice of
    ``cell_m`` metres, calibrated per category to the incidents (see the module notes).

    Notes
    -----
    Grid models: Chainey, Tompson & Uhlig (2008) KDE; Bowers, Johnson & Pease (2004) prospective; Mohler et al.
    (2011) ETAS. NB2 intervals as :mod:`pulsetwin.models.intervals` (Cameron & Trivedi 2013).
    """

    name: ClassVar[str] = "grid_area"
    uses_events: ClassVar[bool] = True
    parameter_rules: ClassVar[Rules] = {"hotspot": Options(SUPPORTED), "cell_m": CELL_M}
    hotspot: str

    def __init__(self, *, hotspot: str, cell_m: int = 125) -> None:
        self.hotspot = hotspot
        self.cell_m = cell_m

    def fit(self, history: History) -> GridToAreas:
        """Map each category's events on the lattice, sum per area, calibrate, and fit the NB sizes on a
        backcast; returns ``self``."""
        self._check_params()
        origin = check_history(history, type(self).__name__)
        panel = build_panel(history.incidents, history.freq, origin)
        layout = build_layout(panel, history.areas, self.cell_m)
        events = event_arrays(history.events, origin, layout.grid)
        n_t = panel.counts.shape[-1]
        rates = area_rates(self.hotspot, panel, layout, events, n_t, history.freq)
        steps = min(STEPS[history.freq], n_t - 1)
        size = np.full((len(panel.categories), 1), MAX_SIZE)
        if steps >= 1:
            back = area_rates(self.hotspot, panel, layout, events, n_t - steps, history.freq)
            predicted = area_means(back, layout.covered, panel.periods[n_t - steps :], origin)
            observed = panel.counts[..., n_t - steps :]
            size[:, 0] = [  # one scalar fit per category, pooling the backcast's steps
                fit_nb_size(observed[panel.seen[:, c], c], predicted[panel.seen[:, c], c])
                for c in range(len(panel.categories))
            ]
        self.panel_ = panel
        self.freq_: Freq = history.freq
        self.origin_ = origin
        self.rates_ = rates
        self.covered_ = layout.covered
        self.size_ = size
        self.recent_rate_ = pd.Series(rates.recent_rate, index=panel.categories)
        self.fallback_ = dict(rates.reasons)
        self.uncovered_ = tuple(str(a) for a in panel.areas[~layout.covered])
        return self

    def predict(self, horizon: int, *, run_id: str = "adhoc") -> pd.DataFrame:
        """Mean and NB quantiles for every seen (area, category) and the ``horizon`` periods from the origin."""
        self._check_fitted()
        check_horizon(horizon, type(self).__name__)
        check_param("run_id", type(self).__name__, RUN_ID, run_id)
        periods = future_periods(self.origin_, self.freq_, horizon + 1)
        mean = area_means(self.rates_, self.covered_, periods[:-1], periods[-1])
        steps = np.minimum(np.arange(horizon), self.size_.shape[1] - 1)
        quantiles = nb_quantiles(mean, self.size_[None, :, steps])
        return forecast_frame(self.panel_, periods[:-1], mean, quantiles, run_id=run_id, model=self.name)


class KDEArea(GridToAreas):
    """Kernel density hotspots summed per area (:class:`GridToAreas` with ``hotspot="kde"``)."""

    name: ClassVar[str] = "kde_area"
    hotspot = "kde"
    parameter_rules: ClassVar[Rules] = {"cell_m": CELL_M}

    def __init__(self, *, cell_m: int = 125) -> None:
        self.cell_m = cell_m


class ProspectiveArea(GridToAreas):
    """Prospective hotspots summed per area (:class:`GridToAreas` with ``hotspot="prospective"``)."""

    name: ClassVar[str] = "prospective_area"
    hotspot = "prospective"
    parameter_rules: ClassVar[Rules] = {"cell_m": CELL_M}

    def __init__(self, *, cell_m: int = 125) -> None:
        self.cell_m = cell_m


class ETASArea(GridToAreas):
    """Self-exciting ETAS expected counts summed per area (:class:`GridToAreas` with ``hotspot="etas"``)."""

    name: ClassVar[str] = "etas_area"
    hotspot = "etas"
    parameter_rules: ClassVar[Rules] = {"cell_m": CELL_M}

    def __init__(self, *, cell_m: int = 125) -> None:
        self.cell_m = cell_m
