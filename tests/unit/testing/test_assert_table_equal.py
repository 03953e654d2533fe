"""``assert_table_equal`` ignores row order and storage dtype, and nothing else."""

from __future__ import annotations

import pandas as pd
import pytest

from pulsetwin.testing import assert_table_equal

INCIDENTS = pd.DataFrame(
    {
        "area_code": ["BU01", "BU02", "BU01"],
        "period_start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]),
        "freq": "M",
        "category": ["theft", "theft", "violence"],
        "count": pd.array([3, None, 0], dtype="Int64"),
        "source": "test",
    }
)


def test_order_categoricals_units_and_int_kinds_do_not_matter() -> None:
    shuffled = INCIDENTS.iloc[[2, 0, 1]].reset_index(drop=True)
    compact = shuffled.astype({"area_code": "category", "category": "category"})
    compact["period_start"] = compact["period_start"].astype("datetime64[s]")
    assert_table_equal(compact, INCIDENTS, table="incidents")
    assert_table_equal(INCIDENTS.iloc[[1, 2, 0]], INCIDENTS)  # every column orders the rows


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda f: f.assign(count=pd.array([3, None, 1], dtype="Int64")), "count"),
        (lambda f: f.iloc[:2], "3 rows != 2 rows"),
        (lambda f: f.drop(columns="source"), "only left \\['source'\\]"),
        (lambda f: f[list(f.columns[::-1])], "column order"),
    ],
)
def test_a_real_difference_fails(change, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AssertionError, match=words):
        assert_table_equal(INCIDENTS, change(INCIDENTS), table="incidents")


def test_dtypes_are_compared_when_asked() -> None:
    with pytest.raises(AssertionError, match="dtype"):
        assert_table_equal(INCIDENTS, INCIDENTS.astype({"count": "float64"}), check_dtype=True)
