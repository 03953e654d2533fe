"""Why a forecast is high or low: the size of the change from usual and its main drivers, in English and Dutch.

A model that explains itself offers ``log_contributions(horizon)``: log-scale parts per driver group (see
:data:`pulsetwin.models.design.GROUPS`) that sum to the log mean. ``usual`` is the area's own long-run level
(covariates, empirical-Bayes area effect, neighbours' level); the other groups say why this period differs
from it. Each group's log part is turned into counts by sharing the difference ``mean - usual`` in proportion
to the log parts, so the count contributions add up exactly to that difference.

Sizes are judged relative to the usual level, not in counts: weekly means of a tenth of an incident make any
fixed count threshold either silent or noisy. The sentence states the change ("about 30 % above its usual
level") and names the drivers that each move the forecast by at least ``threshold`` of the usual level. The
wording is one table per language: a new driver group needs one label per language, and a group without one
is refused with an error that says where to add it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from pulsetwin.exceptions import ParameterError, ParameterTypeError
from pulsetwin.models.base import check_horizon, future_periods
from pulsetwin.models.common import PanelModel
from pulsetwin.models.design import GROUPS
from pulsetwin.schema.language import LANGS, Lang
from pulsetwin.schema.params import Integer, Number, check_param

DRIVERS: Final = tuple(g for g in GROUPS if g != "usual")
LABELS: Final[Mapping[Lang, Mapping[str, str]]] = {
    "en": {
        "season": "the season",
        "trend": "the long-term trend",
        "recent": "recent counts in this area",
        "neighbours": "recent counts in neighbouring areas",
    },
    "nl": {
        "season": "het seizoen",
        "trend": "de langetermijntrend",
        "recent": "recente aantallen in deze buurt",
        "neighbours": "recente aantallen in aangrenzende buurten",
    },
}
"""What each driver group is called in a sentence: one entry per group and language."""
LABELS_EN: Final = LABELS["en"]
LABELS_NL: Final = LABELS["nl"]
PHRASES: Final[Mapping[Lang, Mapping[str, str]]] = {
    "en": {
        "up": "About {size} above its usual level",
        "down": "About {size} below its usual level",
        "times": "About {size} times its usual level",
        "flat": "About as usual (within {size})",
        "because": ", mainly because of {drivers}.",
        "small": ", through several small effects together.",
        "offset_one": ": {drivers} is offset by smaller effects.",
        "offset_many": ": {drivers} are offset by smaller effects.",
        "offset_each_other": ": {drivers} roughly cancel out.",
        "and": " and ",
        "decimal": ".",
    },
    "nl": {
        "up": "Ongeveer {size} boven het gebruikelijke niveau",
        "down": "Ongeveer {size} onder het gebruikelijke niveau",
        "times": "Ongeveer {size} keer het gebruikelijke niveau",
        "flat": "Ongeveer als gebruikelijk (binnen {size})",
        "because": ", vooral door {drivers}.",
        "small": ", door meerdere kleine effecten samen.",
        "offset_one": ": {drivers} wordt opgeheven door kleinere effecten.",
        "offset_many": ": {drivers} worden opgeheven door kleinere effecten.",
        "offset_each_other": ": {drivers} heffen elkaar ongeveer op.",
        "and": " en ",
        "decimal": ",",
    },
}
"""Sentence parts per language; ``{size}`` and ``{drivers}`` are filled in by :func:`sentence`."""
THRESHOLD: Final = 0.10
"""Default: a change or a driver counts when it is at least 10 % of the area's usual level."""
TIMES_FROM: Final = 2.0
"""From this ratio of mean to usual on, the change is said as a multiple ("about 2.5 times")."""


@runtime_checkable
class Explainable(Protocol):
    """A fitted model that splits its log mean into driver groups."""

    def log_contributions(self, horizon: int) -> dict[str, np.ndarray]:
        """Log parts per group, each (areas, categories, horizon)."""


def check_wording(groups: Iterable[str]) -> None:
    """Refuse driver groups that have no label in every language (a new group must be worded first)."""
    missing = [(lang, g) for lang in LANGS for g in groups if g != "usual" and g not in LABELS[lang]]
    if missing:
        listed = ", ".join(f"'{g}' ({lang})" for lang, g in missing)
        raise ParameterError(
            f"Driver groups without wording: {listed}. Every driver group needs a label in each language. "
            "Fix: add the group to LABELS in pulsetwin.models.explain for every language."
        )


def _percent(value: float) -> str:
    """A share as a whole percentage, e.g. ``30 %``."""
    return f"{round(abs(value) * 100):d} %"


