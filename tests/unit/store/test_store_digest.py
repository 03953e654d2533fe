"""Row digests: additive and order-free; ``verify --deep`` names a table edited outside PulseTwin."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import incidents_frame

from pulsetwin.exceptions import StoreError
from pulsetwin.store import Store
from pulsetwin.store.digest import (
    EMPTY,
    Digest,
    RowKey,
    digest_rows,
    expected_digests,
    row_key_text,
    set_row_key,
    table_digest,
)
from pulsetwin.store.logcheck import check_log
from pulsetwin.store.runs import RunKind, RunStatus

KEY = bytes(range(32))
ROWS = st.lists(st.tuples(st.integers(-5, 5), st.text(max_size=3), st.floats(allow_nan=False)), max_size=12)


def _keyed(key: bytes = KEY) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that digests under ``key``."""
    con = duckdb.connect()
    set_row_key(con, key)
    return con


def _digest(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, str, float]]) -> Digest:
    con.execute("CREATE OR REPLACE TABLE t (a BIGINT, b VARCHAR, c DOUBLE)")
    if rows:
        con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    return table_digest(con, "t")


@settings(max_examples=15, deadline=None)
@given(first=ROWS, second=ROWS)
def test_the_digest_of_a_union_is_the_sum_and_ignores_order(
    first: list[tuple[int, str, float]], second: list[tuple[int, str, float]]
) -> None:
    with _keyed() as con:
        whole, a, b = _digest(con, first + second), _digest(con, first), _digest(con, second)
        assert whole == a + b and whole - b == a and whole.rows == len(first) + len(second)
        assert _digest(con, list(reversed(second + first))) == whole
        assert Digest.from_json(whole.to_json()) == whole
        assert _digest(con, []) == EMPTY


def test_changing_one_value_changes_the_digest() -> None:
    with _keyed() as con:
        assert _digest(con, [(1, "x", 0.5)]) != _digest(con, [(1, "x", 0.25)])
        assert _digest(con, [(1, "", 0.5)]) != digest_rows(
            con, "SELECT 1::BIGINT, NULL::VARCHAR, 0.5::DOUBLE"
        )


def test_a_row_hash_is_the_md5_of_the_row_key_and_its_values_as_a_json_array() -> None:
    # Known answer computed outside DuckDB: pins the format, so the digest of the same rows stays the same.
    rows = [(1, "x", 0.5), (-3, 'quote " and \\ and \u00e9', -0.25)]
    texts = ['[1,"x",0.5]', '[-3,"quote \\" and \\\\ and \u00e9",-0.25]']
    prefix = hmac.new(KEY, b"pulsetwin row digest", hashlib.sha256).hexdigest()[:32]
    assert row_key_text(KEY) == prefix
    sums = [0, 0]
    for text in texts:
        number = int.from_bytes(hashlib.md5((prefix + text).encode("utf-8")).digest(), "little")
        sums = [(sums[0] + (number >> 64)) % 2**64, (sums[1] + number % 2**64) % 2**64]
    with _keyed() as con:
        assert _digest(con, rows) == Digest(2, (sums[0], sums[1]))


TEXTS = st.text(alphabet=st.sampled_from(["a", ",", '"', "\\", "[", "]", "\x1f", ":", "1"]), max_size=4)


@settings(max_examples=25, deadline=None)
@given(first=st.tuples(TEXTS, st.none() | TEXTS), second=st.tuples(TEXTS, st.none() | TEXTS))
def test_rows_that_differ_digest_differently_even_when_their_text_runs_together(
    first: tuple[str, str | None], second: tuple[str, str | None]
) -> None:
    # ("a,", "b") and ("a", ",b"), or "" and NULL, must not meet: the encoding keeps value boundaries.
    with _keyed() as con:
        digests = [digest_rows(con, "SELECT ?::VARCHAR, ?::VARCHAR", list(row)) for row in (first, second)]
    assert (digests[0] == digests[1]) == (first == second)


def test_the_same_rows_digest_differently_under_another_key_and_not_without_one() -> None:
    rows = [(1, "x", 0.5), (2, "y", 0.25)]
    with _keyed() as con, _keyed(bytes(32)) as other, duckdb.connect() as bare:
        assert _digest(con, rows) != _digest(other, rows)
        assert _digest(con, rows).rows == 2
        with pytest.raises(StoreError, match="no row-digest key"):
            _digest(bare, rows)


def test_unkeyed_digests_of_an_older_log_and_another_key_are_refused_with_a_clear_message() -> None:
    change = {"t": {"state": {"rows": 1, "sum": "0" * 32}}}
    key = RowKey("a" * 16, Path("s.duckdb.digest.key"))
    assert expected_digests([(3, {"digests": change, "digest_key": "a" * 16})], key)["t"][1] == 3
    with pytest.raises(
        StoreError, match=r"record 3 carries unkeyed row digests.*before row digests were keyed.*rekey"
    ):
        expected_digests([(3, {"digests": change})], key)
    with pytest.raises(StoreError, match=r"made with key b{16}.*s\.duckdb\.digest\.key.*replaced"):
        expected_digests([(3, {"digests": change, "digest_key": "b" * 16})], key)
    with pytest.raises(StoreError, match=r"key file .* is missing"):
        expected_digests([(3, {"digests": change, "digest_key": "a" * 16})], RowKey(None, key.path))


