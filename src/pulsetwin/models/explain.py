"""Why a forecast is high or low: top drivers per area, category and period, in English and Dutch.

A model that explains itself offers ``log_contributions(horizon)``: log-scale parts per driver group (see
:data:`pulsetwin.models.design.GROUPS`) that sum to the log mean. ``usual`` is the area's own long-run level
(covariates, empirical-Bayes area effect, neighbours' level); the other groups say why this period differs
from
it. Each group's log part is turned into counts by sharing the difference ``mean - usual`` in proportion to
the
log parts, so the count contributions add up exactly to that difference.
"""

from __future__ import annotations

from typing import Final, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from pulsetwin.exceptions import ParameterTypeError, bad_parameter
from pulsetwin.models.base import check_horizon, future_periods
from pulsetwin.models.common import PanelModel
from pulsetwin.models.design import GROUPS

DRIVERS: Final = tuple(g for g in GROUPS if g != "usual")
LABELS_EN: Final = {
    "season": "the season",
    "trend": "the long-term trend",
    "recent": "recent counts in this area",
    "neighbours": "recent counts in neighbouring areas",
}
LABELS_NL: Final = {
    "season": "het seizoen",
    "trend": "de langetermijntrend",
    "recent": "recente aantallen in deze buurt",
    "neighbours": "recente aantallen in aangrenzende buurten",
}


@runtime_checkable
class Explainable(Protocol):
    """A fitted model that splits its log mean into driver groups."""

    def log_contributions(self, horizon: int) -> dict[str, np.ndarray]:
        """Log parts per group, each (areas, categories, horizon)."""


def _sentence(direction: str, drivers: list[tuple[str, float]], labels: dict[str, str], lang: str) -> str:
    """One sentence such as 'Higher than usual mainly because of the season (+0.4).'"""
    parts = [f"{labels[g]} ({value:+.1f})" for g, value in drivers]
    if lang == "en":
        head = {"up": "Higher than usual", "down": "Lower than usual", "flat": "About as usual"}[direction]
        joined = " and ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"{head} mainly because of {joined}." if parts else f"{head}."
    head = {
        "up": "Hoger dan gebruikelijk",
        "down": "Lager dan gebruikelijk",
        "flat": "Ongeveer als gebruikelijk",
    }[direction]
    joined = " en ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " en " + parts[-1]
    return f"{head}, vooral door {joined}." if parts else f"{head}."


def explain(model: PanelModel, horizon: int = 1, *, top: int = 2, tolerance: float = 0.05) -> pd.DataFrame:
    """Drivers of ``model``'s forecasts for every seen (area, category) and the ``horizon`` periods.

    Returns columns ``area_code, category, period_start, mean, usual``, one count contribution per driver
    group
    (``season, trend, recent, neighbours``), ``text_en`` and ``text_nl``. Drivers whose contribution is below
    ``tolerance`` (in counts) are not named; when mean and usual differ by less than that the text says so.
    """
    if not isinstance(model, Explainable) or not isinstance(model, PanelModel):
        raise ParameterTypeError(
            f"The 'model' parameter of explain must be a fitted model with log_contributions (glm, lgbm). "
            f"Got {type(model).__name__} instead."
        )
    check_horizon(horizon, "explain")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise bad_parameter("top", "explain", "an integer >= 1", top)
    parts = model.log_contributions(horizon)
    panel = model.panel_
    ai, ci = np.nonzero(panel.seen)
    logs = {g: parts[g][ai, ci, :].ravel() for g in GROUPS}
    usual = np.exp(logs["usual"])
    change = np.stack([logs[g] for g in DRIVERS], axis=1)
    total_log = change.sum(axis=1)
    mean = usual * np.exp(total_log)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(np.abs(total_log) > 1e-12, (mean - usual) / total_log, usual)
    counts = change * share[:, None]
    frame = pd.DataFrame(
        {
            "area_code": np.repeat(panel.areas.to_numpy(dtype=object)[ai], horizon),
            "category": np.repeat(panel.categories.to_numpy(dtype=object)[ci], horizon),
            "period_start": np.tile(future_periods(model.origin_, model.freq_, horizon).to_numpy(), ai.size),
            "mean": mean,
            "usual": usual,
        }
    )
    for j, g in enumerate(DRIVERS):
        frame[g] = counts[:, j]
    direction = np.where(mean - usual > tolerance, "up", np.where(usual - mean > tolerance, "down", "flat"))
    sign = np.where(direction == "down", -1.0, 1.0)
    order = np.argsort(-(counts * sign[:, None]), axis=1, kind="stable")[:, :top]
    text_en, text_nl = [], []
    for row, d in enumerate(direction):
        named = [
            (DRIVERS[j], float(counts[row, j]))
            for j in order[row]
            if d != "flat" and counts[row, j] * sign[row] > tolerance
        ]
        text_en.append(_sentence(str(d), named, LABELS_EN, "en"))
        text_nl.append(_sentence(str(d), named, LABELS_NL, "nl"))
    frame["text_en"] = text_en
    frame["text_nl"] = text_nl
    return frame
