"""Revisions: refused by default; with revise=True replaced atomically, logged old -> new, idempotent."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given, settings
from store_helpers import dump_store, incidents_frame, protected_frame

from pulsetwin.exceptions import ConflictError, ParameterTypeError, SchemaError
from pulsetwin.store import Store, importing
from pulsetwin.store.protected import read_protected

KEY = ["area_code", "period_start", "freq", "category", "source"]


def _republished(frame: pd.DataFrame, area: str, delta: int) -> pd.DataFrame:
    """The same rows with the counts of one area corrected by ``delta``."""
    out = frame.copy()
    out.loc[out["area_code"] == area, "count"] += delta
    return out


def test_default_refuses_with_the_precise_message_and_writes_nothing(store_path: Path) -> None:
    stored = incidents_frame()
    with Store(store_path) as store:
        store.import_frames({"incidents": stored}, source="politie")
    before = dump_store(store_path)
    with Store(store_path) as store, pytest.raises(ConflictError) as caught:
        store.import_frames({"incidents": _republished(stored, "BU09170001", 2)}, source="politie")
    assert str(caught.value) == (
        "table 'incidents': 4 rows have keys already stored with other values (first 4: "
        + "; ".join(
            f"area_code=BU09170001, period_start=2024-01-{d:02d}, freq=W, category=burglary_residential, "
            "source=politie"
            for d in (1, 8, 15, 22)
        )
        + "). Nothing was imported. Fix: correct the file if it is wrong, or, when the source re-published "
        "corrected values, pass --revise to accept a re-publication (revise=True in Python; the old values "
        "are logged)"
    )
    assert dump_store(store_path) == before


def test_revise_replaces_changed_rows_keeps_the_rest_and_logs_old_and_new(store_path: Path) -> None:
    stored = incidents_frame()
    extra = stored.iloc[:1].assign(period_start=pd.Timestamp("2024-02-05"), count=9)
    incoming = pd.concat([_republished(stored, "BU09170001", 2).iloc[4:8], extra], ignore_index=True)
    with Store(store_path) as store:
        store.import_frames({"incidents": stored}, source="politie")
        report = store.import_frames({"incidents": incoming}, source="politie", revise=True)
        result = store.read("incidents")
        records = store.log.records()
        provenance = store.provenance()
        assert store.log.verify().ok
    assert report.revised == {"incidents": 4} and report.inserted == {"incidents": 1}
    assert report.already_present == {"incidents": 0}
    expected = pd.concat([_republished(stored, "BU09170001", 2), extra]).sort_values(KEY, ignore_index=True)
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)
    revise, imported = records[-2], records[-1]
    assert (revise.action, revise.subject, imported.action) == ("revise", "incidents", "import")
    detail = revise.detail
    assert detail["revised"] == 4 and detail["changed_columns"] == {"count": 4}
    assert detail["dataset_id"] == report.dataset_id and detail["source"] == "politie"
    old = stored.loc[stored["area_code"] == "BU09170001", "count"].tolist()
    assert [(c["old"], c["new"]) for c in detail["changes"]] == [
        ({"count": n}, {"count": n + 2}) for n in old
    ]
    assert detail["changes"][0]["key"] == (
        "area_code=BU09170001, period_start=2024-01-01, freq=W, category=burglary_residential, source=politie"
    )
    assert imported.detail["tables"]["incidents"] == {"rows": 5, "inserted": 1, "revised": 4}
    notes = provenance.iloc[-1]["details_json"]
    assert '"revise":true' in notes and '"revised":4' in notes


def test_a_bad_row_in_a_revising_import_leaves_everything_untouched(store_path: Path) -> None:
    stored = incidents_frame()
    with Store(store_path) as store:
        store.import_frames({"incidents": stored}, source="politie")
    before = dump_store(store_path)
    incoming = _republished(stored, "BU09170000", 1)
    incoming.loc[11, "period_start"] = pd.Timestamp("2024-01-03")  # a Wednesday
    with Store(store_path) as store, pytest.raises(SchemaError, match="row 12"):
        store.import_frames({"incidents": incoming}, source="politie", revise=True)
    assert dump_store(store_path) == before


def test_a_failure_after_the_replacement_rolls_the_revision_back(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = incidents_frame()
    with Store(store_path) as store:
        store.import_frames({"incidents": stored}, source="politie")
    before = dump_store(store_path)

    def fail(*args: object) -> tuple[str, ...]:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(importing, "_register_categories", fail)
    with Store(store_path) as store, pytest.raises(RuntimeError, match="disk gone"):
        store.import_frames({"incidents": _republished(stored, "BU09170000", 1)}, source="p", revise=True)
    assert dump_store(store_path) == before


def test_a_second_identical_revision_changes_nothing_and_logs_zero(store_path: Path) -> None:
    stored = incidents_frame()
    incoming = _republished(stored, "BU09170002", 3)
    with Store(store_path) as store:
        store.import_frames({"incidents": stored}, source="politie")
        first = store.import_frames({"incidents": incoming}, source="politie", revise=True)
    after_first = dump_store(store_path)
    with Store(store_path) as store:
        second = store.import_frames({"incidents": incoming}, source="politie", revise=True)
        last = store.log.records(limit=2)
        assert store.log.verify().ok
    assert first.revised == {"incidents": 4} and second.revised == {"incidents": 0}
    assert second.already_present == {"incidents": 12} and second.inserted == {"incidents": 0}
    assert dump_store(store_path)["incidents"] == after_first["incidents"]
    assert last[0].action == "revise" and last[0].detail["revised"] == 0 and last[0].detail["changes"] == []


def test_withheld_counts_can_be_revised_to_a_number(store: Store) -> None:
    stored = incidents_frame().astype({"count": "Int64"})
    stored.loc[0, "count"] = pd.NA
    store.import_frames({"incidents": stored}, source="politie")
    published = stored.assign(count=stored["count"].fillna(7))
    report = store.import_frames({"incidents": published}, source="politie", revise=True)
    assert report.revised == {"incidents": 1}
    assert store.read("incidents")["count"].iloc[0] == 7
    change = store.log.records(limit=2)[0].detail["changes"][0]
    assert (change["old"], change["new"]) == ({"count": None}, {"count": 7})


def test_long_text_is_logged_as_a_hash_and_audit_only_values_not_at_all(store: Store) -> None:
    square = "POLYGON ((190000 320000, 190100 320000, 190100 320100, 190000 320100, 190000 320000))"
    areas = pd.DataFrame(
        {"area_code": ["BU09170000"], "name": ["Centrum"], "level": ["buurt"], "parent_code": ["WK091700"],
         "geometry": [square]}
    )  # fmt: skip
    store.import_frames({"areas": areas, "protected": protected_frame()}, source="cbs")
    moved = areas.assign(geometry=square.replace("190100", "190200"), name="Centrum-Noord")
    shares = protected_frame().assign(value=[0.22, 0.35])
    report = store.import_frames({"areas": moved, "protected": shares}, source="cbs", revise=True)
    assert report.revised == {"areas": 1, "protected": 1}
    by_table = {r.subject: r.detail for r in store.log.records() if r.action == "revise"}
    area_change = by_table["areas"]["changes"][0]
    assert area_change["old"]["name"] == "Centrum" and area_change["new"]["name"] == "Centrum-Noord"
    assert area_change["old"]["geometry"].startswith("sha256:") and "chars" in area_change["new"]["geometry"]
    assert by_table["protected"]["changes"] == [
        {"key": "area_code=BU09170000, year=2023, attribute=migration_background_share", "changed": ["value"]}
    ]
    assert "0.22" not in str(by_table["protected"]) and "0.21" not in str(by_table["protected"])
    assert read_protected(store)["value"].tolist() == [0.22, 0.35]


def test_revise_must_be_a_bool(store: Store) -> None:
    with pytest.raises(
        ParameterTypeError, match=r"'revise' parameter of Store\.import_frames must be True or False"
    ):
        store.import_frames({"incidents": incidents_frame()}, source="p", revise="yes")  # type: ignore[arg-type]


@settings(max_examples=12, deadline=None)
@given(
    stored=st.dictionaries(st.integers(0, 7), st.integers(0, 3), min_size=1, max_size=8),
    incoming=st.dictionaries(st.integers(0, 7), st.integers(0, 3), min_size=1, max_size=8),
)
def test_revise_equals_incoming_over_stored(stored: dict[int, int], incoming: dict[int, int]) -> None:
    def frame(counts: dict[int, int]) -> pd.DataFrame:
        base = incidents_frame(n_areas=8, n_weeks=1)
        return base.iloc[sorted(counts)].assign(count=[counts[i] for i in sorted(counts)])

    with Store(":memory:") as store:
        store.import_frames({"incidents": frame(stored)}, source="p")
        report = store.import_frames({"incidents": frame(incoming)}, source="p", revise=True)
        result = store.read("incidents")["count"].tolist()
        assert store.log.verify().ok
    assert result == [v for _, v in sorted((stored | incoming).items())]
    changed = sum(1 for k, v in incoming.items() if k in stored and stored[k] != v)
    assert report.revised == {"incidents": changed}
    assert report.inserted == {"incidents": len(incoming.keys() - stored.keys())}
    assert report.already_present == {"incidents": len(incoming) - changed - report.inserted["incidents"]}