def test_the_deep_check_refuses_a_store_opened_with_another_or_without_its_key_file(store_path: Path) -> None:
    _populate(store_path)
    key_file = store_path.with_name(store_path.name + ".digest.key")
    assert key_file.is_file() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    secret = row_key_text(bytes.fromhex(key_file.read_text().strip())).encode()
    assert secret not in store_path.read_bytes()  # the key never reaches the store file
    other = store_path.with_name("other.key")
    with (
        Store(store_path, read_only=True, digest_key=other) as store,
        pytest.raises(StoreError, match=r"key file .*other\.key' is missing"),
    ):
        check_log(store, deep=True)
    with (
        Store(store_path, digest_key=other) as store,  # writable: creates a new key
        pytest.raises(StoreError, match="replaced or is the wrong one"),
    ):
        check_log(store, deep=True)
    with Store(store_path, read_only=True) as store:
        assert check_log(store, deep=True).ok


def test_a_digest_of_the_former_sha256_form_is_refused_with_a_clear_message() -> None:
    with pytest.raises(StoreError, match="older PulseTwin"):
        Digest.from_json({"rows": 1, "sum": "0" * 64})


def _forecasts(run_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": run_id, "model": "naive_last", "area_code": ["BU09170000", "BU09170001"],
            "category": "burglary_residential", "period_start": pd.to_datetime(["2024-02-05", "2024-02-05"]),
            "mean": [1.0, 2.0], "q05": [0.0, 0.0], "q50": [1.0, 2.0], "q95": [3.0, 5.0],
        }
    )  # fmt: skip


def _populate(path: Path) -> None:
    frame = incidents_frame()
    with Store(path) as store:
        store.import_frames({"incidents": frame.iloc[:6]}, source="first")
        store.import_frames({"incidents": frame}, source="second")  # 6 rows already there, 6 new
        revised = frame.assign(count=frame["count"] + 1).iloc[:2]
        store.import_frames({"incidents": revised}, source="corrected", revise=True)
        run = store.save_run(RunKind.FORECAST, model="naive_last")
        store.import_frames({"forecasts": _forecasts(run.run_id)}, source=f"run:{run.run_id}")
        store.set_run_status(run.run_id, RunStatus.BLOCKED)


def _deep(path: Path) -> dict[str, str]:
    with Store(path, read_only=True) as store:
        checked = check_log(store, deep=True)
    return {t.table: t.reason for t in checked.tables if not t.ok}


def test_a_store_written_through_pulsetwin_passes_the_deep_check(store_path: Path) -> None:
    _populate(store_path)
    with Store(store_path, read_only=True) as store:
        checked = check_log(store, deep=True)
        records = store.log.records()
    assert checked.ok and checked.unanchored == 0
    verdicts = {t.table: t for t in checked.tables}
    assert verdicts["incidents"].ok and verdicts["incidents"].stored.rows == 12
    assert verdicts["forecasts"].stored.rows == 2 and verdicts["runs"].stored.rows == 1
    imports = [r for r in records if r.action == "import"]
    assert imports[1].digests["incidents"]["added"]["rows"] == 6  # only the new rows
    assert imports[2].digests["incidents"]["removed"]["rows"] == 2 and "digests" not in imports[2].detail


@pytest.mark.parametrize(
    ("sql", "table", "words"),
    [
        (
            "UPDATE incidents SET count = count + 1 WHERE area_code = 'BU09170001'",
            "incidents",
            "content differs",
        ),
        (
            "DELETE FROM incidents WHERE area_code = 'BU09170002'",
            "incidents",
            "holds 8 rows where the log accounts for 12",
        ),
        ("UPDATE forecasts SET mean = 0.1 WHERE area_code = 'BU09170001'", "forecasts", "content differs"),
        ("UPDATE runs SET status = 'done'", "runs", "content differs"),
        (
            "DELETE FROM provenance WHERE source = 'first'",
            "provenance",
            "holds 3 rows where the log accounts for 4",
        ),
        (
            "INSERT INTO areas VALUES ('BU09179999', 'x', 'buurt', '', NULL)",
            "areas",
            "no logged write accounts",
        ),
    ],
)
def test_a_direct_edit_of_a_table_is_named_by_the_deep_check(
    store_path: Path, sql: str, table: str, words: str
) -> None:
    _populate(store_path)
    with duckdb.connect(str(store_path)) as con:
        con.execute(sql)
    failed = _deep(store_path)
    assert list(failed) == [table] and words in failed[table] and f"table '{table}'" in failed[table]
