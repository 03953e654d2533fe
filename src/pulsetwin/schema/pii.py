"""The PII guard: refuse person-level data before anything is stored.

PulseTwin handles places, never persons. :func:`guard_personal_data` inspects every column by NAME (e.g.
``bsn``, ``voornaam``, ``geboortedatum``, ``email``, ``telefoon``, ``kenteken``, ``adres``, ``foto``) and by
CONTENT (BSNs, person names, birth dates, e-mail addresses, phone numbers, licence plates, street addresses,
free text, image/audio/video/biometric payloads) and raises
:class:`~pulsetwin.exceptions.PersonalDataError` for the first column that holds any. It writes nothing.

Content rules work on the distinct values of a column (vectorised ``.str`` regexes, cheap pre-filters), so
ten-million-row frames are checked in seconds. Specific patterns (e-mail, formatted phone number, dashed
licence plate, street + house number, data URI, media magic bytes, long prose) refuse a column on a single
hit. Ambiguous patterns are decided per column, by the share of distinct values that match:

- BSN: a column is refused when at least half its values are 8- or 9-digit numbers (8 digits: a leading
  zero lost in a spreadsheet) and more than half of those pass the BSN 11-check (weights 9..2 and -1 for
  the last digit; sum divisible by 11 and not 0) with at least ``BSN_MIN_VALID`` passing values. Random
  identifiers pass with probability about 1/11, so a passing majority does not happen by chance.
- Person names ("Jan de Vries", "J.P. Jansen", "Vries, Jan de", "Mohammed El Amrani": a known given name or
  initials, optional tussenvoegsels, a surname): refused when at least ``NAME_SHARE`` of the distinct values
  look like names. Area names ("Heerlen-Centrum", "Meezenbroek en Schaesbergveld") do not start with a given
  name; a street-like ending ("Jan van Galenstraat") is a place, not a person.
- Bare given names ("Anna", "Pieter"): refused when ``GIVEN_NAME_SHARE`` of 3+ distinct values are.
- Bare 10-digit phone numbers and dash-less plates: refused when ``WEAK_SHARE`` of the values match.
- Birth dates: a date column whose name mentions a person (``verdachte``, ``client``, ``person``...) with
  ``WEAK_SHARE`` of its dates in a plausible birth range (1900 to 10 years ago).

Column-level shares cannot catch ONE person planted among many harmless values, so every text value is also
checked on its own (:func:`_value_findings`), in every column:

- a 9-digit number (also written ``1234.56.782``) passing the BSN 11-check anywhere in a value, unless the
  column mostly holds 8/9-digit numbers (then the share rule above decides: numeric ids pass by chance);
- a value that is a person's name as a whole ("Jan de Vries", "J.P. Jansen") or holds one ("melder Pieter
  Jansen": a capitalised given name + surname), unless the name is a place ("Jan van Galenstraat", "Sint Jan
  Centrum", "Anna Paulowna": see ``PLACE_ENDING``);
- a date after a birth word ("geboren 12-03-1985", "dob: 1985-03-12"); and, in canonical label columns
  (``source``, ``variable``, ``name``, ``event_id``...: text that is never a date), a value that is a date in
  the plausible birth range.

UUIDs, hashes and plain identifiers (``pol-20230000001``: see ``PLAIN_ID``) skip the content rules: their
digits are random, not phone numbers or BSNs, and skipping them keeps id columns of millions of distinct
values fast. With ``table`` given, values longer than the column's limit are refused first (as a SchemaError naming row,
column and length, never echoing the value).

Float columns are not inspected by content (they hold measures, not names); integer columns only for BSNs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pulsetwin.exceptions import Location, PersonalDataError
from pulsetwin.schema.tables import TABLES
from pulsetwin.schema.validate import factorize_column, refuse_overlong

BSN_MIN_VALID: Final = 3
BSN_SHARE: Final = 0.5
NAME_SHARE: Final = 0.5
GIVEN_NAME_SHARE: Final = 0.8
WEAK_SHARE: Final = 0.5
FREE_TEXT_CHARS: Final = 80
FREE_TEXT_WORDS: Final = 12
EXEMPT_FREE_TEXT: Final = frozenset({"geometry", "geom", "wkt", "detail_json"})
FIX: Final = (
    "PulseTwin stores places, never persons: drop the column, or aggregate to counts per area and period "
    "before import"
)


def _words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of a word list."""
    return tuple(text.split())


