"""A learned hotspot ranking: gradient boosting on what is known at the origin, at several scales.

Features per cell (all from events strictly before the origin): the cell's own counts over 7 days to all
history and the days since its last event; counts in square rings of neighbouring cells; Gaussian-smoothed
counts at two scales and an exponentially time-weighted one; other categories' counts; the containing buurt's
covariates when present; the calendar. Training rows are cells x earlier origins (each one window apart, the
latest ending at the origin), the target their mean count per window over the ``target_windows`` windows
that followed.

Notes
-----
Poisson gradient boosting (Ke et al. 2017, LightGBM) in the spirit of the NIJ 2017 challenge winners, who
combined multi-scale counts; run single-threaded-deterministic (``deterministic=True``) with a fixed seed.
"""

from __future__ import annotations

from typing import ClassVar, Self

import lightgbm
import numpy as np
from scipy import ndimage

from pulsetwin.exceptions import bad_parameter
from pulsetwin.hotspots.base import GridHistory, HotspotModel
from pulsetwin.hotspots.kde import smoothed_image
from pulsetwin.schema.params import Integer, NoneOr, Number, Rules

OWN_WINDOWS: tuple[float, ...] = (7.0, 28.0, 56.0, 91.0, 182.0, 365.0)
RING_RADII: tuple[int, ...] = (1, 2, 4)
NO_EVENT_DAYS = 10_000.0


def _box_sum(image: np.ndarray, radius: int) -> np.ndarray:
    """Sum over the ``(2r+1)^2`` square around each lattice cell (zero outside the lattice)."""
    size = 2 * radius + 1
    return np.asarray(ndimage.uniform_filter(image, size=size, mode="constant")) * size * size


def cell_features(history: GridHistory) -> tuple[np.ndarray, list[str]]:
    """The feature matrix ``(len(history.cells), k)`` and its column names at the history's origin."""
    grid, cells, t, cell = history.grid, history.cells, history.t, history.cell
    columns: list[np.ndarray] = []
    names: list[str] = []

    def add(name: str, image: np.ndarray) -> None:
        # Filters leave rounding noise (1e-17, -1e-16) that can split bins on nothing; keep 6 decimals.
        columns.append(np.maximum(np.round(image.ravel()[cells], 6), 0.0))
        names.append(name)

    for days in OWN_WINDOWS:
        columns.append(history.counts(days))
        names.append(f"own_{days:g}d")
    columns.append(history.counts(None) * 365.0 / history.span_days)
    names.append("own_all_per_year")
    last = np.full(grid.n_cells, -NO_EVENT_DAYS)
    np.maximum.at(last, cell, t)
    columns.append(-last[cells])
    names.append("days_since_last")
    for days in (28.0, 365.0):
        image = grid.image(cell[t >= -days])
        inner = image
        for radius in RING_RADII:
            box = _box_sum(image, radius)
            add(f"ring{radius}_{days:g}d", box - inner)
            inner = box
    recent = t >= -365.0
    for sigma in (1.0, 3.0):
        add(f"kde{sigma:g}_365d", smoothed_image(grid, cell[recent], sigma))
    add("kde1_decay30d", smoothed_image(grid, cell, 1.0, np.exp(t / 30.0)))
    other_recent = history.other_t >= -365.0
    columns.append(history.counts(28.0, other=True))
    names.append("other_own_28d")
    columns.append(history.counts(365.0, other=True))
    names.append("other_own_365d")
    add("other_kde1_365d", smoothed_image(grid, history.other_cell[other_recent], 1.0))
    day = history.origin.day_of_year / 365.25 * 2.0 * np.pi
    for name, value in (("season_sin", np.sin(day)), ("season_cos", np.cos(day))):
        columns.append(np.full(cells.size, value))
        names.append(name)
    if history.covariates is not None:
        columns.extend(history.covariates.T)
        names.extend(f"cov_{n}" for n in history.covariate_names)
    return np.column_stack(columns).astype(np.float32), names


