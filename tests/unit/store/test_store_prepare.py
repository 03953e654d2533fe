"""Checking a file before the store opens: reader notes reach the user and the provenance, refusals name it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pulsetwin.exceptions import ConflictError, SchemaError
from pulsetwin.store import Store
from pulsetwin.store.io import read_parquet_frame
from pulsetwin.store.prepare import check_file

CSV = (
    "area_code,period_start,freq,category,count,source\n"
    "BU09170101,2024-01-01,W,theft,3,politie Zuid-Limburg é\n"
    "BU09170102,2024-01-01,W,theft,1,politie Zuid-Limburg é\n"
)


def test_gzip_and_cp1252_are_read_and_said(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    path.write_bytes(gzip.compress(CSV.encode("cp1252")))
    checked = check_file("incidents", path)
    assert checked.frames["incidents"]["source"].tolist() == ["politie Zuid-Limburg é"] * 2
    assert checked.notes[0] == "'incidents.csv' is GZIP-compressed: decompressed it before reading"
    assert checked.notes[1].startswith("decoded as Windows-1252 (cp1252): 'incidents.csv' is not valid UTF-8")
    with Store(tmp_path / "s.duckdb") as store:
        store.import_checked(checked)
        details = json.loads(str(store.provenance()["details_json"].iloc[0]))
    assert details["reading"] == list(checked.notes)


def test_dictionary_encoded_parquet_columns_are_read_as_their_values(tmp_path: Path) -> None:
    frame = pd.read_csv(pd.io.common.StringIO(CSV), dtype=str)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name in ("category", "source", "freq"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table.column(name).dictionary_encode())
    path = tmp_path / "incidents.parquet"
    pq.write_table(table, path)
    read = read_parquet_frame(path)
    assert not isinstance(read["category"].dtype, pd.CategoricalDtype)
    assert check_file("incidents", path).frames["incidents"]["category"].tolist() == ["theft", "theft"]


@pytest.mark.parametrize(
    ("content", "what"),
    [(CSV.encode(), "not Parquet"), (b"\x89PNG\r\n\x1a\n" + bytes(100), "a PNG image")],
)
def test_a_parquet_suffix_on_something_else_is_refused_by_name(
    tmp_path: Path, content: bytes, what: str
) -> None:
    path = tmp_path / "incidents.parquet"
    path.write_bytes(content)
    with pytest.raises(SchemaError, match=f"file '{path}': expected a Parquet file; the file is {what}"):
        check_file("incidents", path)


def test_a_conflict_with_stored_rows_names_the_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(CSV, encoding="utf-8")
    second.write_text(CSV.replace(",3,", ",4,"), encoding="utf-8")
    with Store(tmp_path / "s.duckdb") as store:
        store.import_file("incidents", first, source="politie")
        with pytest.raises(ConflictError, match=f"^file '{second}': table 'incidents': 1 rows"):
            store.import_file("incidents", second, source="politie")


def test_an_unknown_table_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    path.write_text(CSV, encoding="utf-8")
    with pytest.raises(SchemaError, match=f"file '{path}': a table to import into.*got 'incident'"):
        check_file("incident", path)
