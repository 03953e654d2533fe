"""Penalised Poisson GLMs solved by damped Newton: the plain one on a design matrix, and the separable one on
(areas x periods) arrays that the count models' baseline uses, so a national panel never builds an
(areas * periods) design matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ETA_LIMIT = 30.0
"""Linear predictors are clipped to +-30 so exp() stays finite while Newton searches."""


def _objective(mu: np.ndarray, y: np.ndarray, eta: np.ndarray, coef: np.ndarray, ridge: np.ndarray) -> float:
    """Penalised negative Poisson log-likelihood (without the constant log y! term)."""
    return float(np.sum(mu - y * eta) + 0.5 * np.sum(ridge * coef**2))


Evaluate = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


def _newton(
    start: np.ndarray, ridge: np.ndarray, evaluate: Evaluate, max_iter: int = 100, tol: float = 1e-7
) -> np.ndarray:
    """Damped Newton on a penalised Poisson likelihood; ``evaluate(coef)`` gives the objective, the gradient
    and the Hessian of the unpenalised part. Steps are halved until the objective does not increase."""
    coef = start.copy()
    value, grad, hess = evaluate(coef)
    for _ in range(max_iter):
        step = np.linalg.solve(hess + np.diag(ridge), grad - ridge * coef)
        scale = 1.0
        while True:
            trial = coef + scale * step
            trial_value, trial_grad, trial_hess = evaluate(trial)
            if trial_value <= value + 1e-12 * abs(value) or scale < 1e-10:
                break
            scale /= 2.0
        coef, value, grad, hess = trial, trial_value, trial_grad, trial_hess
        if np.max(np.abs(scale * step)) < tol:
            break
    return coef


def fit_poisson(x: np.ndarray, y: np.ndarray, offset: np.ndarray, *, ridge: float) -> np.ndarray:
    """Poisson GLM with log link and ``offset``; ridge ``ridge`` on every column but the first (the
    intercept).

    Notes
    -----
    Newton-Raphson on the penalised likelihood (McCullagh & Nelder 1989, *Generalized Linear Models*, 2.5).
    """
    penalty = np.full(x.shape[1], float(ridge))
    penalty[0] = 0.0

    def evaluate(coef: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta = np.clip(offset + x @ coef, -ETA_LIMIT, ETA_LIMIT)
        mu = np.exp(eta)
        value = _objective(mu, y, eta, coef, penalty)
        return value, x.T @ (y - mu), (x * mu[:, None]).T @ x

    start = np.zeros(x.shape[1])
    start[0] = np.log(max(y.sum(), 0.5) / np.exp(offset).sum())
    return _newton(start, penalty, evaluate)


def fit_separable_poisson(
    y: np.ndarray, area_x: np.ndarray, period_x: np.ndarray, *, ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson GLM ``log mu[a, t] = area_x[a] . beta + period_x[t] . gamma`` for counts ``y`` (areas, periods;
    NaN = missing). ``area_x[:, 0]`` must be the intercept (unpenalised); everything else gets ridge ``ridge``.

    Returns ``(beta, gamma)``. Cost per Newton step is O(areas * periods * columns), memory O(areas * periods).
    """
    observed = ~np.isnan(y)
    counts = np.where(observed, y, 0.0)
    p, q = area_x.shape[1], period_x.shape[1]
    penalty = np.full(p + q, float(ridge))
    penalty[0] = 0.0

    def evaluate(coef: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta = np.clip((area_x @ coef[:p])[:, None] + (period_x @ coef[p:])[None, :], -ETA_LIMIT, ETA_LIMIT)
        mu = np.where(observed, np.exp(eta), 0.0)
        value = _objective(mu, counts, np.where(observed, eta, 0.0), coef, penalty)
        resid = counts - mu
        grad = np.concatenate([area_x.T @ resid.sum(axis=1), period_x.T @ resid.sum(axis=0)])
        cross = area_x.T @ mu @ period_x
        hess = np.block(
            [
                [(area_x * mu.sum(axis=1)[:, None]).T @ area_x, cross],
                [cross.T, (period_x * mu.sum(axis=0)[:, None]).T @ period_x],
            ]
        )
        return value, grad, hess

    start = np.zeros(p + q)
    start[0] = np.log(max(counts.sum(), 0.5) / max(observed.sum(), 1))
    coef = _newton(start, penalty, evaluate)
    return coef[:p], coef[p:]
