"""Hit rate, PAI and PEI of a ranking of places (grid cells or areas of any size).

Definitions (shared by the grid backtest and the area-level evaluation, so names and signatures are stable):

* **Flagging.** Places are ranked by ``scores``, highest first; equal scores keep their input order (the first
  place wins), so the input order must be a fixed "cell order". Places are flagged in that order until their
  summed area reaches ``fraction`` of the total area. The place that crosses the budget is flagged *in part*:
  the share of its area that fits in the budget, and the same share of its observed events (as if its events
  were spread evenly over it). The flagged area is therefore exactly ``fraction`` of the total, whatever the cell
  sizes, and the metrics are continuous in ``fraction``.
* **Hit rate** = events in flagged places / all observed events (NaN when nothing was observed).
* **PAI** (predictive accuracy index) = hit rate / flagged area share = hit rate / ``fraction``.
* **Ceiling hit rate** = the largest hit rate any ranking reaches with the same area: rank by observed events per
  unit area (with equal areas: by observed count) and flag the same way.
* **PEI** (predictive efficiency index) = hit rate / ceiling hit rate (NaN when the ceiling is 0).

Notes
-----
Chainey, Tompson & Uhlig (2008) for PAI; Hunt (2016) and the NIJ Real-Time Crime Forecasting Challenge (2017)
for PEI.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pulsetwin.exceptions import ParameterError, bad_parameter
from pulsetwin.schema.params import Number, check_param

DEFAULT_FRACTIONS: tuple[float, ...] = (0.01, 0.03, 0.05, 0.10)


def _check(
    scores: np.ndarray | None, observed: np.ndarray, cell_area: np.ndarray | None, fraction: float, owner: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate the inputs and return ``observed`` and ``cell_area`` as float arrays."""
    obs = np.asarray(observed, dtype=float)
    if obs.ndim != 1:
        raise bad_parameter("observed", owner, "a one-dimensional array", f"shape {obs.shape}")
    if not np.all(np.isfinite(obs)) or np.any(obs < 0):
        raise bad_parameter(
            "observed", owner, "finite counts >= 0", obs[~(np.isfinite(obs) & (obs >= 0))][:5]
        )
    if scores is not None:
        sc = np.asarray(scores, dtype=float)
        if sc.shape != obs.shape:
            raise ParameterError(
                f"The 'scores' parameter of {owner} must have one value per place like 'observed' "
                f"({obs.shape[0]}). Got shape {sc.shape} instead."
            )
        if not np.all(np.isfinite(sc)):
            raise bad_parameter("scores", owner, "finite numbers", sc[~np.isfinite(sc)][:5])
    check_param("fraction", owner, Number(low=0.0, high=1.0, closed="right"), fraction)
    if cell_area is None:
        return obs, np.ones_like(obs)
    area = np.asarray(cell_area, dtype=float)
    if area.shape != obs.shape or not np.all(np.isfinite(area)) or np.any(area <= 0):
        raise bad_parameter("cell_area", owner, "one finite positive area per place", f"shape {area.shape}")
    return obs, area


def flagged_share(scores: np.ndarray, *, fraction: float, cell_area: np.ndarray | None = None) -> np.ndarray:
    """Share (0..1) of each place flagged when the top ``fraction`` of the area is flagged by ``scores``."""
    sc = np.asarray(scores, dtype=float)
    _, area = _check(sc, np.zeros(sc.shape), cell_area, fraction, "flagged_share")
    return _flag(np.argsort(-sc, kind="stable"), area, fraction)


def _flag(order: np.ndarray, area: np.ndarray, fraction: float) -> np.ndarray:
    """Flagged share per place, flagging places in ``order`` up to ``fraction`` of the total area."""
    a = area[order]
    budget = fraction * a.sum()
    before = np.cumsum(a) - a
    share = np.zeros_like(area)
    share[order] = np.clip((budget - before) / a, 0.0, 1.0)
    return share


def _captured(order: np.ndarray, obs: np.ndarray, area: np.ndarray, fraction: float) -> float:
    """Events captured when flagging in ``order``."""
    return float(np.dot(_flag(order, area, fraction), obs))


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is 0."""
    return numerator / denominator if denominator > 0 else float("nan")


def _ceiling_order(obs: np.ndarray, area: np.ndarray) -> np.ndarray:
    """The ranking that captures the most events per unit of flagged area."""
    return np.argsort(-(obs / area), kind="stable")


def hit_rate(
    scores: np.ndarray, observed: np.ndarray, *, fraction: float, cell_area: np.ndarray | None = None
) -> float:
    """Share of observed events inside the places flagged by ``scores`` at ``fraction`` of the area."""
    obs, area = _check(scores, observed, cell_area, fraction, "hit_rate")
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    return _ratio(_captured(order, obs, area, fraction), float(obs.sum()))


def ceiling_hit_rate(observed: np.ndarray, *, fraction: float, cell_area: np.ndarray | None = None) -> float:
    """The highest hit rate any ranking can reach with ``fraction`` of the area (ranking by realised density)."""
    obs, area = _check(None, observed, cell_area, fraction, "ceiling_hit_rate")
    return _ratio(_captured(_ceiling_order(obs, area), obs, area, fraction), float(obs.sum()))


def pai(
    scores: np.ndarray, observed: np.ndarray, *, fraction: float, cell_area: np.ndarray | None = None
) -> float:
    """Predictive accuracy index: hit rate divided by the flagged share of the area (``fraction``)."""
    return hit_rate(scores, observed, fraction=fraction, cell_area=cell_area) / fraction


def pei(
    scores: np.ndarray, observed: np.ndarray, *, fraction: float, cell_area: np.ndarray | None = None
) -> float:
    """Predictive efficiency index: hit rate divided by the ceiling hit rate with the same area."""
    achieved = hit_rate(scores, observed, fraction=fraction, cell_area=cell_area)
    return _ratio(achieved, ceiling_hit_rate(observed, fraction=fraction, cell_area=cell_area))


def hotspot_table(
    scores: np.ndarray,
    observed: np.ndarray,
    cell_area: np.ndarray | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> dict[float, dict[str, float]]:
    """All metrics at several area fractions in one pass.

    Returns
    -------
    dict
        ``{fraction: {"hit_rate", "pai", "pei", "ceiling_hit_rate", "ceiling_pai"}}``; NaN where undefined
        (no observed events).
    """
    sc = np.asarray(scores, dtype=float)
    table: dict[float, dict[str, float]] = {}
    order: np.ndarray | None = None
    for fraction in fractions:
        obs, area = _check(sc, observed, cell_area, fraction, "hotspot_table")
        if order is None:
            order = np.argsort(-sc, kind="stable")
        total = float(obs.sum())
        hr = _ratio(_captured(order, obs, area, fraction), total)
        ceiling = _ratio(_captured(_ceiling_order(obs, area), obs, area, fraction), total)
        table[float(fraction)] = {
            "hit_rate": hr,
            "pai": hr / fraction,
            "pei": _ratio(hr, ceiling) if np.isfinite(ceiling) else float("nan"),
            "ceiling_hit_rate": ceiling,
            "ceiling_pai": ceiling / fraction,
        }
    return table
