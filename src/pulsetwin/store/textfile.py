"""Read a file that should hold text (CSV) robustly: sniff its real format, then decode it without guessing wrong.

Format: the first bytes name what a file really is. A GZIP stream is decompressed transparently (and noted);
ZIP archives, Excel workbooks, Parquet, GeoPackage/SQLite, images, PDFs and other binary formats are refused
with a message naming the file and the fix; so are bytes that are no text at all (NUL bytes outside UTF-16,
control characters).

Encoding, in this order: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) decides; else UTF-16 without a
mark is recognised by its NUL pattern (noted); else valid UTF-8 is UTF-8; else Windows-1252 when the bytes
decode cleanly and hold no UTF-8 sequences (noted: spreadsheets on Windows save CSV that way); else the file is
refused naming the file, line and byte, with the fix. A file that mixes UTF-8 and Windows-1252 is refused,
never read half wrong. An explicit ``encoding`` (the mapping's ``read.encoding``) overrides the detection.
"""

from __future__ import annotations

import codecs
import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pulsetwin.exceptions import Location, SchemaError

HEAD_BYTES: Final = 65_536
"""Bytes inspected for magic numbers, UTF-16 NUL patterns and control characters."""
CONTROL_SHARE: Final = 0.01
"""More than this share of C0 control bytes (other than tab, CR, LF, FF) in the head: not text."""
UTF16_NUL_SHARE: Final = 0.4
"""UTF-16 without BOM: at least this share of the even (BE) or odd (LE) bytes of the head are NUL."""
FALLBACK_ENCODING: Final = "cp1252"
ENCODING_FIX: Final = (
    "re-save the file as UTF-8 (e.g. in Excel: 'CSV UTF-8'), or, for `pulsetwin import-mapped`, name its "
    "encoding in the mapping as read: {encoding: latin-1}"
)