def _change(ratio: float, lang: Lang) -> str:
    """The sentence head for a mean at ``ratio`` times the usual level (percent, or a multiple from 2)."""
    words = PHRASES[lang]
    if ratio >= TIMES_FROM:
        return words["times"].format(
            size=f"{ratio:.{1 if ratio < 10 else 0}f}".replace(".", words["decimal"])
        )
    return words["up" if ratio > 1.0 else "down"].format(size=_percent(ratio - 1.0))


def _joined(drivers: list[tuple[str, float]], lang: Lang) -> str:
    """Labels with their signed share of the usual level, e.g. 'the season (+20 %) and the trend (+10 %)'."""
    parts = [f"{LABELS[lang][g]} ({'+' if v >= 0 else '-'}{_percent(v)})" for g, v in drivers]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + PHRASES[lang]["and"] + parts[-1]


def sentence(
    ratio: float, drivers: list[tuple[str, float]], lang: Lang, *, threshold: float = THRESHOLD
) -> str:
    """One sentence on a forecast at ``ratio`` times its usual level with the named ``drivers``.

    ``drivers`` are ``(group, share of the usual level)`` pairs, largest first: for a change, those pushing
    in its direction; for no change, those that offset each other.
    """
    check_wording(g for g, _ in drivers)
    words = PHRASES[lang]
    if abs(ratio - 1.0) < threshold:
        head = words["flat"].format(size=_percent(threshold))
        if not drivers:
            return head + "."
        signs = {v >= 0 for _, v in drivers}
        tail = words[
            "offset_each_other" if len(signs) > 1 else "offset_one" if len(drivers) == 1 else "offset_many"
        ]
        return head + tail.format(drivers=_joined(drivers, lang))
    head = _change(ratio, lang)
    if not drivers:
        return head + words["small"]
    return head + words["because"].format(drivers=_joined(drivers, lang))


def explain(
    model: PanelModel, horizon: int = 1, *, top: int = 2, tolerance: float = 0.0, threshold: float = THRESHOLD
) -> pd.DataFrame:
    """Drivers of ``model``'s forecasts for every seen (area, category) and the ``horizon`` periods.

    Returns columns ``area_code, category, period_start, mean, usual``, one count contribution per driver
    group (``season, trend, recent, neighbours``), ``change`` (``mean / usual - 1``), ``text_en`` and
    ``text_nl``. A change is stated when it is at least ``threshold`` of the usual level; up to ``top``
    drivers are named, each moving the forecast by at least ``threshold`` of the usual level and by at least
    ``tolerance`` counts (an absolute floor, off by default).
    """
    if not isinstance(model, Explainable) or not isinstance(model, PanelModel):
        raise ParameterTypeError(
            f"The 'model' parameter of explain must be a fitted model with log_contributions (glm, lgbm). "
            f"Got {type(model).__name__} instead."
        )
    check_horizon(horizon, "explain")
    check_param("top", "explain", Integer(low=1), top)
    share = Number(low=0.0, high=1.0, closed="neither", say="a share of the usual level between 0 and 1")
    check_param("threshold", "explain", share, threshold)
    check_param("tolerance", "explain", Number(low=0.0, say="a number of counts >= 0"), tolerance)
    parts = model.log_contributions(horizon)
    unknown = sorted(set(parts) - set(GROUPS))
    if unknown:
        raise ParameterError(
            f"Model '{model.name}' gave driver groups {unknown} that pulsetwin.models.design.GROUPS does not "
            f"list ({', '.join(GROUPS)}). Fix: add them to GROUPS and word them in pulsetwin.models.explain."
        )
    check_wording(GROUPS)
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
    ratio = mean / usual
    frame["change"] = ratio - 1.0
    relative = counts / usual[:, None]
    moved = relative * np.sign(ratio - 1.0)[:, None]
    flat = np.abs(ratio - 1.0) < threshold
    strength = np.where(flat[:, None], np.abs(relative), moved)
    named = (strength >= threshold) & (np.abs(counts) >= tolerance)
    order = np.argsort(-strength, axis=1, kind="stable")[:, :top]
    texts: dict[Lang, list[str]] = {lang: [] for lang in LANGS}
    for row in range(len(frame)):
        drivers = [(DRIVERS[j], float(relative[row, j])) for j in order[row] if named[row, j]]
        for lang in LANGS:
            texts[lang].append(sentence(float(ratio[row]), drivers, lang, threshold=threshold))
    frame["text_en"] = texts["en"]
    frame["text_nl"] = texts["nl"]
    return frame
