"""Imports are listed and undone exactly; a copy of another source's counts is refused unless said otherwise."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from store_helpers import incidents_frame

from pulsetwin.exceptions import ConflictError, StoreError
from pulsetwin.store import Store
from pulsetwin.store.logcheck import check_log

KEPT = ("areas", "covariates", "incidents", "events", "forecasts", "truth", "protected", "categories")


def _fingerprint(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """The rows of every canonical table and the category register, sorted."""
    con = store._con
    return {name: sorted(con.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in KEPT}


def test_undo_restores_each_prior_state_newest_first(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        states = [_fingerprint(store)]
        first = store.import_frames({"incidents": incidents_frame()}, source="politie")
        states.append(_fingerprint(store))
        municipal = incidents_frame(n_areas=4).assign(category="overlast_jeugd", source="gemeente")
        second = store.import_frames({"incidents": municipal}, source="gemeente")
        states.append(_fingerprint(store))
        revised = store.import_frames(
            {"incidents": incidents_frame(count_offset=2)}, source="politie", revise=True
        )
        assert _fingerprint(store) != states[-1]
        with pytest.raises(StoreError, match=revised.dataset_id):  # a later import revised its rows
            store.undo_import(first.dataset_id, reason="mistake")
        listed = store.imports()
        assert list(listed["import_id"]) == [first.dataset_id, second.dataset_id, revised.dataset_id]
        assert list(listed["rows"]) == [12, 16, 12] and list(listed["inserted"]) == [12, 16, 0]
        result = store.undo_import(revised.dataset_id, reason="the re-publication was withdrawn")
        assert result.deleted == {"incidents": 12} and result.restored == {"incidents": 12}
        assert _fingerprint(store) == states[2]
        assert store.undo_import(second.dataset_id, reason="wrong file").categories_removed == (
            "overlast_jeugd",
        )
        assert _fingerprint(store) == states[1]
        store.undo_import(first.dataset_id, reason="start again")
        with pytest.raises(StoreError, match="already undone"):
            store.undo_import(first.dataset_id, reason="twice")
        with pytest.raises(StoreError, match="no import 'ds-nope'"):
            store.undo_import("ds-nope", reason="unknown")
        listed = store.imports()
        assert listed["undone_at"].notna().all()
        assert listed["undo_reason"].iloc[0] == "start again"
        actions = [r.action for r in store.log.records(limit=10)]
        assert actions.count("undo_import") == 3 and store.log.verify().ok
        assert _fingerprint(store) == states[0]
        deep = check_log(store, deep=True)  # each undo logged the digests of the rows it removed and restored
        assert deep.chain.ok and [t.table for t in deep.tables if not t.ok] == []


def test_a_direct_edit_after_an_undo_is_still_named_by_the_deep_check(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        first = store.import_frames({"incidents": incidents_frame()}, source="politie")
        store.import_frames({"incidents": incidents_frame(count_offset=2)}, source="politie", revise=True)
        store.import_frames({"incidents": incidents_frame(n_areas=4).assign(source="x")}, source="x")
        store.undo_import(store.imports()["import_id"].iloc[-1], reason="wrong file")
        assert first.dataset_id in set(store.imports()["import_id"])
        store._con.execute("UPDATE incidents SET count = count + 1 WHERE area_code = 'BU09170001'")
        deep = check_log(store, deep=True)
        assert [t.table for t in deep.tables if not t.ok] == ["incidents"]


def test_undo_of_an_import_that_a_later_one_repeats_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        first = store.import_frames({"incidents": incidents_frame()}, source="politie")
        again = store.import_frames({"incidents": incidents_frame()}, source="politie")
        with pytest.raises(StoreError, match=f"later import.*{again.dataset_id}"):
            store.undo_import(first.dataset_id, reason="x")
        assert store.undo_import(again.dataset_id, reason="duplicate run").deleted == {"incidents": 0}
        assert store.count("incidents") == 12
        with pytest.raises(StoreError, match="needs a reason"):
            store.undo_import(first.dataset_id, reason=" ")


def test_copy_under_another_source_is_refused_naming_it(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        first = store.import_frames({"incidents": incidents_frame(n_weeks=8)}, source="politie")
        before = _fingerprint(store)
        copy = incidents_frame(n_weeks=8).assign(source="gemeente:excel")
        with pytest.raises(ConflictError) as refused:
            store.import_frames({"incidents": copy}, source="gemeente:excel", file="kopie.xlsx")
        message = str(refused.value)
        assert "kopie.xlsx" in message and "'politie'" in message and first.dataset_id in message
        assert "--also-source" in message and _fingerprint(store) == before
        report = store.import_frames({"incidents": copy}, source="gemeente:excel", also_source=True)
        assert report.inserted == {"incidents": 24}
        # a different measurement of the same cells is accepted without the flag
        other = incidents_frame(n_weeks=8, count_offset=3).assign(source="meldingen")
        assert store.import_frames({"incidents": other}, source="meldingen").inserted == {"incidents": 24}


def test_list_shows_source_file_hash_and_time(tmp_path: Path) -> None:
    path = tmp_path / "inc.csv"
    frame = incidents_frame().assign(period_start=lambda f: f["period_start"].dt.strftime("%Y-%m-%d"))
    frame.to_csv(path, index=False)
    with Store(tmp_path / "s.duckdb") as store:
        report = store.import_file("incidents", path)
        row = store.imports().iloc[0]
    assert row["import_id"] == report.dataset_id and row["file"] == str(path)
    assert row["file_hash"] == report.file_hash and row["source"] == "file:inc.csv"
    age = pd.Timestamp.now("UTC").tz_localize(None) - pd.Timestamp(row["imported_at"])
    assert pd.Timedelta(0) <= age < pd.Timedelta(minutes=5) and row["rows"] == 12


def _events(ids: range) -> pd.DataFrame:
    """Anonymous events with the given numeric ids, inside the RD New bounds."""
    return pd.DataFrame(
        {
            "event_id": pd.Series([f"pol-{i}" for i in ids], dtype="str"),
            "category": "burglary_residential",
            "occurred_at": pd.Timestamp("2024-03-01 12:00") + pd.to_timedelta(list(ids), unit="min"),
            "x": 190_000.0 + pd.Series(list(ids), dtype="float64"),
            "y": 320_000.0,
            "source": "politie",
        }
    )


def _bookkeeping(store: Store) -> list[tuple[object, ...]]:
    return (
        store.read_cursor()
        .execute("SELECT dataset_id, status, event_id FROM import_rows_events ORDER BY ALL")
        .fetchall()
    )


def test_a_first_import_records_one_row_not_its_keys_and_later_imports_undo_exactly(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        nothing = store.import_frames({"events": _events(range(0))}, source="leeg")
        first = store.import_frames({"events": _events(range(1, 501))}, source="politie")
        assert _bookkeeping(store) == [(first.dataset_id, "whole", None)]  # no copy of 500 keys
        after_first = _fingerprint(store)
        second = store.import_frames({"events": _events(range(400, 701))}, source="politie")
        assert second.inserted == {"events": 200}
        statuses = pd.DataFrame(_bookkeeping(store), columns=["dataset", "status", "id"])
        counts = statuses.groupby(["dataset", "status"]).size().to_dict()
        assert counts == {
            (first.dataset_id, "inserted"): 500,  # the whole row turned into the keys it stood for
            (second.dataset_id, "inserted"): 200,
            (second.dataset_id, "present"): 101,
        }
        with pytest.raises(StoreError, match=f"later import.*{second.dataset_id}"):
            store.undo_import(first.dataset_id, reason="x")
        assert store.undo_import(second.dataset_id, reason="wrong file").deleted == {"events": 200}
        assert _fingerprint(store) == after_first
        assert store.undo_import(first.dataset_id, reason="start again").deleted == {"events": 500}
        assert store.count("events") == 0
        again = store.import_frames({"events": _events(range(10, 20))}, source="politie")
        third = store.import_frames({"events": _events(range(20, 30))}, source="politie")
        assert store.undo_import(again.dataset_id, reason="only the first ten").deleted == {"events": 10}
        assert sorted(store.read("events")["event_id"]) == [f"pol-{i}" for i in range(20, 30)]
        assert store.undo_import(third.dataset_id, reason="and the rest").deleted == {"events": 10}
        assert store.undo_import(nothing.dataset_id, reason="empty").deleted == {"events": 0}
        assert store.count("events") == 0
        deep = check_log(store, deep=True)
        assert deep.chain.ok and [t.table for t in deep.tables if not t.ok] == []
        store._con.execute(
            "UPDATE import_undo SET reason = 'forged' WHERE reason = 'empty'"
        )  # a forger's edit
        assert [t.table for t in check_log(store, deep=True).tables if not t.ok] == ["import_undo"]
