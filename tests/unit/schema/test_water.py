"""The water rule of the wijk- en buurtkaart: duplicate water rows dropped, water-only areas kept and listed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pulsetwin.schema.water import water_only, water_rows, water_rows_to_drop


def test_water_rows_read_the_attribute_case_insensitively() -> None:
    attributes = pd.DataFrame({"WATER": [" ja", "NEE", "B", None, "Ja"]})
    assert water_rows(attributes).tolist() == [True, False, False, False, True]
    assert water_rows(pd.DataFrame({"naam": ["x", "y"]})).tolist() == [False, False]


def test_only_water_rows_sharing_a_land_code_are_dropped() -> None:
    codes = pd.Series(["GM0917", "GM0917 ", "WK091799", None, None])
    water = np.array([False, True, True, True, False])
    # the second row repeats the land code (padded); the wijk has only a water row; missing codes never match
    assert water_rows_to_drop(codes, water).tolist() == [False, True, False, False, False]


def test_water_only_areas_are_remaining_water_rows_and_buurt_codes_ending_9997_9998() -> None:
    codes = pd.Series(["BU09179997", "BU09179998", "BU09170101", "WK091799", "GM9997", "WK099997"])
    water = np.array([False, False, False, True, False, False])
    assert water_only(codes, water).tolist() == [True, True, False, True, False, False]
