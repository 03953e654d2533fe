"""What the distinct text values of a column reveal: the PII guard's content rules and their share thresholds.

Specific patterns refuse a column on one hit, ambiguous ones by the share of distinct values that match, and
every value is also checked on its own for a BSN, a person's name or a birth date (the rules are set out in
:mod:`pulsetwin.schema.pii`). Regexes run through pyarrow's RE2 on the distinct values only.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pulsetwin.schema.pii_patterns import (
    BASE64_BLOB,
    BASE64_MEDIA,
    BINARY_CHARACTER,
    BIRTH_IN_TEXT,
    BIRTH_WORDS,
    BSN_TOKEN,
    CBS_CODE,
    DATA_URI,
    DATE_VALUE,
    EMAIL,
    GIVEN_NAME,
    HEX_ID,
    HEX_ONLY,
    MAGIC_PREFIXES,
    PERSON_NAME,
    PERSON_NAME_IN_TEXT,
    PHONE_IN_TEXT,
    PHONE_NORMALISED,
    PLACE_ENDING,
    PLAIN_BY_KIND,
    PLAIN_ID,
    PLATE,
    PLATE_NO_DASH,
    POSTCODE_NUMBER,
    STREET_NUMBER,
    STREET_NUMBER_EN,
    WKT,
)

BSN_MIN_VALID: Final = 3
BSN_SHARE: Final = 0.5
NAME_SHARE: Final = 0.5
GIVEN_NAME_SHARE: Final = 0.8
WEAK_SHARE: Final = 0.5
FREE_TEXT_CHARS: Final = 80
FREE_TEXT_WORDS: Final = 12
EXEMPT_FREE_TEXT: Final = frozenset({"geometry", "geom", "wkt", "detail_json"})


def bsn_valid(numbers: np.ndarray) -> np.ndarray:
    """Vectorised BSN 11-check on non-negative integers below 10**9 (8-digit ones zero-padded).

    Weights 9, 8, ..., 2 for the first eight digits and -1 for the last; valid when the weighted sum is
    divisible by 11 and not 0.
    """
    values = np.asarray(numbers, dtype=np.int64)
    total = np.zeros(values.shape, dtype=np.int64)
    rest = values.copy()
    for weight in (-1, 2, 3, 4, 5, 6, 7, 8, 9):
        total += weight * (rest % 10)
        rest //= 10
    return (total % 11 == 0) & (total != 0) & (values >= 0) & (values < 10**9)


def bsn_column(numbers: np.ndarray, total: int) -> np.ndarray | None:
    """Hits (over ``numbers``) when the column is decided to hold BSNs, else None."""
    candidate = (numbers >= 10**7) & (numbers < 10**9)
    if total == 0 or candidate.sum() < max(BSN_MIN_VALID, WEAK_SHARE * total):
        return None
    valid = candidate & bsn_valid(np.where(candidate, numbers, 0))
    if valid.sum() >= BSN_MIN_VALID and valid.sum() > BSN_SHARE * candidate.sum():
        return valid
    return None


def single_bsns(numbers: np.ndarray) -> np.ndarray | None:
    """Hits for single valid BSNs among distinct integers that are mostly no 8/9-digit numbers, else None."""
    nine = (numbers >= 10**8) & (numbers < 10**9)
    numeric = ((numbers >= 10**7) & (numbers < 10**9)).sum()
    if not nine.any() or numeric >= max(BSN_MIN_VALID, WEAK_SHARE * len(numbers)):
        return None
    hits = nine & bsn_valid(np.where(nine, numbers, 0))
    return hits if hits.any() else None


def _flags(found: pd.Series) -> np.ndarray:
    """A writable boolean array from a (possibly missing-valued) boolean Series."""
    return np.array(found.fillna(False).to_numpy(dtype=bool), dtype=bool)


def _anchored(pattern: str) -> str:
    """Wrap a pattern for a full match, keeping leading inline flags such as ``(?i)`` in front."""
    flags = re.match(r"\(\?[a-z]+\)", pattern)
    head = flags.group(0) if flags else ""
    return f"{head}^(?:{pattern[len(head) :]})$"


def _match(
    values: pd.Series,
    pattern: str,
    where: np.ndarray | None = None,
    *,
    search: bool = False,
    literal: bool = False,
) -> np.ndarray:
    """Boolean array: does each value (optionally only those in ``where``) match ``pattern`` (RE2 syntax).

    Calls pyarrow's RE2 directly: the same engine pandas uses for str columns, without re-parsing the
    pattern in Python on every call. ``literal`` looks for ``pattern`` as plain text anywhere in the value.
    """
    hits = np.zeros(len(values), dtype=bool)
    if where is not None and not where.any():
        return hits
    text = pa.array(values, type=pa.large_string())
    everything = where is None or bool(where.all())
    if not everything:
        text = text.filter(pa.array(where))
    if literal:
        found = pc.match_substring(text, pattern=pattern)
    else:
        found = pc.match_substring_regex(text, pattern=pattern if search else _anchored(pattern))
    hits[slice(None) if everything else where] = np.asarray(
        found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool
    )
    return hits


def _payloads(values: pd.Series, length: np.ndarray, spaces: np.ndarray) -> np.ndarray:
    """Media magic bytes, data URIs and base64 blobs (hits over the distinct values)."""
    prefix = values.str.slice(0, 2).isin({p[:2] for p in MAGIC_PREFIXES}).pipe(_flags)
    hits = np.zeros(len(values), dtype=bool)
    if prefix.any():
        # A header alone is not a payload: an id such as 'BM6-0042' starts like a bitmap. Binary decoded as
        # text carries control bytes (NUL, C1) or replacement characters; printable text never does.
        candidates = values[prefix]
        header = candidates.str.startswith(MAGIC_PREFIXES).pipe(_flags)
        hits[prefix] = header & candidates.str.contains(BINARY_CHARACTER, regex=True).pipe(_flags)
    hits |= _match(values, DATA_URI, length > 20, search=True)
    long_token = (length >= 120) & (spaces == 0)
    hits |= _match(values, BASE64_BLOB, long_token) & ~_match(values, HEX_ONLY, long_token)
    hits |= _match(values, BASE64_MEDIA, length >= 24)
    return hits


def _phones(values: pd.Series, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(strong, bare) phone-number hits: formatted ones (+31, separators) and bare 10-digit ones."""
    mobile = np.zeros(len(values), dtype=bool)
    for marker in ("06", "+31", "0031"):
        mobile[candidate] |= values[candidate].str.contains(marker, regex=False).pipe(_flags)
    formatted = _match(values, PHONE_IN_TEXT, mobile, search=True)
    candidate = candidate & values.str.slice(0, 1).isin(["+", "0", "("]).pipe(_flags)
    subset = values[candidate]
    compact = subset.str.replace(" ", "").str.replace("-", "").str.replace("(", "").str.replace(")", "")
    normalised = np.zeros(len(values), dtype=bool)
    separated = np.zeros(len(values), dtype=bool)
    normalised[candidate] = _match(compact.str.replace(".", ""), PHONE_NORMALISED)
    separated[candidate] = _match(subset, r"[ \t\r\n().-]|^[+]|^00", search=True)
    return formatted | (normalised & separated), normalised & ~separated


