"""``glm``: a pooled Poisson GLM per category with empirical-Bayes area levels and leakage-safe history terms.

Design choice (scales to ~14,500 areas): no area dummies and no per-area fits. Stage 1 is a pooled Poisson GLM
on covariates, annual Fourier terms and a trend, fitted with a separable Newton solver on (areas x periods)
arrays. Area effects are Poisson-Gamma empirical-Bayes relative risks against that baseline (the random-effect
shrinkage of a negative-binomial mixed model in closed form), so an area with little data stays close to what
its covariates predict. Stage 2 is a small Poisson GLM with the baseline as offset on history features measured
before each cutoff (EB level from counts discounted with a half-life chosen on held-out periods, recent own counts,
the area's other crime types' recent excess, neighbours' level and recent counts), fitted *directly* per forecast
step ``h`` (features for a target ``h`` periods ahead use data up to ``h`` periods before it). The EB level is part
of the offset, so the stage-2 ridge shrinks toward the plain EB forecast; its strength is chosen per category by
the Poisson likelihood of the last ``VALID_PERIODS`` targets (fitted on the earlier ones). Steps beyond ``STEPS``
(4 weeks / 3 months) reuse the last step's coefficients. The predictive distribution is NB2 with a size per
category and step fitted on the stage-2 rows, whose features never saw their own target.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from pulsetwin.features.panel import Panel
from pulsetwin.models.base import History, future_periods
from pulsetwin.models.common import SEASON, STEPS, PanelModel
from pulsetwin.models.design import (
    COUNT_RULES,
    GROUPS,
    NEIGHBOUR_WINDOWS,
    WINDOWS,
    CountDesign,
    area_recent,
    build_design,
    feature_group,
    fit_baseline,
    history_features,
    require_observed,
    training_cutoffs,
)
from pulsetwin.models.intervals import fit_nb_size
from pulsetwin.models.penalties import choose_baseline_ridge, choose_level_halflife, selection_subset
from pulsetwin.models.poisson import fit_poisson
from pulsetwin.schema.params import Rules

RIDGE_GRID = 10.0 ** np.arange(6)
"""Stage-2 ridge strengths tried, as multiples of the model's ``ridge``; the held-out likelihood picks one."""
VALID_PERIODS = {"W": 8, "M": 3}
"""Last target periods held out to choose the stage-2 ridge."""
Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Stage-2 rows of one step: counts, history features (level first), log baseline, target period index."""


def fit_step(y: np.ndarray, x: np.ndarray, offset: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Stage-2 Poisson GLM of one step on the observed rows; returns the coefficients (intercept first, then
    one per feature) and the fitted means of those rows.

    The EB level enters the offset, so the ridge pulls its coefficient toward 1 (the empirical-Bayes forecast)
    and every other coefficient toward 0.
    """
    keep = ~np.isnan(y)
    x1 = np.column_stack([np.ones(int(keep.sum())), x[keep]])
    coef = fit_poisson(x1, y[keep], offset[keep] + x[keep, 0], ridge=ridge)
    coef[1] += 1.0
    return coef, np.exp(offset[keep] + x1 @ coef)


def stage2_rows(
    counts: np.ndarray,
    features: np.ndarray,
    log_expected: np.ndarray,
    target: np.ndarray,
    cut: np.ndarray,
    areas: np.ndarray | None,
) -> Rows:
    """Stage-2 rows of one step (area-major): target counts, features at each target's cutoff ``cut``, the
    baseline's log expectation and the target period index; only ``areas`` (sorted) when given.

    Built one step at a time so that a national panel never holds every step's rows at once.
    """
    if areas is not None:
        counts, features, log_expected = counts[areas], features[areas], log_expected[areas]
    n_a = counts.shape[0]
    return (
        counts[:, target].ravel(),
        features[:, cut, :].reshape(n_a * target.size, -1),
        log_expected[:, target].ravel(),
        np.broadcast_to(target, (n_a, target.size)).ravel(),
    )


