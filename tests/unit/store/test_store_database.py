"""Store imports are validated, all or nothing, idempotent; conflicts and protected reads are refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from store_helpers import dump_store, incidents_frame, protected_frame

from pulsetwin.exceptions import ConflictError, ParameterError, SchemaError, StoreError
from pulsetwin.schema.validate import validate_table
from pulsetwin.store import Store
from pulsetwin.store.protected import read_protected
from pulsetwin.store.runs import RunKind, RunStatus


def test_import_then_read_returns_the_validated_frame(store: Store) -> None:
    frame = incidents_frame()
    report = store.import_frames({"incidents": frame}, source="test")
    assert report.inserted == {"incidents": 12} and report.already_present == {"incidents": 0}
    expected = validate_table("incidents", frame)
    pd.testing.assert_frame_equal(store.read("incidents"), expected)


def test_reimport_is_idempotent_and_partial_overlap_inserts_only_new_rows(store_path: Path) -> None:
    frame = incidents_frame()
    with Store(store_path) as store:
        store.import_frames({"incidents": frame.iloc[:5]}, source="test")
        report = store.import_frames({"incidents": frame}, source="test")
        assert (report.inserted["incidents"], report.already_present["incidents"]) == (7, 5)
    before = dump_store(store_path)
    with Store(store_path) as store:
        again = store.import_frames({"incidents": frame}, source="test")
        assert again.inserted == {"incidents": 0} and again.already_present == {"incidents": 12}
    after = dump_store(store_path)
    assert after["incidents"] == before["incidents"]
    assert len(after["provenance"]) == len(before["provenance"]) + 1
    assert len(after["log"]) == len(before["log"]) + 1


def test_conflict_lists_first_keys_and_count_and_leaves_store_untouched(store_path: Path) -> None:
    frame = incidents_frame(n_areas=4, n_weeks=4)
    with Store(store_path) as store:
        store.import_frames({"incidents": frame}, source="test")
    before = dump_store(store_path)
    changed = incidents_frame(n_areas=5, n_weeks=4, count_offset=1)  # 16 stored rows now differ, 4 are new
    with Store(store_path) as store, pytest.raises(ConflictError) as caught:
        store.import_frames({"incidents": changed}, source="test")
    message = str(caught.value)
    assert "16 rows" in message and "first 10" in message
    assert "area_code=BU09170000, period_start=2024-01-01, freq=W, category=burglary_residential" in message
    assert "BU09170004" not in message  # new rows are not conflicts
    assert dump_store(store_path) == before


def test_conflict_in_one_table_rolls_back_the_other_tables(store_path: Path) -> None:
    with Store(store_path) as store:
        store.import_frames({"incidents": incidents_frame()}, source="test")
    before = dump_store(store_path)
    covariates = pd.DataFrame(
        {"area_code": ["BU09170000"], "year": [2023], "variable": ["inhabitants"], "value": [1250.0]}
    )
    with Store(store_path) as store, pytest.raises(ConflictError):
        store.import_frames(
            {"covariates": covariates, "incidents": incidents_frame(count_offset=2)}, source="test"
        )
    assert dump_store(store_path) == before


def test_invalid_frame_writes_nothing(store_path: Path) -> None:
    Store(store_path).close()
    before = dump_store(store_path)
    frame = incidents_frame()
    frame.loc[3, "period_start"] = pd.Timestamp("2024-01-03")  # a Wednesday
    with Store(store_path) as store, pytest.raises(SchemaError, match="row 4"):
        store.import_frames({"incidents": frame}, source="test")
    assert dump_store(store_path) == before


def test_protected_is_refused_by_read_and_served_by_read_protected(store: Store) -> None:
    store.import_frames({"protected": protected_frame()}, source="cbs")
    with pytest.raises(StoreError, match=r"read_protected"):
        store.read("protected")
    frame = read_protected(store, actor="auditor")
    assert frame["value"].tolist() == [0.21, 0.35]
    last = store.log.records(limit=1)[0]
    assert (last.actor, last.action, last.subject) == ("auditor", "read_protected", "protected")


def test_import_file_records_sha256_and_row_count(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    frame = incidents_frame()
    frame.assign(period_start=frame["period_start"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    report = store.import_file("incidents", path)
    provenance = store.provenance()
    assert len(provenance) == 1
    row = provenance.iloc[0]
    assert row["file_hash"] == hashlib.sha256(path.read_bytes()).hexdigest() == report.file_hash
    assert row["row_count"] == 12 and row["table_name"] == "incidents"
    assert row["source"] == "file:incidents.csv" and row["file"] == str(path)
    assert store.log.records()[-1].detail["file_hash"] == report.file_hash


def test_new_municipal_categories_are_registered_once(store: Store) -> None:
    frame = incidents_frame().assign(category="overlast_jeugd")
    first = store.import_frames({"incidents": frame}, source="gemeente")
    second = store.import_frames({"incidents": frame.assign(source="wijkteam")}, source="gemeente")
    assert first.new_categories == ("overlast_jeugd",) and second.new_categories == ()
    assert store.categories()["slug"].tolist() == ["overlast_jeugd"]


def test_missing_counts_survive_as_missing(store: Store) -> None:
    frame = incidents_frame().astype({"count": "Int64"})
    frame.loc[2, "count"] = pd.NA
    store.import_frames({"incidents": frame}, source="test")
    counts = store.read("incidents")["count"]
    assert str(counts.dtype) == "Int64" and counts.isna().sum() == 1 and pd.isna(counts.iloc[2])


def test_read_filters_by_value_list_and_date(store: Store) -> None:
    store.import_frames({"incidents": incidents_frame()}, source="test")
    some = store.read("incidents", where={"area_code": ["BU09170000", "BU09170002"], "count": 0})
    assert set(some["area_code"]) <= {"BU09170000", "BU09170002"} and (some["count"] == 0).all()
    week = store.read("incidents", where={"period_start": pd.Timestamp("2024-01-08")})
    assert len(week) == 3 and (week["period_start"] == pd.Timestamp("2024-01-08")).all()
    assert store.read("incidents", where={"area_code": []}).empty
    with pytest.raises(ParameterError, match="'where'"):
        store.read("incidents", where={"nope": 1})


def test_read_only_store_refuses_writes_and_missing_files(store_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store(store_path, read_only=True)
    Store(store_path).close()
    with Store(store_path, read_only=True) as store, pytest.raises(StoreError, match="read-only"):
        store.import_frames({"incidents": incidents_frame()}, source="test")


def test_log_and_unknown_tables_cannot_be_imported(store: Store) -> None:
    with pytest.raises(StoreError, match="cannot be imported"):
        store.import_frames({"log": pd.DataFrame()}, source="test")
    with pytest.raises(SchemaError, match="unknown table"):
        store.import_frames({"nonsense": pd.DataFrame()}, source="test")


def test_runs_are_saved_listed_updated_and_logged(store: Store) -> None:
    run = store.save_run(
        RunKind.FORECAST, model="naive_last", params={"window": 4}, metrics={"crps": 1.25}, data_hash="abc",
        origin=pd.Timestamp("2024-03-04"), freq="W", horizon=8,
    )  # fmt: skip
    assert run.run_id.startswith("forecast-")
    stored = store.get_run(run.run_id)
    assert (stored.params, stored.metrics, stored.status) == ({"window": 4}, {"crps": 1.25}, "done")
    assert stored.origin == pd.Timestamp("2024-03-04") and stored.horizon == 8
    store.set_run_status(run.run_id, RunStatus.BLOCKED)
    assert store.runs()["status"].tolist() == ["blocked"]
    assert [r.action for r in store.log.records()] == ["save_run", "set_run_status"]
    assert store.log.records()[-1].detail == {"from": "done", "to": "blocked"}
    with pytest.raises(StoreError, match="already exists"):
        store.save_run(RunKind.FORECAST, run_id=run.run_id)
    with pytest.raises(StoreError, match="no run"):
        store.get_run("missing")
    assert store.log.verify().ok


def test_unknown_run_kinds_and_statuses_are_refused_by_name(store: Store) -> None:
    with pytest.raises(StoreError, match=r"unknown run kind 'backtest'; expected one of forecast, audit"):
        store.save_run("backtest")  # type: ignore[arg-type]  # what an outside caller might pass
    run = store.save_run(RunKind.FORECAST)
    with pytest.raises(StoreError, match=rf"unknown run status 'superseded' of run '{run.run_id}'"):
        store.set_run_status(run.run_id, "superseded")  # type: ignore[arg-type]
    assert store.get_run(run.run_id).status is RunStatus.DONE


def test_a_stored_run_word_outside_the_vocabulary_is_refused_on_read(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        run = store.save_run(RunKind.AUDIT, status=RunStatus.PASSED)
    with duckdb.connect(str(tmp_path / "s.duckdb")) as raw:  # a newer version (or a hand) wrote another word
        raw.execute("UPDATE runs SET status = 'archived'")
    with Store(tmp_path / "s.duckdb", read_only=True) as store, pytest.raises(StoreError, match="'archived'"):
        store.get_run(run.run_id)


def test_public_export_refuses_protected_and_private_export_is_logged(store: Store, tmp_path: Path) -> None:
    store.import_frames({"protected": protected_frame()}, source="cbs")
    with pytest.raises(StoreError, match="audit-only"):
        store.export("protected", tmp_path / "p.csv", public=True)
    assert not (tmp_path / "p.csv").exists()
    store.export("protected", tmp_path / "p.csv", actor="auditor")
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == "area_code,year,attribute,value"
    assert store.log.records()[-1].action == "export"


def test_the_store_creates_every_table_it_holds_and_reads_distinct_values(store: Store) -> None:
    assert all(store.has_table(t) for t in ("explanations", "privacy_budget", "runs", "provenance"))
    assert all(store.has_table(t) for t in ("users", "api_tokens", "decisions", "kill_switches"))
    assert not hasattr(store, "connection")  # SQL goes through the store's typed accessors
    assert not store.has_table("scratch")
    assert store.distinct("incidents", "freq") == ()
    store.import_frames({"incidents": incidents_frame()}, source="test")
    assert store.distinct("incidents", "freq") == tuple(sorted(incidents_frame()["freq"].unique()))
    with pytest.raises(StoreError, match="no column 'nonsense'"):
        store.distinct("incidents", "nonsense")
    with pytest.raises(StoreError, match="canonical table 'runs'"):
        store.distinct("runs", "status")