def _bsns(values: pd.Series, length: np.ndarray, has_digit: np.ndarray) -> np.ndarray | None:
    """BSN hits when the column is decided to hold BSNs (see the module rule), else None."""
    digits_only = _match(values, r"[0-9]{8,9}", (length >= 8) & (length <= 9) & has_digit)
    if not digits_only.any():
        return None
    numbers = np.full(len(values), -1, dtype=np.int64)
    numbers[digits_only] = values[digits_only].astype("int64").to_numpy(dtype=np.int64)
    return bsn_column(numbers, len(values))


def _names(values: pd.Series, length: np.ndarray, spaces: np.ndarray, has_digit: np.ndarray) -> np.ndarray:
    """Person-name hits, or an all-False array when too few values look like names for the column rule."""
    n = len(values)
    candidate = (spaces >= 1) & (length <= 60) & ~has_digit
    names = _match(values, PERSON_NAME, candidate)
    names &= ~_match(values, PLACE_ENDING, names)
    if names.any() and names.sum() >= NAME_SHARE * n:
        return names
    given = _match(values, GIVEN_NAME, (spaces == 0) & (length <= 20) & ~has_digit)
    if n >= 3 and given.sum() >= GIVEN_NAME_SHARE * n:
        return given
    return np.zeros(n, dtype=bool)


