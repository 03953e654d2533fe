"""The trial's estimators: the rate ratio from a negative-binomial GLM and the randomisation-inference test.

Both take per-unit outcome totals ``y`` (counts over the trial periods), the forecast totals ``expected`` (the
offset), the allocation and the blocks. The design's power simulation, the analysis and the benchmark all call
these same functions, so what is pre-registered is what is run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from pulsetwin.exceptions import ParameterError

CONTINUITY = 0.5
"""Added to each arm's observed total in the randomisation statistic so an arm with no events stays finite."""


@dataclass(frozen=True)
class RateRatio:
    """Treated-vs-control rate ratio relative to the forecast, with a ``level`` Wald interval."""

    estimate: float
    lower: float
    upper: float
    level: float
    units_used: int


def rate_ratio(
    y: np.ndarray, expected: np.ndarray, treated: np.ndarray, blocks: pd.Series, *, size: float, level: float,
    periods: np.ndarray | None = None,
) -> RateRatio:  # fmt: skip
    """NB2 GLM of ``y`` on treatment with ``log(expected)`` as offset and one intercept per block (strata).

    ``periods`` (a stepped wedge's period per row) adds period fixed effects: treatment there rises with time,
    so a time trend the forecast missed would otherwise be read as the effect.

    The dispersion ``1 / size`` is the one measured and pre-registered at design, not re-estimated from the
    trial (a handful of buurten cannot estimate it). Blocks without any event, or without both arms, carry no
    information on the treatment contrast and are left out (the count used is reported).

    Notes
    -----
    NB2 regression with an exposure offset (Cameron & Trivedi 2013, ch. 3); strata as fixed block effects.
    """
    y = np.asarray(y, dtype=float)
    frame = pd.DataFrame({"y": y, "m": np.asarray(expected, float), "t": np.asarray(treated, bool),
                          "b": blocks.to_numpy(), "p": 0 if periods is None else periods})  # fmt: skip
    grouped = frame.groupby("b")
    informative = (grouped["y"].transform("sum") > 0) & (grouped["t"].transform("nunique") == 2)
    used = frame[informative.to_numpy()]
    if used.empty or used["t"].all() or not used["t"].any():
        raise ParameterError(
            "no block holds events in both arms, so the rate ratio cannot be estimated. "
            "Fix: run the trial longer or on more buurten (see the design's power)"
        )
    dummies = pd.get_dummies(used["b"], dtype=float).to_numpy()
    trend = pd.get_dummies(used["p"], dtype=float, drop_first=True).to_numpy()
    exog = np.column_stack([used["t"].to_numpy(dtype=float), dummies, trend])
    family = sm.families.NegativeBinomial(alpha=1.0 / size)
    fit = sm.GLM(used["y"].to_numpy(), exog, family=family, offset=np.log(used["m"].to_numpy())).fit()
    beta, se = float(fit.params[0]), float(fit.bse[0])
    z = float(stats.norm.ppf(0.5 + level / 2))
    return RateRatio(float(np.exp(beta)), float(np.exp(beta - z * se)), float(np.exp(beta + z * se)), level,
                     len(used))  # fmt: skip


def ri_statistic(
    y: np.ndarray, expected: np.ndarray, allocations: np.ndarray, periods: np.ndarray | None = None
) -> np.ndarray:
    """Log ratio of observed-to-forecast in treated vs control, one value per row of ``allocations``.

    ``allocations`` is boolean, shape (draws, units) or (units,). With ``periods`` (a stepped wedge's period
    per unit) the log ratio is taken within each period that holds both arms and averaged with weights
    ``n_treated * n_control / n`` (the "vertical" analysis of a stepped wedge), so a trend over the periods
    cannot masquerade as an effect.
    """
    a = np.atleast_2d(np.asarray(allocations, dtype=float))
    y = np.asarray(y, dtype=float)
    m = np.asarray(expected, dtype=float)
    if periods is None:
        return _log_ratio(a, y, m)
    total = np.zeros(a.shape[0])
    weights = np.zeros(a.shape[0])
    for period in np.unique(periods):
        cells = np.asarray(periods) == period
        part = a[:, cells]
        n_treated = part.sum(axis=1)
        weight = n_treated * (cells.sum() - n_treated) / cells.sum()
        both = weight > 0
        total[both] += weight[both] * _log_ratio(part[both], y[cells], m[cells])
        weights += weight
    return np.asarray(total / np.where(weights > 0, weights, np.nan))


def _log_ratio(a: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per row of the 0/1 matrix ``a``: log observed-to-forecast of the ones minus that of the zeros."""
    treated = np.log((a @ y + CONTINUITY) / (a @ m))
    control = np.log(((1.0 - a) @ y + CONTINUITY) / ((1.0 - a) @ m))
    return np.asarray(treated - control)


def randomisation_p(
    y: np.ndarray,
    expected: np.ndarray,
    treated: np.ndarray,
    redraws: np.ndarray,
    periods: np.ndarray | None = None,
) -> float:
    """Two-sided randomisation-inference p-value of the sharp null of no effect in any buurt.

    The observed allocation counts as one of the draws, so ``p >= 1 / (draws + 1)``. ``periods`` as in
    :func:`ri_statistic`.

    Notes
    -----
    Fisher's randomisation test (Fisher 1935; Imbens & Rubin 2015, ch. 5) with the allocations re-drawn by the
    design's own procedure.
    """
    observed = abs(float(ri_statistic(y, expected, treated, periods)[0]))
    null = np.abs(ri_statistic(y, expected, redraws, periods))
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.size))