# --- column names ------------------------------------------------------------------------------------------
_ROLE: Final = (
    r"(?:melder|verdachte|dader|slachtoffer|aangever|klant|client|patient|bewoner|eigenaar|owner|contact|user"
    r"|gebruiker|person|persoon|victim|suspect|offender|reporter|customer)"
)
_NAME_RULES: Final[tuple[tuple[str, str, str], ...]] = (
    # (kind, regex over the compact lowercase name without separators, regex over single tokens)
    (
        "a BSN (citizen service number)",
        r"bsn|burgerservicenummer|sofinummer|socialsecuritynumber|ssn"
        r"|citizenservicenumber|persoonsnummer|anummer",
        r"bsn|ssn|sofi|burgerservicenummer|sofinummer",
    ),
    (
        "a person's name",
        r"voornamen?|achternamen?|roepnaam|geslachtsnaam|meisjesnaam|tussenvoegsel|initialen"
        r"|firstname|lastname|surname|forename|givenname|familyname|fullname|middlename|maidenname|personname"
        rf"|persoonsnaam|{_ROLE}s?(?:naam|name)|(?:naam|name){_ROLE}s?",
        r"voornaam|voornamen|achternaam|achternamen|roepnaam|tussenvoegsel|initialen|surname|firstname|lastname"
        r"|forename|fullname",
    ),
    (
        "a birth date",
        r"geboortedatum|geboortedag|geboortejaar|geboorteplaats|gebdatum|geboren|dob|dateofbirth"
        r"|birthdate|birthday|birthyear|birthplace|bornon",
        r"dob|geboortedatum|geboren|birthdate|birthday",
    ),
    ("an e-mail address", r"e?mail|emailadres|emailaddress|mailadres|mailaddress", r"email|emailadres"),
    (
        "a phone number",
        r"telefoon|telefoonnummer|telnr|telephone|phone|phonenumber|mobiel|mobielnummer|mobile"
        r"|mobilenumber|gsm|cellphone|tel",
        r"telefoon|telefoonnummer|telnr|phone|mobiel|gsm|tel",
    ),
    (
        "a licence plate",
        r"kenteken|kentekens|kentekennummer|nummerplaat|licenseplate|licenceplate|numberplate"
        r"|registrationplate|platenumber",
        r"kenteken|kentekens|nummerplaat",
    ),
    (
        "a street address",
        r"adres|adressen|address|addresses|woonadres|straat|straatnaam|street|streetname"
        r"|huisnummer|huisnr|huisletter|housenumber|postcode6|pc6|postcode_6|postcodehuisnummer",
        r"adres|address|straat|street|huisnummer|huisnr|huisletter|postcode6|pc6",
    ),
    (
        "an image, audio, video or biometric payload",
        r"foto|fotos|photo|photos|image|images|img|picture"
        r"|pictures|face|faces|gezicht|gezichten|vingerafdruk|vingerafdrukken|fingerprint|fingerprints|biometric"
        r"|biometrics|biometrie|biometrisch|embedding|embeddings|faceembedding|audio|video|voice|stemopname"
        r"|iris|irisscan|selfie|portrait|portret|handtekening|afbeelding|afbeeldingen",
        r"foto|fotos|photo|photos|image|images|img|picture|face|faces|gezicht|vingerafdruk|fingerprint"
        r"|biometric|biometrics|biometrie|embedding|embeddings|audio|video|voice|selfie|portret|portrait",
    ),
    (
        "a person identifier",
        r"(?:person|persoon|patient|client|klant|burger|verdachte|dader|slachtoffer)s?"
        r"(?:id|nr|nummer|number)",
        r"(?:person|persoon|patient|burger)(?:id|nr|nummer)",
    ),
)
_PERSON_TOKENS: Final = frozenset(
    _words(
        "persoon personen person persons people verdachte verdachten dader daders slachtoffer slachtoffers"
        " melder"
        " melders aangever aangevers bewoner bewoners client clients cliënt klant klanten patient patienten"
        " patiënt burger burgers victim victims suspect suspects offender offenders reporter"
        " resident residents"
        " customer customers user users gebruiker medewerker employee member child"
    )
)


