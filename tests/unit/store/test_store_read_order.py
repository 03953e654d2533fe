"""Store.read sorts rows by the table key (as a SQL ORDER BY would) whatever the import order."""

from __future__ import annotations

import numpy as np
import pandas as pd
from store_helpers import incidents_frame

from pulsetwin.store import Store

KEYS = ["area_code", "period_start", "freq", "category", "source"]
CODES = ["BU09170000", "BU09170002", "BU09170004", "BU0917A003", "BU0917AD01"]  # digits sort before letters


def test_read_returns_key_order_for_any_import_order(store: Store) -> None:
    frame = incidents_frame(n_areas=5, n_weeks=6)
    frame["area_code"] = frame["area_code"].replace({"BU09170003": "BU0917AD01", "BU09170001": "BU0917A003"})
    frame.loc[frame.index[::4], "source"] = "gemeente"
    shuffled = frame.sample(frac=1.0, random_state=np.random.default_rng(3))
    store.import_frames({"incidents": shuffled.iloc[:17]}, source="test")
    store.import_frames({"incidents": shuffled.iloc[17:]}, source="test")
    got = store.read("incidents")
    expected = frame.sort_values(KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert list(got["area_code"].unique()) == CODES
    filtered = store.read("incidents", where={"area_code": ["BU0917AD01", "BU09170000"]})
    assert filtered["area_code"].tolist() == ["BU09170000"] * 6 + ["BU0917AD01"] * 6
    assert filtered["period_start"].tolist() == [*frame["period_start"].unique()] * 2