def select_ridge(rows: list[Rows], valid_from: int, ridge: float) -> float:
    """The stage-2 ridge in ``ridge * RIDGE_GRID`` with the best Poisson likelihood on targets from
    ``valid_from`` on, the coefficients fitted on earlier targets (all steps pooled); ``ridge`` when either
    part is empty.

    Notes
    -----
    Hold-out (forward validation) choice of the penalty (Hastie, Tibshirani & Friedman 2009, 7.10; Bergmeir &
    Benitez 2012 on the last periods of a time series).
    """
    split = [(y, x, offset, when >= valid_from) for y, x, offset, when in rows]
    if not all((~valid & ~np.isnan(y)).any() and (valid & ~np.isnan(y)).any() for y, _, _, valid in split):
        return float(ridge)
    loss = np.zeros(RIDGE_GRID.size)
    for y, x, offset, valid in split:
        test = valid & ~np.isnan(y)
        x_test = np.column_stack([np.ones(int(test.sum())), x[test]])
        for i, strength in enumerate(ridge * RIDGE_GRID):
            coef, _ = fit_step(np.where(valid, np.nan, y), x, offset, strength)
            eta = offset[test] + x_test @ coef
            loss[i] += float(np.sum(np.exp(eta) - y[test] * eta))
    return float(ridge * RIDGE_GRID[int(np.argmin(loss))])