def _tokens(column: str) -> list[str]:
    """Split a column name into lowercase tokens at case changes, separators and digits."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", column)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    return [t for t in re.split(r"[^a-z]+", spaced.lower()) if t]


def name_finding(column: str) -> str | None:
    """What a column NAME says it holds (e.g. "a person's name"), or None when the name looks harmless.

    The whole name (lowercase, separators removed, digits stripped) or one of its tokens must match a rule
    exactly, so ``Gemeentenaam_1`` (a place) and ``Omgevingsadressendichtheid`` (a density) pass.
    """
    tokens = _tokens(str(column))
    compacts = ("".join(tokens), re.sub(r"[^a-z0-9]", "", str(column).lower()))
    for kind, whole, token in _NAME_RULES:
        if any(re.fullmatch(whole, c) for c in compacts) or any(re.fullmatch(token, t) for t in tokens):
            return kind
    return None


# --- content patterns --------------------------------------------------------------------------------------
_GIVEN_NAMES: Final = _words(
    "jan piet pieter kees henk gerrit klaas willem wim johan johannes hans peter paul mark martijn thomas tom"
    " daan sem lucas levi finn luuk milan bram jesse thijs lars ruben tim stijn joost bas koen sander dennis"
    " jeroen niels rob robert erik frank marco michel ronald rene hendrik gert joris maarten arjen"
    " wouter jasper"
    " vincent sjaak cor frans jos ton toon theo huub sjef jeanine anna emma julia sophie tess sara sarah eva"
    " lisa lotte anne fleur sanne femke ingrid els marieke maria mieke annemieke petra monique linda sandra"
    " karin wilma ria truus joke gerda ellen esther inge nicole laura nina noor mila zoe yara lieke saar evi"
    " fenna isa maud vera marloes ilse kim manon anouk chantal mohammed mohamed muhammad ahmed ahmet ali omar"
    " youssef yusuf mustafa hassan ibrahim fatima aisha khadija zeynep ayse elif mehmet emre murat"
    " samira nadia"
    " leila amira john james michael david daniel joseph jennifer elizabeth mary william richard charles"
    " george jessica emily olivia liam noah oliver adam jakub piotr krzysztof agnieszka katarzyna andrzej"
    " tomasz marek ewa olga irina natalia dmitri ivan sven jelle sietse wietske hennie riet"
)
_TUSSENVOEGSELS: Final = (
    r"(?:van der|van den|van de|van 't|in 't|in de|op de|op den|uit de|uit den|van|de|der|den|ter|ten|te|'t"
    r"|la|le|du|da|dos|del|della|di|el|al|ben|bin|ibn|abu)"
)
_LETTER: Final = r"[A-Za-zÀ-ÖØ-öø-ÿ]"
_GIVEN: Final = "(?:" + "|".join(_GIVEN_NAMES) + ")"
_INITIALS: Final = r"(?:[A-Za-z]\.[ \t\r\n]?){1,4}"
_SURNAME: Final = rf"{_LETTER}{_LETTER}+(?:['-]{_LETTER}+)*"
_FIRST: Final = rf"(?:{_GIVEN}(?:[ \t\r\n]+{_GIVEN})?[ \t\r\n]+|{_INITIALS}[ \t\r\n]*)"
PERSON_NAME: Final = (
    rf"(?i)(?:{_FIRST}(?:{_TUSSENVOEGSELS}[ \t\r\n]+)*{_SURNAME}(?:[ \t\r\n-]{_SURNAME})?"
    rf"|{_SURNAME},[ \t\r\n]*(?:{_GIVEN}|{_INITIALS})(?:[ \t\r\n]*{_TUSSENVOEGSELS})?)"
)
GIVEN_NAME: Final = rf"(?i){_GIVEN}"
PLACE_ENDING: Final = (
    r"(?i).*(?:straat|laan|weg|plein|buurt|park|kwartier|centrum|terrein|gracht|singel|dreef|kade|polder"
    r"|oord|dorp|plantsoen|haven|hoeve|eiland|noord|oost|zuid|west|midden|stad|town)"
    r"|(?:anna paulowna|maria hoop|sint anna|emma haven)(?:[ -].*)?"
)
"""Person-shaped names that are places: a street-like ending, or a village named after a person."""
EMAIL: Final = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PHONE_NORMALISED: Final = r"(?:\+31|0031)0?[1-9][0-9]{8}|0[1-9][0-9]{8}"
_SEP: Final = r"[ \t\r\n-]"
PHONE_IN_TEXT: Final = (
    rf"(?:^|[^0-9])(?:(?:\+31|0031){_SEP}?(?:\(0\))?{_SEP}?|0)6{_SEP}?(?:[0-9]{_SEP}?){{7}}[0-9](?:[^0-9]|$)"
)
_SIDECODES: Final = (
    r"[A-Z]{2}-[0-9]{2}-[0-9]{2}",
    r"[0-9]{2}-[0-9]{2}-[A-Z]{2}",
    r"[0-9]{2}-[A-Z]{2}-[0-9]{2}",
    r"[A-Z]{2}-[0-9]{2}-[A-Z]{2}",
    r"[A-Z]{2}-[A-Z]{2}-[0-9]{2}",
    r"[0-9]{2}-[A-Z]{2}-[A-Z]{2}",
    r"[0-9]{2}-[A-Z]{3}-[0-9]",
    r"[0-9]-[A-Z]{3}-[0-9]{2}",
    r"[A-Z]{2}-[0-9]{3}-[A-Z]",
    r"[A-Z]-[0-9]{3}-[A-Z]{2}",
    r"[A-Z]{3}-[0-9]{2}-[A-Z]",
    r"[A-Z]-[0-9]{2}-[A-Z]{3}",
    r"[0-9]-[A-Z]{2}-[0-9]{3}",
    r"[0-9]{3}-[A-Z]{2}-[0-9]",
)
PLATE: Final = "(?i)(?:" + "|".join(_SIDECODES) + ")"
PLATE_NO_DASH: Final = "(?i)(?:" + "|".join(s.replace("-", "") for s in _SIDECODES[3:]) + ")"
CBS_CODE: Final = r"(?:GM|WK|BU)[0-9A-Z]{4,8}"
STREET_NUMBER: Final = (
    rf"(?i)(?:^|[^A-Za-z]){_LETTER}+(?:straat|laan|weg|plein|singel|gracht|kade|dijk|steeg|pad|dreef|markt"
    r"|boulevard|allee|baan|hof|wal|ring|straatweg)[ \t\r\n]+[0-9]{1,5}[ \t\r\n]?[A-Za-z]?"
    r"(?:[-/][0-9]{1,4})?(?:[^0-9]|$)"
)
STREET_NUMBER_EN: Final = (
    r"(?i)[0-9]{1,5}[ \t\r\n]+[A-Za-z]+(?:[ \t\r\n][A-Za-z]+)?[ \t\r\n]+"
    r"(?:street|st\.?|road|rd\.?|avenue|ave\.?|lane)(?:[^A-Za-z0-9_]|$)"
)
POSTCODE_NUMBER: Final = r"(?:^|[^0-9])[1-9][0-9]{3}[ \t\r\n]?[A-Z]{2}[ \t\r\n,]+[0-9]{1,5}(?:[^0-9]|$)"
DATA_URI: Final = r"(?i)data:[a-z0-9.+-]+/[a-z0-9.+-]+;base64,"
BASE64_BLOB: Final = r"[A-Za-z0-9+/\r\n]{120,}={0,2}"
BASE64_MEDIA: Final = (
    r"(?:iVBORw0KGgo|/9j/|R0lGOD|UklGR|SUQz|T2dnUw|ZkxhQw|AAAA[A-Za-z0-9+/]{2}ZnR5c)[A-Za-z0-9+/]{20,}"
)
HEX_ONLY: Final = r"[0-9A-Fa-f]+"
HEX_ID: Final = r"(?:[0-9A-Fa-f]+-)*[0-9A-Fa-f]*[A-Fa-f][0-9A-Fa-f]*(?:-[0-9A-Fa-f]+)*"
"""A UUID or hash (hex digits, optional dashes, at least one letter a-f; checked from 20 characters on)."""
PLAIN_BY_KIND: Final = {
    "float": r"[ ]*-?[0-9]{1,7}(?:\.[0-9]*)?(?:[eE][-+]?[0-9]{1,3})?[ ]*",
    "int": r"[ ]*[0-9]{1,7}(?:\.0*)?[ ]*",
    "date": r"[ ]*[0-9]{4}-[0-9]{2}-[0-9]{2}[ ]*",
    "timestamp": r"[ ]*[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?)?[ ]*",
}
"""Text that is a plain value of a canonical column's type (at most 7 integer digits: no BSN or phone)."""
_GROUP: Final = r"(?:[1-9][0-9]{0,6}|[1-9][0-9]{10,19})"
PLAIN_ID: Final = rf"[A-Za-z]{{1,12}}[-_:/]?{_GROUP}(?:[-_:/]{_GROUP})*"
"""An identifier such as ``pol-20230000001`` (checked from 10 characters on): a letter prefix and digit groups
that cannot hold a BSN (8-10 digits), a phone number or date (a group with a leading 0), a plate (10+
characters) or a name, address or e-mail (no space, no @). Values like this skip the content rules."""
MAGIC_PREFIXES: Final = (
    "\x89PNG",
    "\xff\xd8\xff",
    "GIF87a",
    "GIF89a",
    "ID3\x02",
    "ID3\x03",
    "ID3\x04",
    "OggS",
    "fLaC",
    "%PDF",
    "BM6",
    "II*\x00",
    "MM\x00*",
    "RIFF",  # WAVE audio, AVI video, WEBP images
    "\x00\x00\x00",  # MP4/MOV (ftyp box)
    "\x1aE\xdf\xa3",  # Matroska/WebM
    "\ufffd\ufffd",  # binary bytes decoded as UTF-8 with replacement characters
)
BINARY_CHARACTER: Final = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]"
"""A character that printable text never holds and binary decoded as text nearly always does."""
WKT: Final = r"(?is)[ \t\r\n]*(?:multi)?(?:point|linestring|polygon|geometrycollection)(?:[^a-z].*)?"
BSN_TOKEN: Final = r"(?:^|[^0-9.])(?P<bsn>[0-9]{9}|[0-9]{4}\.[0-9]{2}\.[0-9]{3})(?:[^0-9]|$)"
_GIVEN_CAPITALISED: Final = "(?:" + "|".join(n.capitalize() for n in _GIVEN_NAMES) + ")"
PERSON_NAME_IN_TEXT: Final = (
    rf"(?:^|[^A-Za-z])(?P<person>{_GIVEN_CAPITALISED}(?:[ ]+{_GIVEN_CAPITALISED})?[ ]+(?:{_TUSSENVOEGSELS}[ ]+)*"
    r"[A-Z][a-zà-öø-ÿ]+(?:[-][A-Z][a-zà-öø-ÿ]+)?)(?:[^A-Za-z]|$)"
)
"""A capitalised known given name, optional tussenvoegsels and a capitalised surname inside longer text."""
DATE_VALUE: Final = r"(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]|[0-3]?[0-9][-/.][01]?[0-9][-/.](?:19|20)[0-9]{2}"
BIRTH_WORDS: Final = r"(?:geb\.|geboren|geboortedatum|geboortedag|born|dob|birth|date of birth)"
BIRTH_IN_TEXT: Final = rf"(?i){BIRTH_WORDS}[^0-9]{{0,12}}(?:{DATE_VALUE})"
LABEL_KINDS: Final = frozenset({"str"})
"""Logical types of canonical label columns: text that is never a date, a number or a geometry."""


