"""``lgbm``: LightGBM with a Poisson objective, boosted from the empirical-Bayes GLM baseline.

Same design as ``glm`` (see :mod:`pulsetwin.models.glm`): per category the pooled baseline GLM and EB area level
give an offset ``log e[target] + log theta[cutoff]`` (LightGBM ``init_score``), and the trees learn corrections
from the history features, covariates, period terms and the step ``h`` (one model for all steps, direct
strategy). Trees start from a sound baseline instead of learning area levels from scratch, so shrinkage is
kept. Early stopping uses the last ``valid_periods`` targets; the NB2 size per step is fitted on those held-out
rows. Deterministic: ``seed``, ``deterministic=True``, row-wise histograms and a fixed thread count.
"""

from __future__ import annotations

from typing import ClassVar

import lightgbm as lgb
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
from pulsetwin.models.penalties import choose_baseline_ridge, choose_level_halflife
from pulsetwin.schema.params import Integer, NoneOr, Number, Rules

VALID_PERIODS = {"W": 8, "M": 3}
"""Default held-out target periods for early stopping and the dispersion fit."""


class LightGBMCount(PanelModel):
    """Gradient-boosted Poisson trees on top of the EB-GLM baseline.

    Parameters
    ----------
    fourier_order, trend, windows, neighbour_windows, spatial, ridge, train_periods, island_k, level_halflife
        As :class:`pulsetwin.models.glm.PoissonGLM` (the baseline and features).
    n_estimators, learning_rate, num_leaves, min_data_in_leaf, lambda_l2
        Boosting rounds (upper bound, early-stopped) and tree regularisation.
    max_rows
        Training rows per category; larger sets are subsampled with ``seed`` (keeps national runs in minutes).
    valid_periods
        Last target periods held out for early stopping and the NB size (None: 8 weeks / 3 months).
    seed, num_threads
        Randomness and threads; the same pair gives the same forecasts.

    Notes
    -----
    Ke et al. 2017 (LightGBM); Friedman 2001 (gradient boosting from an initial model); Lundberg et al. 2020
    (TreeSHAP, used by the explanations).
    """

    name = "lgbm"
    parameter_rules: ClassVar[Rules] = {
        **COUNT_RULES,
        "n_estimators": Integer(low=1),
        "learning_rate": Number(low=0, closed="neither"),
        "num_leaves": Integer(low=2),
        "min_data_in_leaf": Integer(low=1),
        "lambda_l2": Number(low=0),
        "max_rows": Integer(low=100),
        "valid_periods": NoneOr(Integer(low=1)),
        "seed": Integer(low=0),
        "num_threads": Integer(low=1),
    }

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
        n_estimators: int = 200,
        learning_rate: float = 0.1,
        num_leaves: int = 15,
        min_data_in_leaf: int = 200,
        lambda_l2: float = 10.0,
        max_rows: int = 300_000,
        valid_periods: int | None = None,
        seed: int = 0,
        num_threads: int = 1,
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
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.lambda_l2 = lambda_l2
        self.max_rows = max_rows
        self.valid_periods = valid_periods
        self.seed = seed
        self.num_threads = num_threads

    def _params(self) -> dict[str, object]:
        return {
            "objective": "poisson",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "lambda_l2": self.lambda_l2,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "max_bin": 63,
            "num_threads": self.num_threads,
            "verbosity": -1,
        }

    def _rows(
        self, feats: np.ndarray, area: np.ndarray, period_x: np.ndarray, step: np.ndarray
    ) -> np.ndarray:
        """Tree inputs, one row per entry of ``area``: history features, the area's covariates, period terms
        of the target, step."""
        covariates = self.design_.area_x[area, 1:]
        return np.concatenate([feats, covariates, period_x, step[:, None].astype(float)], axis=1)

    def _fit_panel(self, panel: Panel, history: History) -> None:
        require_observed(panel, "LightGBMCount")
        origin = pd.Timestamp(history.origin)
        self.design_: CountDesign = build_design(
            panel,
            history,
            origin,
            fourier_order=self.fourier_order,
            use_trend=self.trend,
            spatial=self.spatial,
            island_k=self.island_k,
        )
        n_a, n_c, n_t = panel.counts.shape
        steps = STEPS[history.freq]
        cutoffs, targets = training_cutoffs(n_t, steps, self.train_periods or SEASON[history.freq])
        valid_from = n_t - (self.valid_periods or VALID_PERIODS[history.freq])
        windows = WINDOWS[history.freq] if self.windows is None else self.windows
        nb_windows = (
            NEIGHBOUR_WINDOWS[history.freq] if self.neighbour_windows is None else self.neighbour_windows
        )
        period_x = self.design_.period_x(panel.periods)
        rng = np.random.default_rng(self.seed)
        boosters, area_coef, period_coef, origin_features = [], [], [], []
        size = np.empty((n_c, steps))
        base_ridge = choose_baseline_ridge(
            panel.counts, self.design_.area_x, period_x, ridge=self.ridge, freq=history.freq
        )
        bases = [
            fit_baseline(panel.counts[:, c, :], self.design_.area_x, period_x, ridge=base_ridge)
            for c in range(n_c)
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
                neighbours=self.design_.neighbours,
                neighbour_windows=nb_windows,
                others=others,
                halflife=halflife,
            )
            self.feature_names_ = feats.names
            parts = []
            for h, target in enumerate(targets, start=1):
                cut = target - h + 1 - cutoffs[0]
                init = (np.log(base.expected[:, target]) + feats.level[:, cut]).ravel()
                parts.append(
                    (
                        counts[:, target].ravel(),
                        init,
                        np.broadcast_to(target, (n_a, target.size)).ravel(),
                        np.full(init.size, h),
                        np.repeat(np.arange(n_a), target.size),
                        np.tile(cut, n_a),
                    )
                )
            y, init, when, step, area, row_cut = (np.concatenate(p) for p in zip(*parts, strict=True))
            keep = np.flatnonzero(~np.isnan(y))
            if keep.size > self.max_rows:
                keep = np.sort(rng.choice(keep, size=self.max_rows, replace=False))
            # Tree inputs only for the rows kept: a national panel has millions of candidate rows.
            x = self._rows(
                feats.values[area[keep], row_cut[keep]], area[keep], period_x[when[keep]], step[keep]
            )
            valid = when[keep] >= valid_from
            train, test = keep[~valid], keep[valid]
            x_train, x_test = x[~valid], x[valid]
            if train.size == 0:
                train, x_train = test, x_test
            booster = self._boost(x_train, y[train], init[train], x_test, y[test], init[test])
            mu = np.exp(init[test] + self._raw(booster, x_test))
            size[c] = [
                fit_nb_size(y[test][step[test] == h], mu[step[test] == h]) for h in range(1, steps + 1)
            ]
            boosters.append(booster)
            area_coef.append(base.area_coef)
            period_coef.append(base.period_coef)
            origin_features.append(feats.values[:, -1, :].copy())
        self.boosters_ = boosters
        self.area_coef_ = np.stack(area_coef)
        self.period_coef_ = np.stack(period_coef)
        self.origin_features_ = np.stack(origin_features, axis=1)
        self.size_ = size
        self.baseline_ridge_ = base_ridge
        self.level_halflife_ = halflife

    def _boost(
        self,
        x_train: np.ndarray,
        y_train: np.ndarray,
        init_train: np.ndarray,
        x_test: np.ndarray,
        y_test: np.ndarray,
        init_test: np.ndarray,
    ) -> lgb.Booster | None:
        """Trees correcting the baseline, early-stopped on the test rows; None when every training count is
        zero (a category seen only as zeros, or first recorded after the training targets): the Poisson
        objective has no finite optimum there, so the forecast stays the EB-GLM baseline."""
        if not np.any(y_train > 0):
            return None
        data = lgb.Dataset(x_train, y_train, init_score=init_train, free_raw_data=True)
        check = lgb.Dataset(x_test, y_test, init_score=init_test, reference=data)
        return lgb.train(
            self._params(),
            data,
            num_boost_round=self.n_estimators,
            valid_sets=[check],
            callbacks=[lgb.early_stopping(10, verbose=False)],
        )

    @staticmethod
    def _raw(booster: lgb.Booster | None, x: np.ndarray, *, contributions: bool = False) -> np.ndarray:
        """The trees' log-scale correction of rows ``x`` (per input and a bias column with
        ``contributions``); zero without trees."""
        if booster is None:
            return np.zeros((x.shape[0], x.shape[1] + 1) if contributions else x.shape[0])
        if contributions:
            return np.asarray(booster.predict(x, pred_contrib=True, num_iteration=booster.best_iteration))
        return np.asarray(booster.predict(x, raw_score=True, num_iteration=booster.best_iteration))

    def _inputs(self, c: int, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tree inputs, baseline log parts (areas, horizon, groups) and future period terms for category
        ``c``."""
        period_x = self.design_.period_x(future_periods(self.origin_, self.freq_, horizon))
        feats = np.repeat(self.origin_features_[:, c, None, :], horizon, axis=1)
        n_a = feats.shape[0]
        step = np.minimum(np.arange(1, horizon + 1), self.size_.shape[1])
        x = self._rows(
            feats.reshape(n_a * horizon, -1),
            np.repeat(np.arange(n_a), horizon),
            np.tile(period_x, (n_a, 1)),
            np.tile(step, n_a),
        )
        return x, feats, period_x

    def _log_parts(self, horizon: int, *, contributions: bool) -> dict[str, np.ndarray]:
        """Log-scale parts per driver group, each (areas, categories, horizon); they sum to the log mean."""
        n_a, n_c = self.origin_features_.shape[:2]
        parts = {g: np.zeros((n_a, n_c, horizon)) for g in GROUPS}
        input_groups = [feature_group(n) for n in self.feature_names_]
        input_groups += ["usual"] * (self.design_.area_x.shape[1] - 1)
        input_groups += [feature_group(n) for n in self.design_.period_names] + ["usual", "usual"]
        for c, booster in enumerate(self.boosters_):
            x, feats, period_x = self._inputs(c, horizon)
            parts["usual"][:, c, :] += (self.design_.area_x @ self.area_coef_[c])[:, None] + feats[:, :, 0]
            for j, name in enumerate(self.design_.period_names):
                parts[feature_group(name)][:, c, :] += self.period_coef_[c, j] * period_x[None, :, j]
            if contributions:
                shap = self._raw(booster, x, contributions=True)
                for j, group in enumerate(input_groups):
                    parts[group][:, c, :] += shap[:, j].reshape(n_a, horizon)
            else:
                parts["usual"][:, c, :] += self._raw(booster, x).reshape(n_a, horizon)
        return parts

    def _predict_mean(self, horizon: int) -> np.ndarray:
        return np.exp(np.sum(list(self._log_parts(horizon, contributions=False).values()), axis=0))

    def log_contributions(self, horizon: int) -> dict[str, np.ndarray]:
        """Driver groups of the forecast on the log scale, the trees split by TreeSHAP
        (``pred_contrib=True``)."""
        self._check_fitted()
        return self._log_parts(horizon, contributions=True)
