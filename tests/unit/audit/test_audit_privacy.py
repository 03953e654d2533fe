"""Privacy release: suppression invariants on random tables, DP noise scale, budget refusal, provenance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pulsetwin.audit.privacy import (
    augment,
    discrete_laplace,
    discrete_laplace_scale,
    protect_table,
    public_export,
)
from pulsetwin.exceptions import ParameterError, PrivacyBudgetError
from pulsetwin.store import Store
from pulsetwin.store.logcheck import check_log
from pulsetwin.store.privacy_budget import read_budgets

TABLES = st.tuples(st.integers(1, 8), st.integers(1, 8)).flatmap(
    lambda shape: arrays(np.float64, shape, elements=st.integers(0, 60).map(float))
)


@settings(max_examples=150, deadline=None)
@given(TABLES, st.sampled_from([3, 10, 25]))
def test_suppression_invariants(values: np.ndarray, threshold: int) -> None:
    result = protect_table(values, tuple(map(str, range(values.shape[0]))),
                           tuple(map(str, range(values.shape[1]))), threshold=threshold, rounding=1)  # fmt: skip
    table = augment(values)
    published = ~result.suppressed
    assert (table[published] >= threshold).all(), "a published entry is below the threshold"
    assert result.suppressed[table < threshold].all()
    for axis in (0, 1):
        per_line = result.suppressed.sum(axis=axis)
        assert ((per_line == 0) | (per_line >= 2)).all(), "a suppressed entry is recoverable from its line"
    np.testing.assert_array_equal(result.published[published], table[published])


def test_secondary_picks_the_smallest_complement() -> None:
    values = np.array([[5.0, 40.0, 20.0], [30.0, 50.0, 60.0], [35.0, 45.0, 25.0]])
    result = protect_table(values, ("a", "b", "c"), ("x", "y", "z"), threshold=10, rounding=1)
    assert result.primary[:3, :3].sum() == 1
    assert result.suppressed[0, 2], "row a: 20 is its smallest other cell"
    assert result.suppressed[1, 0], "column x: 30 is its smallest other cell"


def test_rounding_to_five() -> None:
    values = np.array([[12.0, 17.0], [23.0, 31.0]])
    result = protect_table(values, ("a", "b"), ("x", "y"), threshold=10, rounding=5)
    np.testing.assert_array_equal(result.published, [[10, 15, 30], [25, 30, 55], [35, 50, 85]])


@pytest.mark.parametrize("epsilon", [0.1, 0.5, 1.0, 2.0])
def test_discrete_laplace_variance_matches_epsilon(epsilon: float) -> None:
    noise = discrete_laplace((200_000,), epsilon, np.random.default_rng(7))
    theory = discrete_laplace_scale(epsilon)
    assert noise.dtype == np.int64
    assert abs(noise.mean()) < 5 * theory["sd"] / np.sqrt(noise.size)
    assert noise.var() == pytest.approx(theory["variance"], rel=0.03)
    alpha = theory["alpha"]
    assert np.mean(noise == 0) == pytest.approx((1 - alpha) / (1 + alpha), rel=0.03)


def test_same_seed_same_noise() -> None:
    a = discrete_laplace((50,), 0.5, np.random.default_rng(3))
    b = discrete_laplace((50,), 0.5, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def _store(tmp_path: Path) -> Store:
    codes = [f"BU0917010{i}" for i in range(4)]
    store = Store(tmp_path / "s.duckdb")
    incidents = pd.DataFrame(
        {
            "area_code": np.repeat(codes, 2),
            "period_start": pd.Timestamp("2024-01-01"),
            "freq": "M",
            "category": ["burglary_residential", "drugs"] * 4,
            "count": [30, 4, 25, 40, 12, 18, 50, 3],
            "source": "politie",
        }
    )
    store.import_frames({"incidents": incidents}, source="test")
    return store


def test_public_export_suppresses_and_records(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        release = public_export(store, "incidents", tmp_path / "pub.csv", threshold=10, rounding=5)
        frame = pd.read_csv(tmp_path / "pub.csv")
        assert release.suppressed_primary == 2
        numbers = frame.drop(columns="area_code").to_numpy(dtype=float)
        assert np.nanmin(numbers) >= 10
        assert (np.isnan(numbers).sum(axis=1) != 1).all() and (np.isnan(numbers).sum(axis=0) != 1).all()
        assert store.provenance()["source"].eq("public_release").any()
        assert store.log.records(limit=1)[0].action == "public_export"


def test_budget_refuses_overspend(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        first = public_export(
            store, "incidents", tmp_path / "a.csv", dp_epsilon=0.6, seed=1, epsilon_total=1.0
        )
        assert first.budget == {"epsilon_spent": 0.6, "epsilon_total": 1.0, "releases": 1}
        assert first.parameters["noise"]["variance"] == pytest.approx(discrete_laplace_scale(0.6)["variance"])
        with pytest.raises(PrivacyBudgetError, match="total 1"):
            public_export(store, "incidents", tmp_path / "b.csv", dp_epsilon=0.6, seed=2)
        assert not (tmp_path / "b.csv").exists()
        budget = read_budgets(store)
        assert budget.loc[0, "epsilon_spent"] == pytest.approx(0.6)
        public_export(store, "incidents", tmp_path / "c.csv", dp_epsilon=0.4, seed=3)
        assert read_budgets(store).loc[0, "epsilon_spent"] == pytest.approx(1.0)


def test_point_events_refused(tmp_path: Path) -> None:
    from pulsetwin.exceptions import StoreError

    with _store(tmp_path) as store, pytest.raises(StoreError, match="point events"):
        public_export(store, "events", tmp_path / "e.csv")


def test_withheld_counts_are_suppressed_with_their_totals() -> None:
    values = np.array([[np.nan, 40.0, 20.0], [30.0, 50.0, 60.0]])
    result = protect_table(values, ("a", "b"), ("x", "y", "z"), threshold=10, rounding=1)
    assert (
        result.suppressed[0, 0]
        and result.suppressed[0, 3]
        and result.suppressed[2, 0]
        and result.suppressed[2, 3]
    )
    for axis in (0, 1):
        per_line = result.suppressed.sum(axis=axis)
        assert ((per_line == 0) | (per_line >= 2)).all()


def test_public_export_takes_the_stores_frequency_and_refuses_one_it_lacks(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        release = public_export(store, "incidents", tmp_path / "m.csv")
        assert release.parameters["freq"] == "M"  # recorded as chosen, not as the absent argument
        with pytest.raises(ParameterError, match=r"no incidents at freq W .*holds M \(months\).*--freq M"):
            public_export(store, "incidents", tmp_path / "w.csv", freq="W")
        assert not (tmp_path / "w.csv").exists()


def test_public_export_with_both_frequencies_needs_one(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        weekly = store.read("incidents").assign(freq="W", period_start=pd.Timestamp("2024-01-01"))
        store.import_frames({"incidents": weekly}, source="test")
        with pytest.raises(ParameterError, match="more than one frequency: M \\(months\\), W \\(weeks\\)"):
            public_export(store, "incidents", tmp_path / "both.csv")
        assert public_export(store, "incidents", tmp_path / "w.csv", freq="W").parameters["freq"] == "W"


@pytest.mark.parametrize(
    ("sql", "table", "words"),
    [
        ("UPDATE privacy_budget SET epsilon_spent = 0.1", "privacy_budget", "content differs"),
        ("DELETE FROM privacy_budget", "privacy_budget", "holds 0 rows where the log accounts for 1"),
        (
            "INSERT INTO privacy_budget VALUES ('forecasts', 0.0, 5.0, 0)",
            "privacy_budget",
            "holds 2 rows where the log accounts for 1",
        ),
        ("DELETE FROM provenance WHERE source = 'public_release'", "provenance", "holds 1 rows"),
    ],
)
def test_releases_pass_the_deep_check_and_a_direct_budget_edit_is_named(
    tmp_path: Path, sql: str, table: str, words: str
) -> None:
    with _store(tmp_path) as store:
        public_export(store, "incidents", tmp_path / "plain.csv")  # no ε spent: no budget table yet
        assert check_log(store, deep=True).ok
        public_export(store, "incidents", tmp_path / "a.csv", dp_epsilon=0.6, seed=1, epsilon_total=1.0)
        with pytest.raises(PrivacyBudgetError):  # refused: rolls back, logs nothing
            public_export(store, "incidents", tmp_path / "b.csv", dp_epsilon=0.6, seed=2)
        public_export(store, "incidents", tmp_path / "c.csv", dp_epsilon=0.3, seed=3)
        checked = check_log(store, deep=True)
        assert checked.ok and {"privacy_budget", "provenance"} <= {t.table for t in checked.tables}
        store._con.execute(sql)
        failed = {t.table: t.reason for t in check_log(store, deep=True).tables if not t.ok}
    assert list(failed) == [table] and words in failed[table]
