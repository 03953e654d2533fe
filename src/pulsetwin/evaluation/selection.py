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

from typing import Final

from pulsetwin.schema.params import Integer, check_param
from pulsetwin.schema.periods import Freq

ROLLING_SELECTION: Final[frozenset[str]] = frozenset({"M"})
"""Frequencies at which ``best`` is chosen on origins rolled by one period."""


def selection_folds(freq: Freq, horizon: int, folds: int, step: int | None) -> tuple[int, int | None]:
    """The ``(folds, step)`` of the backtest that chooses ``best``.

    Monthly with no ``step`` given: origins one month apart over the span ``folds`` non-overlapping folds of
    ``horizon`` months would cover, i.e. ``((folds - 1) * horizon + 1, 1)``. Otherwise ``(folds, step)``
    unchanged.
    """
    for name, value in (("horizon", horizon), ("folds", folds)):
        check_param(name, "selection_folds", Integer(low=1), value)
    if freq not in ROLLING_SELECTION or step is not None:
        return folds, step
    return (folds - 1) * horizon + 1, 1
