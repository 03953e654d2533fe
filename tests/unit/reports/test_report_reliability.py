"""The report's reliability figure: quantile bands and the PIT histogram when the backtest has them, the old
at-or-below points with a caption saying so when it does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pulsetwin.evaluation.calibration import PIT_COLUMNS
from pulsetwin.reports.figures import RELIABILITY_CAPTION, RELIABILITY_CAPTION_OLD, reliability_figure

OLD = pd.DataFrame(
    {
        "model": ["glm", "naive_last"],
        "below_q05": [0.94, 0.94],
        "below_q50": [0.95, 0.94],
        "below_q95": [0.98, 0.95],
        "coverage90": [0.98, 0.95],
    }
)
NEW = OLD.assign(
    below_q05_strict=[0.0, 0.0],
    below_q50_strict=[0.01, 0.0],
    below_q95_strict=[0.31, 0.05],
    pit_match=[1.0, 0.4],
    **{c: [0.1] * 2 for c in PIT_COLUMNS},
)


def test_bands_run_from_strictly_below_to_at_or_below_each_quantile() -> None:
    fig = reliability_figure(NEW)
    assert fig.layout.title.text == RELIABILITY_CAPTION
    band = next(t for t in fig.data if isinstance(t, go.Scatter) and t.name == "glm")
    lower = np.asarray(band.y) - np.asarray(band.error_y.arrayminus)
    upper = np.asarray(band.y) + np.asarray(band.error_y.array)
    np.testing.assert_allclose(lower, [0.0, 0.01, 0.31 - 0.94, 0.31])
    np.testing.assert_allclose(upper, [0.94, 0.95, 0.98 - 0.0, 0.98])


def test_the_pit_histogram_is_a_density_and_flags_an_untrusted_fit() -> None:
    bars = [t for t in reliability_figure(NEW).data if isinstance(t, go.Bar)]
    assert len(bars) == 2
    np.testing.assert_allclose(bars[0].y, 1.0)
    assert bars[0].name == "glm" and "do not trust" in bars[1].name


def test_an_old_summary_gets_points_and_a_caption_that_says_so() -> None:
    fig = reliability_figure(OLD)
    assert fig.layout.title.text == RELIABILITY_CAPTION_OLD
    assert not any(isinstance(t, go.Bar) for t in fig.data)
    glm = next(t for t in fig.data if t.name == "glm")
    assert list(glm.y) == [0.94, 0.95, 0.98, 0.98]
