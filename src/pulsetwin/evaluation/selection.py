"""The folds on which ``forecast --model best`` chooses its model: at monthly frequency every month of the
backtest span is an origin.

Why: a monthly backtest with the default ``K`` folds of ``step = horizon`` months scores only ``K`` origins
(4 quarters); the skill interval of a good model then often still reaches below zero and ``best`` falls back to a
naive baseline it would have beaten. Rolling the origin by one month over the same span (the first origin stays
where it was, so no extra history is needed) gives ``(K - 1) * horizon + 1`` overlapping origins: each target
month is scored from up to ``horizon`` origins, so the choice rests on many more forecasts, all made strictly
before the forecast origin. Weekly backtests already score many origins per month and keep their folds. An
explicit ``step`` is always kept as given.

Notes
-----
Rolling-origin evaluation with origins updated every period (Tashman 2000, IJF 16(4), "rolling-origin-
recalibration"); the skill interval resamples target periods in blocks (:mod:`pulsetwin.evaluation.skill`), so
overlapping origins do not pretend to be independent evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

import pandas as pd

from pulsetwin.evaluation.backtest import BacktestResult, _skill, _summary
from pulsetwin.evaluation.oracle import ORACLE_NAME
from pulsetwin.evaluation.origin_oracle import ORIGIN_ORACLE_NAME
from pulsetwin.exceptions import bad_parameter
from pulsetwin.models.base import Freq

ROLLING_SELECTION: Final[frozenset[str]] = frozenset({"M"})
"""Frequencies at which ``best`` is chosen on origins rolled by one period."""


def selection_folds(freq: Freq, horizon: int, folds: int, step: int | None) -> tuple[int, int | None]:
    """The ``(folds, step)`` of the backtest that chooses ``best``.

    Monthly with no ``step`` given: origins one month apart over the span ``folds`` non-overlapping folds of
    ``horizon`` months would cover, i.e. ``((folds - 1) * horizon + 1, 1)``. Otherwise ``(folds, step)``
    unchanged.
    """
    for name, value in (("horizon", horizon), ("folds", folds)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_parameter(name, "selection_folds", "an integer >= 1", value)
    if freq not in ROLLING_SELECTION or step is not None:
        return folds, step
    return (folds - 1) * horizon + 1, 1


def restrict_folds(result: BacktestResult, origins: Sequence[pd.Timestamp]) -> BacktestResult:
    """The result a backtest on only the folds at ``origins`` would give, cut from a larger ``result`` of the
    same models and data.

    Why: a fold's forecasts and scores depend only on the data before its origin, so choosing ``best`` at many
    forecast origins (a benchmark) can backtest every fold once and cut each origin's folds from it, instead of
    re-running the overlapping folds of every origin. Skill, intervals and the best naive baseline are computed
    afresh on the kept folds, exactly as :func:`pulsetwin.evaluation.backtest.backtest` does.
    """
    wanted = {pd.Timestamp(o) for o in origins}
    folds = tuple(f for f in result.folds if f.origin in wanted)
    if len(folds) != len(wanted):
        have = sorted(str(f.origin.date()) for f in result.folds)
        raise bad_parameter(
            "origins", "restrict_folds", f"fold origins of the result ({have})", sorted(wanted)
        )
    scores = result.scores[result.scores["cutoff"].isin(list(wanted))].reset_index(drop=True)
    present = set(scores["model"])
    oracle = ORACLE_NAME if ORACLE_NAME in present else None
    origin_oracle = ORIGIN_ORACLE_NAME if ORIGIN_ORACLE_NAME in present else None
    skill = _skill(
        scores, result.naive, oracle, origin_oracle, level=result.level,
        n_boot=int(result.settings.get("n_boot", 1000)), seed=int(result.settings.get("seed", 0)),
    )  # fmt: skip
    overall = skill[skill["category"] == "all"]
    return replace(
        result, scores=scores, summary=_summary(scores, overall, result.naive), skill=skill, folds=folds,
        baseline=str(overall["baseline"].iloc[0]), settings={**result.settings, "folds": len(folds)},
    )  # fmt: skip