@dataclass(frozen=True)
class _Text:
    """Distinct text values of a column and the per-row codes into them (-1: missing or not text)."""

    codes: np.ndarray
    values: pd.Series

    def first_row(self, hits: np.ndarray) -> int | None:
        """0-based first row whose value is a hit."""
        rows = np.flatnonzero(np.append(hits, False)[self.codes])
        return int(rows[0]) if len(rows) else None


def _mask(value: object) -> str:
    """Show only the first two characters of an offending value."""
    return f"{str(value)[:2]}***"


def _refuse(column: str, kind: str, why: str, series: pd.Series, row: int | None, file: str | None) -> None:
    """Raise the PersonalDataError for one column."""
    value = _mask(series.iloc[row]) if row is not None else None
    raise PersonalDataError(
        f"person-level data refused: column '{column}' holds {kind} ({why})",
        where=Location(file=file, row=None if row is None else row + 1, column=column, value=value),
        fix=FIX,
    )


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


def _bsn_column(numbers: np.ndarray, total: int) -> np.ndarray | None:
    """Hits (over ``numbers``) when the column is decided to hold BSNs, else None."""
    candidate = (numbers >= 10**7) & (numbers < 10**9)
    if total == 0 or candidate.sum() < max(BSN_MIN_VALID, WEAK_SHARE * total):
        return None
    valid = candidate & bsn_valid(np.where(candidate, numbers, 0))
    if valid.sum() >= BSN_MIN_VALID and valid.sum() > BSN_SHARE * candidate.sum():
        return valid
    return None