def text_findings(
    values: pd.Series, column: str, *, label: bool = False
) -> tuple[str, str, np.ndarray] | None:
    """Decide what (if anything) the distinct text values of one column reveal; hits mark offending values."""
    values = values.str.strip()  # CBS pads text keys and names with spaces
    if _match(values.iloc[:1], WKT).all() and _match(values, WKT).all():
        return None  # geometry: coordinates are no phone numbers or BSNs
    n = len(values)
    length = values.str.len().to_numpy(dtype=np.int64)
    spaces = (values.str.count(" ") + values.str.count("\n")).to_numpy(dtype=np.int64)
    has_digit = _match(values, "[0-9]", search=True)

    payload = _payloads(values, length, spaces)
    if payload.any():
        return "an image, audio, video or biometric payload", "binary media or base64 blob", payload
    email = _match(values, EMAIL, values.str.contains("@", regex=False).pipe(_flags), search=True)
    if email.any():
        return "e-mail addresses", "matches name@domain.tld", email
    # A plain decimal number (one point, digits around it: an RD coordinate, a rate) is never a phone number.
    decimal = _match(values, r"-?[0-9]+\.[0-9]+([eE][+-]?[0-9]+)?", has_digit & (length >= 10))
    strong, bare = _phones(values, has_digit & (length >= 10) & ~decimal)
    if strong.any() or bare.sum() >= WEAK_SHARE * n:
        return "phone numbers", "Dutch +31/06/0xx number format", strong | bare
    plate_candidate = (length >= 6) & (length <= 8) & has_digit
    plates = _match(values, PLATE, plate_candidate)
    loose = _match(values, PLATE_NO_DASH, plate_candidate & (length == 6))
    loose &= ~_match(values, CBS_CODE, loose)
    if plates.any() or loose.sum() >= WEAK_SHARE * n:
        return "licence plates", "Dutch licence-plate sidecode", plates | loose
    address = _match(values, STREET_NUMBER, has_digit & (spaces >= 1), search=True)
    address |= _match(values, STREET_NUMBER_EN, has_digit & (spaces >= 2), search=True)
    separated = (spaces >= 1) | values.str.contains(",", regex=False).pipe(_flags)
    address |= _match(values, POSTCODE_NUMBER, has_digit & (length >= 8) & separated, search=True)
    if address.any():
        return "street addresses", "street + house number or postcode + house number", address
    if column.lower() not in EXEMPT_FREE_TEXT:
        prose = ((length > FREE_TEXT_CHARS) & (spaces >= 4)) | (spaces >= FREE_TEXT_WORDS)
        if prose.any():
            return "free text", f"longer than {FREE_TEXT_CHARS} characters or {FREE_TEXT_WORDS}+ words", prose
    bsn = _bsns(values, length, has_digit)
    if bsn is not None:
        return "BSNs", "most 8/9-digit values pass the BSN 11-check", bsn
    names = _names(values, length, spaces, has_digit)
    if names.any():
        return "person names", "values look like 'Firstname [tussenvoegsel] Lastname' or given names", names
    return _value_findings(values, column, length, has_digit, label=label)


