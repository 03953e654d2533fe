"""Robust text reading: real format by magic bytes, GZIP decompressed, encodings detected or refused by name."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.exceptions import SchemaError
from pulsetwin.store.textfile import decode_bytes, read_file_bytes, read_text, sniff_format

CSV = "area_code,name\nBU09170101,Heerlen-Centrum\nBU09170102,Caumerveld Één\n"


def _write(tmp_path: Path, data: bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "encoding", "note"),
    [
        (CSV.encode("utf-8"), "utf-8", None),
        (CSV.encode("utf-8-sig"), "utf-8", None),
        (b"\xff\xfe" + CSV.encode("utf-16-le"), "utf-16-le", "UTF-16 LE (byte-order mark)"),
        (b"\xfe\xff" + CSV.encode("utf-16-be"), "utf-16-be", "UTF-16 BE (byte-order mark)"),
        (CSV.encode("utf-32"), "utf-32-le", "UTF-32 LE"),
        (CSV.encode("utf-16-le"), "utf-16-le", "no byte-order mark"),
        (CSV.encode("utf-16-be"), "utf-16-be", "no byte-order mark"),
        (CSV.encode("cp1252"), "cp1252", "Windows-1252"),
    ],
)
def test_detected_encodings_give_the_same_text(
    tmp_path: Path, data: bytes, encoding: str, note: str | None
) -> None:
    decoded = read_text(_write(tmp_path, data))
    assert decoded.text == CSV
    assert decoded.encoding == encoding
    if note is None:
        assert decoded.notes == ()
    else:
        assert len(decoded.notes) == 1 and note in decoded.notes[0]


def test_cp1252_note_names_the_file_and_line(tmp_path: Path) -> None:
    decoded = read_text(_write(tmp_path, CSV.encode("cp1252"), "wijken.csv"))
    assert "'wijken.csv' is not valid UTF-8" in decoded.notes[0]
    assert "line 3" in decoded.notes[0]


def test_gzip_is_decompressed_and_noted(tmp_path: Path) -> None:
    decoded = read_text(_write(tmp_path, gzip.compress(CSV.encode("utf-8")), "x.csv"))
    assert decoded.text == CSV
    assert decoded.notes == ("'x.csv' is GZIP-compressed: decompressed it before reading",)


def test_damaged_gzip_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, gzip.compress(CSV.encode() * 50)[:40])
    with pytest.raises(SchemaError, match=r"file '.*data\.csv'.*damaged GZIP"):
        read_file_bytes(path)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _parquet() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2]}).to_parquet(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (_zip({"data.csv": CSV.encode()}), "a ZIP archive"),
        (_zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>"}), "an Excel workbook"),
        (_parquet(), "a Parquet file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "a PNG image"),
        (b"SQLite format 3\x00" + bytes(200), "a SQLite database or GeoPackage"),
        (b"%PDF-1.7\n" + bytes(range(256)), "a PDF document"),
    ],
)
def test_binary_formats_are_refused_by_name(tmp_path: Path, data: bytes, what: str) -> None:
    path = _write(tmp_path, data, "meldingen.csv")
    with pytest.raises(SchemaError, match=f"file '{tmp_path}/meldingen.csv'.*the file is {what}.*Fix:"):
        read_text(path)


def test_binary_garbage_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, b"area_code,count\nBU09170101,3\n\x00\x01\x02\x03garbage")
    with pytest.raises(SchemaError, match=r"data\.csv.*binary data, not text \(first at byte 30, line 3\)"):
        read_text(path)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=64, max_size=512))
def test_random_bytes_never_escape_as_anything_but_text_or_a_schema_error(data: bytes) -> None:
    try:
        decoded = decode_bytes(data, file="random.csv")
    except SchemaError as error:
        assert "random.csv" in str(error)
    else:
        assert decoded.encoding in ("utf-8", "cp1252", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="cp1252", exclude_categories=("Cc", "Cs")), max_size=200))
def test_utf8_round_trips_whatever_the_text(text: str) -> None:
    decoded = decode_bytes(text.encode("utf-8"), file="t.csv")
    assert decoded.text == text
    assert decoded.encoding == "utf-8"


def test_mixed_utf8_and_cp1252_is_refused(tmp_path: Path) -> None:
    data = "naam\nCaumerveld Één\n".encode() + "Hoensbroek café\n".encode("cp1252")
    with pytest.raises(SchemaError, match=r"mixes UTF-8 with another encoding \(line 3: byte 0xE9"):
        read_text(_write(tmp_path, data))


def test_bytes_undefined_in_cp1252_are_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"byte 0x81 on line 2 is valid in neither.*read: \{encoding"):
        read_text(_write(tmp_path, b"naam\nab\x81cd\n"))


def test_declared_encoding_overrides_detection(tmp_path: Path) -> None:
    data = "naam\nMolenberg ±\n".encode("latin-1")
    decoded = read_text(_write(tmp_path, data), encoding="latin-1")
    assert decoded.text == "naam\nMolenberg ±\n"
    assert decoded.encoding == "iso8859-1"
    assert decoded.notes == ("decoded as latin-1 (declared)",)


def test_declared_encoding_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"data\.csv.*text in utf-8; byte 0xE9 on line 2"):
        read_text(_write(tmp_path, "naam\ncafé\n".encode("cp1252")), encoding="utf-8")
    with pytest.raises(SchemaError, match=r"a known text encoding; got 'klingon'"):
        read_text(_write(tmp_path, b"naam\n"), encoding="klingon")


def test_declared_utf16_drops_its_bom(tmp_path: Path) -> None:
    decoded = read_text(_write(tmp_path, CSV.encode("utf-16")), encoding="utf-16")
    assert decoded.text == CSV


def test_sniff_format_leaves_text_alone() -> None:
    assert sniff_format(CSV.encode()) is None
    assert sniff_format(b"PK\x03\x04rest") == (
        "a ZIP archive",
        "extract the CSV from the archive and import that file",
    )


def test_missing_file_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"nope\.csv.*a readable file"):
        read_file_bytes(tmp_path / "nope.csv")