class Learned(HotspotModel):
    """Poisson LightGBM on cells x earlier origins, predicting each cell's count in the window.

    Parameters
    ----------
    n_origins
        Earlier origins to train on (one window apart); fewer when history is short. Default 26 (a year of
        14-day windows, so every season is in the training rows): on 2018 origins of real data (13 origins,
        150 m cells) PAI@1 % rose from 10.9 with 12 to 11.5 with 26; never chosen on later origins.
    n_trees, learning_rate, num_leaves, min_child_samples
        Boosting settings.
    seed
        Seed of the booster (its results are deterministic for a seed).
    threads
        Threads LightGBM may use (default 1: backtests run origins in parallel processes instead).
    target_windows
        Training targets are the mean count per window over this many windows after each earlier origin (default
        2): one window of burglaries is mostly noise, a longer target teaches where events keep coming; chosen
        on 2017 origins of real data (PAI@1 % 8.3 with one window, 8.9 with two), never on later ones.
    half_life
        Recency weighting of the training rows: an earlier origin ``k`` windows before the latest one weighs
        ``0.5 ** (k / half_life)`` (None: all weigh the same). A year of origins gives every season, the
        weighting keeps a drifting city's recent pattern in front. Default 12 (about half a year of 14-day
        windows): unweighted, 26 origins lost PAI on the heerlen twin (PAI@1 % 4.0 -> 2.8 over 12 origins,
        ~7 burglaries each) while gaining on real 2018 origins (10.9 -> 11.5); with half-life 12 both are at
        least as good as 12 origins were (twin 4.4, real 11.1). Half-life 6 did best on the twin (5.4) and worst
        on real data (10.9): a compromise, not a tuned value.
    """

    name: ClassVar[str] = "learned"
    parameter_rules: ClassVar[Rules] = {
        "n_origins": Integer(low=1),
        "n_trees": Integer(low=1),
        "learning_rate": Number(low=0, closed="neither"),
        "num_leaves": Integer(low=2),
        "min_child_samples": Integer(low=1),
        "seed": Integer(low=0),
        "threads": Integer(low=1),
        "target_windows": Integer(low=1),
        "half_life": NoneOr(Number(low=0, closed="neither", say="a positive number of windows")),
    }

    def __init__(
        self,
        *,
        n_origins: int = 26,
        n_trees: int = 150,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 100,
        seed: int = 0,
        threads: int = 1,
        target_windows: int = 2,
        half_life: float | None = 12.0,
    ) -> None:
        self.n_origins = n_origins
        self.n_trees = n_trees
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.seed = seed
        self.threads = threads
        self.target_windows = target_windows
        self.half_life = half_life

    def _training_set(self, history: GridHistory) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
        """Stack features and next-window counts over earlier origins that leave some history before them."""
        window = float(history.window_days)
        usable = int((history.span_days - window) // window)
        span = self.target_windows
        blocks, targets, ages = [], [], []
        names: list[str] = []
        for k in range(span, max(span, min(self.n_origins + span - 1, usable)) + 1):
            earlier = history.shifted(k * window)
            if earlier.t.size == 0:
                break
            features, names = cell_features(earlier)
            blocks.append(features)
            targets.append(history.future_counts(k * window, windows=span) / span)
            ages.append(np.full(len(features), k - span, dtype=float))
        if not blocks:
            raise bad_parameter(
                "history", "Learned", "events before at least one earlier origin (one window back)", "none"
            )
        return np.vstack(blocks), np.concatenate(targets), names, np.concatenate(ages)

    def fit(self, history: GridHistory) -> Self:
        """Train on earlier origins, then predict the window after the origin."""
        self._check_params()
        features, target, names, ages = self._training_set(history)
        weight = None if self.half_life is None else 0.5 ** (ages / self.half_life)
        params = {
            "objective": "poisson",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.threads,
            "max_bin": 63,
            "seed": self.seed,
            "verbosity": -1,
        }
        data = lightgbm.Dataset(features, label=target, weight=weight, feature_name=names, free_raw_data=True)
        self.booster_ = lightgbm.train(params, data, num_boost_round=self.n_trees)
        self.feature_names_ = names
        now, _ = cell_features(history)
        self.mean_ = np.asarray(self.booster_.predict(now), dtype=float)
        return self

    def predict(self) -> np.ndarray:
        """Expected events per masked cell in the window."""
        self._check_fitted()
        return self.mean_
