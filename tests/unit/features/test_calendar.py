"""Calendar terms: shape, annual periodicity, trend origin."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pulsetwin.features.calendar import fourier_terms, trend


def test_fourier_terms_are_annual() -> None:
    weeks = pd.date_range("2021-01-04", periods=157, freq="W-MON")
    terms = fourier_terms(weeks, "W", 2)
    assert terms.shape == (157, 4)
    np.testing.assert_allclose(terms[:52], terms[52:104], atol=0.13)
    months = pd.date_range("2021-01-01", periods=24, freq="MS")
    monthly = fourier_terms(months, "M", 1)
    np.testing.assert_allclose(monthly[:12], monthly[12:], atol=0.02)
    assert np.argmax(monthly[:12, 0]) in (3, 4)


def test_trend_is_years_from_origin() -> None:
    periods = pd.date_range("2022-01-03", periods=3, freq="W-MON")
    t = trend(periods, pd.Timestamp("2022-01-10"))
    np.testing.assert_allclose(t, [-7 / 365.2425, 0.0, 7 / 365.2425])