def _single_bsns(numbers: np.ndarray) -> np.ndarray | None:
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
    values: pd.Series, pattern: str, where: np.ndarray | None = None, *, search: bool = False
) -> np.ndarray:
    """Boolean array: does each value (optionally only those in ``where``) match ``pattern`` (RE2 syntax).

    Calls pyarrow's RE2 directly: the same engine pandas uses for str columns, without re-parsing the
    pattern in Python on every call.
    """
    hits = np.zeros(len(values), dtype=bool)
    subset = values if where is None or where.all() else values[where]
    if len(subset) == 0:
        return hits
    found = pc.match_substring_regex(
        pa.array(subset, type=pa.large_string()), pattern=pattern if search else _anchored(pattern)
    )
    hits[where if len(subset) < len(values) else slice(None)] = np.asarray(
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
    return _bsn_column(numbers, len(values))


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


def _text_findings(
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
            births[dates] |= _plausible_birth(pd.Series(parsed)).to_numpy()
    if births.any():
        return "a birth date", "a date in a person's plausible birth range, or after a birth word", births
    return None


def _plausible_birth(dates: pd.Series) -> pd.Series:
    """Dates from 1900 up to ten years ago (a person's birth date, not an event's)."""
    now = pd.Timestamp.now()
    return (dates >= pd.Timestamp(1900, 1, 1)) & (dates <= now - pd.DateOffset(years=10))


def _birth_dates(series: pd.Series, column: str) -> np.ndarray | None:
    """Per-row hits when a person-named column holds mostly plausible birth dates, else None."""
    if not _PERSON_TOKENS.intersection(_tokens(column)):
        return None
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        dates = pd.Series(series.to_numpy(), dtype="datetime64[ns]") if series.dt.tz is None else series
    else:
        text = series.astype("str")
        dates = pd.to_datetime(text, format="ISO8601", errors="coerce")
        dates = dates.fillna(pd.to_datetime(text, format="%d-%m-%Y", errors="coerce"))
    dates = pd.Series(pd.DatetimeIndex(dates).tz_localize(None), dtype="datetime64[ns]")
    present = series.notna().to_numpy()
    plausible = _plausible_birth(dates).to_numpy()
    if present.sum() and plausible.sum() >= WEAK_SHARE * present.sum():
        return plausible
    return None


def _as_text(series: pd.Series, column: str, file: str | None) -> _Text | None:
    """Distinct text values of a string-like column; refuse bytes and array cells; None when not text."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    try:
        codes, uniques = factorize_column(series)
    except TypeError:  # unhashable cells: lists or arrays (e.g. embeddings)
        nested = series.map(lambda v: isinstance(v, list | tuple | dict | set | np.ndarray)).to_numpy(
            dtype=bool
        )
        _refuse(
            column,
            "an image, audio, video or biometric payload",
            "array-valued cells (e.g. an embedding)",
            series,
            int(np.flatnonzero(nested)[0]),
            file,
        )
        return None
    kind = pd.api.types.infer_dtype(uniques, skipna=True)
    if kind not in ("string", "empty"):
        binary = np.array([isinstance(u, bytes | bytearray | memoryview) for u in uniques], dtype=bool)
        if binary.any():
            row = int(np.flatnonzero(np.append(binary, False)[codes])[0])
            _refuse(
                column,
                "an image, audio, video or biometric payload",
                "binary (bytes) cells",
                series,
                row,
                file,
            )
        is_text = np.array([isinstance(u, str) for u in uniques], dtype=bool)
        remap = np.where(is_text, np.cumsum(is_text) - 1, -1)
        codes = np.append(remap, -1)[codes]
        uniques = uniques[is_text]
    return _Text(np.asarray(codes, dtype=np.int64), pd.Series(uniques, dtype="str"))


def _integers(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(per-row values, missing mask) of an integer column, or of the integer cells of an object column."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return None
    if pd.api.types.is_integer_dtype(series.dtype):
        missing = series.isna().to_numpy()
        return series.to_numpy(dtype=np.int64, na_value=-1), missing
    return None


def _plain(values: pd.Series, length: np.ndarray, kind: str | None) -> np.ndarray:
    """Distinct values that cannot hold person data, so the content rules skip them (and their shares count
    only the rest): UUIDs and hashes (``HEX_ID``), plain ids (``PLAIN_ID``, no birth word), and in canonical
    number and date columns read as text, short plain numbers and ISO dates (``PLAIN_BY_KIND``).

    This keeps columns of millions of distinct ids, coordinates or timestamps fast; what it skips is
    structurally no BSN (8-10 digits), phone number, plate, name, address, e-mail or payload.
    """
    plain = _match(values, HEX_ID, length >= 20) | _match(values, PLAIN_ID, length >= 10)
    if kind in PLAIN_BY_KIND:
        plain |= _match(values, PLAIN_BY_KIND[kind], ~plain & (length <= 40))
    if plain.any():
        plain[plain] &= ~_match(values[plain], BIRTH_WORDS, search=True)
    return plain


def guard_personal_data(frame: pd.DataFrame, *, file: str | None = None, table: str | None = None) -> None:
    """Refuse person-level data by column name and content; return None when the frame is clean.

    Parameters
    ----------
    frame
        Any frame about to be imported (canonical or raw source columns, text or typed).
    file
        Source file name, quoted in the error.
    table
        The canonical table the frame is for, when it is one: its label columns (``str``) get the birth-date
        rule, and over-long values are refused by their column's limit.

    Raises
    ------
    PersonalDataError
        Naming the column, the first offending row (1-based) and value (masked) and why it was refused.
    SchemaError
        When ``table`` is given and a value is longer than its column allows.
    """
    kinds = TABLES[table].types if table in TABLES else {}
    for column in frame.columns:
        kind = name_finding(str(column))
        if kind is not None:
            series = frame[column].reset_index(drop=True)
            present = np.flatnonzero(series.notna().to_numpy())
            row = int(present[0]) if len(present) else None
            _refuse(str(column), kind, "by its column name", series, row, file)
    for column in frame.columns:
        series = frame[column].reset_index(drop=True)
        name = str(column)
        births = None
        if not pd.api.types.is_float_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            births = _birth_dates(series, name)
        if births is not None:
            _refuse(
                name,
                "birth dates",
                "plausible birth dates in a person field",
                series,
                int(np.flatnonzero(births)[0]),
                file,
            )
        integers = _integers(series)
        if integers is not None:
            numbers, missing = integers
            distinct, codes = np.unique(numbers[~missing], return_inverse=True)
            hits = _bsn_column(distinct, len(distinct))
            if hits is None and kinds.get(name, "str") == "str":
                hits = _single_bsns(distinct)
            if hits is not None:
                row = int(np.flatnonzero(~missing)[np.flatnonzero(hits[codes])[0]])
                _refuse(name, "BSNs", "most 8/9-digit values pass the BSN 11-check", series, row, file)
            continue
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
            continue
        text = _as_text(series, name, file)
        if text is None or len(text.values) == 0:
            continue
        lengths = text.values.str.len().to_numpy(dtype=np.int64)
        refuse_overlong(table, name, lengths, text.codes, file=file)
        check = np.flatnonzero(~_plain(text.values, lengths, kinds.get(name)))
        if len(check) == 0:
            continue
        subset = (
            text.values if len(check) == len(text.values) else text.values.iloc[check].reset_index(drop=True)
        )
        finding = _text_findings(subset, name, label=kinds.get(name) in LABEL_KINDS)
        if finding is not None:
            kind, why, hits = finding
            found = np.zeros(len(text.values), dtype=bool)
            found[check] = hits
            _refuse(name, kind, why, series, text.first_row(found), file)