_MAGIC: Final[tuple[tuple[bytes, str, str], ...]] = (
    # (leading bytes, what the file is, how to fix)
    (b"PAR1", "a Parquet file", "give it the suffix .parquet"),
    (b"SQLite format 3\x00", "a SQLite database or GeoPackage", "give a GeoPackage the suffix .gpkg"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Excel/Office document", "save the sheet as CSV (UTF-8)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "import the data file, not an image of it"),
    (b"\xff\xd8\xff", "a JPEG image", "import the data file, not an image of it"),
    (b"GIF87a", "a GIF image", "import the data file, not an image of it"),
    (b"GIF89a", "a GIF image", "import the data file, not an image of it"),
    (b"%PDF", "a PDF document", "export the table from its source as CSV"),
    (b"BZh", "a BZIP2-compressed file", "decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "an XZ-compressed file", "decompress it first (unxz)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract the CSV from it first"),
    (b"Rar!\x1a\x07", "a RAR archive", "extract the CSV from it first"),
    (b"\x28\xb5\x2f\xfd", "a Zstandard-compressed file", "decompress it first (unzstd)"),
    (b"ARROW1", "an Arrow IPC/Feather file", "convert it to Parquet or CSV"),
)
_ZIP: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_GZIP: Final = b"\x1f\x8b"
_BOMS: Final[tuple[tuple[bytes, str, str], ...]] = (
    # UTF-32 before UTF-16: FF FE 00 00 starts both.
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
_CONTROL_BYTES: Final = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_UTF8_MULTIBYTE: Final = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


@dataclass(frozen=True)
class DecodedText:
    """A file's text with the encoding it was read in and notes on anything done to read it.

    ``notes`` are meant for the user and the provenance record, e.g. "decompressed GZIP" or "decoded as
    Windows-1252 (cp1252): the file is not valid UTF-8".
    """

    text: str
    encoding: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RawBytes:
    """A text file's bytes, decompressed when it was GZIP, with notes on what was done."""

    data: bytes
    notes: tuple[str, ...] = ()


def _refuse(file: str, expected: str, fix: str) -> SchemaError:
    """The one refusal shape of this module: it names the file."""
    return SchemaError(expected, where=Location(file=file), fix=fix)


def sniff_format(head: bytes) -> tuple[str, str] | None:
    """What a known binary format the leading bytes ``head`` reveal, and the fix; None when none is known.

    ZIP archives are told apart from Excel workbooks (both start with ``PK``) by the workbook's part names;
    GZIP is not reported here (:func:`read_file_bytes` decompresses it).
    """
    if head.startswith(_ZIP):
        if b"xl/" in head or b"[Content_Types].xml" in head:
            return (
                "an Excel workbook (.xlsx)",
                "save the sheet as CSV (UTF-8), or import it with `pulsetwin import-mapped` and a mapping",
            )
        return "a ZIP archive", "extract the CSV from the archive and import that file"
    for magic, what, fix in _MAGIC:
        if head.startswith(magic):
            return what, fix
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the head has UTF-16's NUL pattern (ASCII text as two bytes), else None."""
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= UTF16_NUL_SHARE * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) >= UTF16_NUL_SHARE * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _bom_encoding(data: bytes) -> tuple[str, str, int] | None:
    """(codec, label, BOM length) when ``data`` starts with a byte-order mark."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            return codec, label, len(bom)
    return None


def check_binary(data: bytes, *, file: str, expected: str = "a CSV text file") -> None:
    """Refuse ``data`` (a file's, possibly decompressed, bytes) when it is a known binary format or no text.

    Raises
    ------
    SchemaError
        Naming the file, what it really is, and the fix.
    """
    head = data[:HEAD_BYTES]
    known = sniff_format(head)
    if known is not None:
        what, fix = known
        raise _refuse(file, f"expected {expected}; the file is {what}", fix)
    if _bom_encoding(head) is not None and not head.startswith(codecs.BOM_UTF8):
        return  # UTF-16/32: NUL bytes are part of the text
    if _utf16_without_bom(head) is not None:
        return
    controls = sum(head.count(bytes([b])) for b in _CONTROL_BYTES)
    if b"\x00" in data or controls > CONTROL_SHARE * max(len(head), 1):
        position = data.find(b"\x00") if b"\x00" in data else _first_control(head)
        raise _refuse(
            file,
            f"expected {expected}; the file holds binary data, not text (first at byte {position + 1}, line "
            f"{_line_of(data, position)})",
            "check that this is the right file; export the data again as CSV (UTF-8)",
        )


def _first_control(head: bytes) -> int:
    """Offset of the first control byte in ``head`` (0 when there is none)."""
    found = [head.find(bytes([b])) for b in _CONTROL_BYTES]
    return min((f for f in found if f >= 0), default=0)


def read_file_bytes(path: Path, *, expected: str = "a CSV text file") -> RawBytes:
    """The bytes of a text file: GZIP is decompressed (noted); binary formats and garbage are refused.

    Raises
    ------
    SchemaError
        When the file cannot be read, is a known binary format, is a damaged GZIP stream, or holds no text;
        the message names the file.
    """
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _refuse(file, f"a readable file ({error.strerror})", "check the path and permissions") from None
    notes: tuple[str, ...] = ()
    if data.startswith(_GZIP):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise _refuse(
                file, f"expected {expected}; the file is a damaged GZIP stream ({error})", "re-download it"
            ) from None
        notes = (f"'{path.name}' is GZIP-compressed: decompressed it before reading",)
    check_binary(data, file=file, expected=expected)
    return RawBytes(data, notes)


def decode_bytes(data: bytes, *, file: str, encoding: str | None = None) -> DecodedText:
    """Decode a text file's bytes: BOM, then UTF-16 by NUL pattern, then UTF-8, then clean Windows-1252.

    Parameters
    ----------
    data
        The file's bytes (after :func:`read_file_bytes`).
    file
        The file name, quoted in notes and errors.
    encoding
        A Python codec name that overrides the detection (a BOM of that encoding is dropped).

    Raises
    ------
    SchemaError
        When ``encoding`` is unknown or does not decode the bytes, when the file mixes UTF-8 and another
        encoding, or when no candidate decodes it; names the file, line and byte, and the fix.
    """
    if encoding is not None:
        return _decode_declared(data, file, encoding)
    bom = _bom_encoding(data)
    if bom is not None:
        codec, label, size = bom
        text = _strict(data[size:], codec, label, file)
        notes = () if codec == "utf-8" else (f"decoded as {label} (byte-order mark)",)
        return DecodedText(text, codec, notes)
    utf16 = _utf16_without_bom(data[:HEAD_BYTES])
    if utf16 is not None:
        label = "UTF-16 LE" if utf16.endswith("le") else "UTF-16 BE"
        text = _strict(data, utf16, label, file)
        return DecodedText(
            text, utf16, (f"decoded as {label}: no byte-order mark, recognised by its NUL bytes",)
        )
    if data.isascii():
        return DecodedText(data.decode("ascii"), "utf-8")
    try:
        return DecodedText(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as error:
        utf8_error = error
    line, byte = _line_of(data, utf8_error.start), data[utf8_error.start]
    if _UTF8_MULTIBYTE.search(data) is not None:
        raise _refuse(
            file,
            f"text in one encoding; the file mixes UTF-8 with another encoding (line {line}: byte "
            f"0x{byte:02X} is not UTF-8, while other lines hold UTF-8 characters)",
            "re-save the whole file as UTF-8 from the program that made it",
        )
    try:
        text = data.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError as error:
        raise _refuse(
            file,
            f"text in UTF-8 or Windows-1252; byte 0x{data[error.start]:02X} on line "
            f"{_line_of(data, error.start)} is valid in neither",
            ENCODING_FIX,
        ) from None
    return DecodedText(
        text,
        FALLBACK_ENCODING,
        (
            f"decoded as Windows-1252 (cp1252): '{Path(file).name}' is not valid UTF-8 (byte 0x{byte:02X} on "
            f"line {line})",
        ),
    )


def _decode_declared(data: bytes, file: str, encoding: str) -> DecodedText:
    """Decode with a declared encoding; a BOM of the same family is dropped."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise _refuse(
            file,
            f"a known text encoding; got '{encoding}'",
            "use a Python codec name such as utf-8, utf-16, cp1252 or latin-1",
        ) from None
    bom = _bom_encoding(data)
    size = bom[2] if bom is not None and bom[0].split("-")[:2] == codec.split("-")[:2] else 0
    text = _strict(data[size:], codec, encoding, file)
    return DecodedText(text.removeprefix("\ufeff"), codec, (f"decoded as {encoding} (declared)",))


def _strict(data: bytes, codec: str, label: str, file: str) -> str:
    """Decode strictly; a failure is a SchemaError naming the file, line and byte."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        raise _refuse(
            file,
            f"text in {label}; byte 0x{data[error.start]:02X} on line {_line_of(data, error.start)} is not "
            f"valid {label}",
            ENCODING_FIX,
        ) from None


def _line_of(data: bytes, offset: int) -> int:
    """1-based line number of byte ``offset``."""
    return data.count(b"\n", 0, offset) + 1


def read_text(path: Path, *, encoding: str | None = None, expected: str = "a CSV text file") -> DecodedText:
    """Read a text file whole: sniff (GZIP decompressed), then decode (see :func:`decode_bytes`).

    Raises
    ------
    SchemaError
        From :func:`read_file_bytes` and :func:`decode_bytes`; every message names the file.
    """
    raw = read_file_bytes(path, expected=expected)
    decoded = decode_bytes(raw.data, file=str(path), encoding=encoding)
    return DecodedText(decoded.text, decoded.encoding, raw.notes + decoded.notes)