def _value_findings(
    values: pd.Series, column: str, length: np.ndarray, has_digit: np.ndarray, *, label: bool
) -> tuple[str, str, np.ndarray] | None:
    """Person data in single values: a valid BSN, a person's name, a birth date (see the module rules)."""
    nine = _match(values, BSN_TOKEN, has_digit & (length >= 9), search=True)
    if nine.any():
        tokens = pc.extract_regex(pa.array(values[nine], type=pa.large_string()), pattern=BSN_TOKEN)
        digits = pc.replace_substring(tokens.field("bsn"), ".", "").to_numpy(zero_copy_only=False)
        hits = np.zeros(len(values), dtype=bool)
        hits[nine] = bsn_valid(digits.astype(np.int64))
        numeric = nine | _match(values, r"[0-9]{8,9}", has_digit & (length >= 8) & (length <= 9))
        ids = numeric.sum() >= max(BSN_MIN_VALID, WEAK_SHARE * len(values))
        # Mostly 8/9-digit ids ('E000000123'): about 1 in 11 passes the check by chance; a majority decides.
        if ids and (hits.sum() < BSN_MIN_VALID or hits.sum() <= BSN_SHARE * nine.sum()):
            hits[:] = False
        if hits.any():
            return "a BSN", "a 9-digit number passing the BSN 11-check", hits
    candidate = (length <= 80) & (length >= 5)
    whole = _match(values, PERSON_NAME, candidate & ~has_digit)
    whole &= ~_match(values, PLACE_ENDING, whole)
    inside = _match(values, PERSON_NAME_IN_TEXT, candidate & ~whole, search=True)
    if inside.any():
        found = pc.extract_regex(
            pa.array(values[inside], type=pa.large_string()), pattern=PERSON_NAME_IN_TEXT
        )
        names = pd.Series(found.field("person").to_numpy(zero_copy_only=False), dtype="str")
        inside[inside] = ~_match(names, PLACE_ENDING)
    if (whole | inside).any():
        return "a person's name", "a given name followed by a surname", whole | inside
    births = _match(values, BIRTH_IN_TEXT, has_digit, search=True)
    if label:
        dates = _match(values, DATE_VALUE, has_digit & (length >= 8) & (length <= 10))
        if dates.any():
            parsed = pd.to_datetime(values[dates], format="mixed", dayfirst=True, errors="coerce")
            births[dates] |= plausible_birth(pd.Series(parsed)).to_numpy()
    if births.any():
        return "a birth date", "a date in a person's plausible birth range, or after a birth word", births
    return None


def plausible_birth(dates: pd.Series) -> pd.Series:
    """Dates from 1900 up to ten years ago (a person's birth date, not an event's)."""
    now = pd.Timestamp.now()
    return (dates >= pd.Timestamp(1900, 1, 1)) & (dates <= now - pd.DateOffset(years=10))


def plain_values(values: pd.Series, length: np.ndarray, kind: str | None) -> np.ndarray:
    """Distinct values that cannot hold person data, so the content rules skip them (and their shares count
    only the rest): UUIDs and hashes (``HEX_ID``), plain ids (``PLAIN_ID``, no birth word), and in canonical
    number and date columns read as text, short plain numbers and ISO dates (``PLAIN_BY_KIND``).

    This keeps columns of millions of distinct ids, coordinates or timestamps fast; what it skips is
    structurally no BSN (8-10 digits), phone number, plate, name, address, e-mail or payload.
    """
    plain = np.zeros(len(values), dtype=bool)
    if kind in PLAIN_BY_KIND:
        plain = _match(values, PLAIN_BY_KIND[kind], length <= 40)
    plain |= _match(values, HEX_ID, ~plain & (length >= 20))
    ident = _match(values, PLAIN_ID, ~plain & (length >= 10))
    # Only a plain id can hold a birth word ('geboren-1985'): numbers, dates and hex ids have no letters
    # outside a-f and e/T, and every birth word holds a 'g', 'o' or 'i' and a lowercase 'b'. The substring
    # test for 'b' is far cheaper than the birth-word regex over every id.
    worded = _match(values, "b", ident, literal=True)
    if worded.any():
        ident[worded] &= ~_match(values[worded], BIRTH_WORDS, search=True)
    return plain | ident
