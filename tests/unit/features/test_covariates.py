"""Covariates as known at the origin: latest year <= origin year - 1, never later."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.features.covariates import covariate_matrix, known_at


def long_frame() -> pd.DataFrame:
    rows = [
        (a, y, v, float(i * 10 + y - 2018 + (5 if v == "share" else 0)))
        for i, a in enumerate(["BU1", "BU2", "BU3"])
        for y in (2019, 2020, 2021, 2022)
        for v in ("pop", "share")
    ]
    return pd.DataFrame(rows, columns=["area_code", "year", "variable", "value"])


def test_latest_year_before_the_origin_year() -> None:
    latest = known_at(long_frame(), pd.Timestamp("2022-03-07"))
    assert set(latest["year"]) == {2021}
    missing_2021 = long_frame().query("not (area_code == 'BU2' and year == 2021)")
    latest = known_at(missing_2021, pd.Timestamp("2022-03-07")).set_index(["area_code", "variable"])
    assert latest.loc[("BU2", "pop"), "year"] == 2020


def test_matrix_is_standardised_with_log_variants_and_imputes_missing_areas() -> None:
    m = covariate_matrix(long_frame(), ["BU1", "BU2", "BU3", "BU9"], pd.Timestamp("2022-01-03"))
    assert m.names == ("pop", "log1p_pop", "share", "log1p_share")
    known = m.values[:3]
    np.testing.assert_allclose(known.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(known.std(axis=0), 1.0)
    np.testing.assert_array_equal(m.values[3], 0.0)
    assert m.missing_share["pop"] == 0.25


@settings(max_examples=25, deadline=None)
@given(origin_year=st.integers(2019, 2024), later=st.floats(-1e3, 1e3))
def test_years_at_or_after_the_origin_year_never_matter(origin_year: int, later: float) -> None:
    frame = long_frame()
    origin = pd.Timestamp(f"{origin_year}-06-01")
    changed = frame.copy()
    changed.loc[changed["year"] >= origin_year, "value"] = later
    codes = ["BU1", "BU2", "BU3"]
    a, b = covariate_matrix(frame, codes, origin), covariate_matrix(changed, codes, origin)
    assert a.names == b.names
    np.testing.assert_array_equal(a.values, b.values)
