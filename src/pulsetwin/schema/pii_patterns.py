"""The PII guard's content patterns (RE2 syntax): person names, e-mail, phone numbers, licence plates, street
addresses, media payloads, BSN tokens, birth dates, and the plain identifiers and numbers the rules skip.
"""

from __future__ import annotations

from typing import Final

from pulsetwin.schema.pii_column_names import word_list

_GIVEN_NAMES: Final = word_list(
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