class PoissonGLM(PanelModel):
    """Pooled Poisson GLM with empirical-Bayes area levels, seasonality, trend, own and spatial lags.

    Parameters
    ----------
    fourier_order
        Annual harmonics (used when the history spans a year or more).
    trend
        Include a linear trend in years.
    windows, neighbour_windows
        Recent-count windows in periods (None: 1, 4, 13 weeks / 1, 3, 6 months; neighbours 1, 4 / 1, 3).
    spatial
        Use neighbours (queen contiguity from ``history.areas``).
    ridge
        Smallest ridge penalty tried for the baseline's coefficients but the intercept (> 0; keeps collinear
        designs solvable; held-out periods pick the strength, see
        :func:`pulsetwin.models.penalties.choose_baseline_ridge`), and the smallest stage-2 penalty tried (see
        :func:`select_ridge`).
    train_periods
        Target periods per step for stage 2 (None: one year).
    island_k
        Nearest areas used as neighbours of an area without contiguous ones.
    level_halflife
        Half-life in years of the counts behind the empirical-Bayes area levels (``inf``: every year alike), so a
        lasting shift in an area moves its level sooner (recency weighting for trend breaks). None: chosen from
        1, 2, 4 years and ``inf`` by held-out periods (:func:`pulsetwin.models.penalties.choose_level_halflife`).

    Notes
    -----
    Clayton & Kaldor 1987 (empirical-Bayes relative risks); McCullagh & Nelder 1989 (GLM); Taieb & Hyndman 2012
    (direct multi-step strategy); Bowers, Johnson & Pease 2004 (near repeats, the reason for recent-count terms).
    """

    name = "glm"
    parameter_rules: ClassVar[Rules] = COUNT_RULES

    def __init__(
        self,
        *,
        fourier_order: int = 2,
        trend: bool = True,
        windows: tuple[int, ...] | None = None,
        neighbour_windows: tuple[int, ...] | None = None,
        spatial: bool = True,
        ridge: float = 1.0,
        train_periods: int | None = None,
        island_k: int = 3,
        level_halflife: float | None = None,
    ) -> None:
        self.fourier_order = fourier_order
        self.trend = trend
        self.windows = windows
        self.neighbour_windows = neighbour_windows
        self.spatial = spatial
        self.ridge = ridge
        self.train_periods = train_periods
        self.island_k = island_k
        self.level_halflife = level_halflife

    def _fit_panel(self, panel: Panel, history: History) -> None:
        require_observed(panel, "PoissonGLM")
        origin = pd.Timestamp(history.origin)
        design = build_design(
            panel,
            history,
            origin,
            fourier_order=self.fourier_order,
            use_trend=self.trend,
            spatial=self.spatial,
            island_k=self.island_k,
        )
        n_a, n_c, n_t = panel.counts.shape
        valid = VALID_PERIODS[history.freq]
        subset = selection_subset(n_a)
        steps = STEPS[history.freq]
        cutoffs, targets = training_cutoffs(n_t, steps, self.train_periods or SEASON[history.freq])
        windows = WINDOWS[history.freq] if self.windows is None else self.windows
        nb_windows = (
            NEIGHBOUR_WINDOWS[history.freq] if self.neighbour_windows is None else self.neighbour_windows
        )
        period_x = design.period_x(panel.periods)
        area_coef, period_coef, step_coef, origin_features, ridges = [], [], [], [], []
        size = np.empty((n_c, steps))
        base_ridge = choose_baseline_ridge(
            panel.counts, design.area_x, period_x, ridge=self.ridge, freq=history.freq
        )
        bases = [
            fit_baseline(panel.counts[:, c, :], design.area_x, period_x, ridge=base_ridge) for c in range(n_c)
        ]
        halflife = choose_level_halflife(self.level_halflife, panel.counts, bases, freq=history.freq)
        others = area_recent(panel.counts, bases, cutoffs, windows, halflife) if n_c > 1 else None
        for c, base in enumerate(bases):
            counts = panel.counts[:, c, :]
            feats = history_features(
                counts,
                base.expected,
                cutoffs,
                alpha=base.alpha,
                windows=windows,
                neighbours=design.neighbours,
                neighbour_windows=nb_windows,
                others=others,
                halflife=halflife,
            )
            log_expected = np.log(base.expected)
            picked = [
                stage2_rows(counts, feats.values, log_expected, target, target - h + 1 - cutoffs[0], subset)
                for h, target in enumerate(targets, start=1)
            ]
            ridge = select_ridge(picked, n_t - valid, self.ridge)
            coefs = []
            for h, target in enumerate(targets, start=1):
                y, x, offset, _ = stage2_rows(
                    counts, feats.values, log_expected, target, target - h + 1 - cutoffs[0], None
                )
                coef, mu = fit_step(y, x, offset, ridge)
                size[c, h - 1] = fit_nb_size(y[~np.isnan(y)], mu)
                coefs.append(coef)
            ridges.append(ridge)
            area_coef.append(base.area_coef)
            period_coef.append(base.period_coef)
            step_coef.append(np.stack(coefs))
            origin_features.append(feats.values[:, -1, :].copy())
        self.design_: CountDesign = design
        self.feature_names_ = feats.names
        self.area_coef_ = np.stack(area_coef)
        self.period_coef_ = np.stack(period_coef)
        self.step_coef_ = np.stack(step_coef)
        self.origin_features_ = np.stack(origin_features, axis=1)
        self.size_ = size
        self.stage2_ridge_ = np.asarray(ridges)
        self.baseline_ridge_ = base_ridge
        self.level_halflife_ = halflife

    def _log_parts(self, horizon: int) -> dict[str, np.ndarray]:
        """Log-scale contributions per driver group, each (areas, categories, horizon); they sum to log
        mean."""
        period_x = self.design_.period_x(future_periods(self.origin_, self.freq_, horizon))
        names = self.design_.period_names
        steps = np.minimum(np.arange(horizon), self.step_coef_.shape[1] - 1)
        coef = self.step_coef_[:, steps, :]
        parts = {g: np.zeros((*self.origin_features_.shape[:2], horizon)) for g in GROUPS}
        parts["usual"] += (self.area_coef_ @ self.design_.area_x.T).T[:, :, None] + coef[None, :, :, 0]
        for j, name in enumerate(names):
            parts[feature_group(name)] += np.outer(self.period_coef_[:, j], period_x[:, j])[None, :, :]
        for j, name in enumerate(self.feature_names_):
            parts[feature_group(name)] += self.origin_features_[:, :, j, None] * coef[None, :, :, j + 1]
        return parts

    def _predict_mean(self, horizon: int) -> np.ndarray:
        return np.exp(np.sum(list(self._log_parts(horizon).values()), axis=0))

    def log_contributions(self, horizon: int) -> dict[str, np.ndarray]:
        """Driver groups of the forecast on the log scale (see :data:`pulsetwin.models.design.GROUPS`)."""
        self._check_fitted()
        return self._log_parts(horizon)
