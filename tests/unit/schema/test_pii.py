"""The PII guard refuses every planted kind of personal data and no real CBS, police or canonical file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import PersonalDataError
from pulsetwin.schema import guard_personal_data
from pulsetwin.schema.categories import VOCABULARY
from pulsetwin.schema.pii_column_names import name_finding
from pulsetwin.schema.pii_content import bsn_valid

DATA = Path(__file__).parents[2] / "data"
CORPUS = sorted((DATA / "pii_corpus").glob("*.csv"))
CLEAN = sorted((DATA / "clean").glob("*.csv"))


def refusal(frame: pd.DataFrame) -> PersonalDataError:
    with pytest.raises(PersonalDataError) as info:
        guard_personal_data(frame, file="upload.csv")
    return info.value


def test_corpus_is_complete() -> None:
    assert len(CORPUS) >= 40
    assert len(CLEAN) >= 10


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_every_planted_file_is_refused_naming_the_column(path: Path) -> None:
    """File names read ``<kind>__<column>.csv``: the column that holds the planted data."""
    column = path.stem.split("__")[1]
    error = refusal(pd.read_csv(path, dtype=str))
    assert error.where.column == column
    assert error.where.file == "upload.csv"
    assert "person-level data refused" in str(error)
    if error.where.value is not None:
        assert str(error.where.value).endswith("***") and len(str(error.where.value)) <= 5


@pytest.mark.parametrize("path", CLEAN, ids=lambda p: p.stem)
@pytest.mark.parametrize("dtype", [str, None], ids=["text", "typed"])
def test_clean_files_pass(path: Path, dtype: type | None) -> None:
    guard_personal_data(pd.read_csv(path, dtype=dtype), file=path.name)


def test_category_labels_and_area_names_pass() -> None:
    labels = pd.DataFrame(
        {
            "slug": [c.slug for c in VOCABULARY],
            "label_nl": [c.label_nl for c in VOCABULARY],
            "label_en": [c.label_en for c in VOCABULARY],
            "police": [";".join(c.police_codes) for c in VOCABULARY],
        }
    )
    guard_personal_data(labels)
    names = [
        "Heerlen-Centrum",
        "Meezenbroek en Schaesbergveld",
        "Huis ter Heide",
        "Bergen op Zoom",
        "De Egge",
        "Jan van Galenstraat",
        "Capelle aan den IJssel",
        "Sint Pietersberg",
        "'s-Gravenhage",
        "Bergen (L.)",
        "North St.James Town",
    ]
    guard_personal_data(pd.DataFrame({"name": names, "Gemeentenaam_1": [n.ljust(40) for n in names]}))


def test_error_names_first_offending_row_with_masked_value() -> None:
    error = refusal(pd.DataFrame({"info": ["geen", "geen", "jan.jansen@example.nl"]}))
    assert (error.where.row, error.where.column, error.where.value) == (3, "info", "ja***")
    assert "jansen" not in str(error)


def test_bytes_and_arrays_are_payloads() -> None:
    assert refusal(pd.DataFrame({"x": ["a", b"\xff\xd8\xff\xe0"]})).where.row == 2
    assert "embedding" in refusal(pd.DataFrame({"v": [np.zeros(128), np.ones(128)]})).expected


def test_a_media_header_needs_binary_bytes_after_it() -> None:
    """Ids that merely start like a file header pass; the header followed by binary bytes is refused."""
    ids = pd.DataFrame({"event_id": ["BM6-0042", "RIFF-7", "OggS", "%PDF-archief-12", "GIF89a-3"]})
    guard_personal_data(ids)
    bitmap = "BM6\x00\x0c\x00\x00\x00\x00\x00\x006\x00\x00\x00(\x00"
    assert refusal(pd.DataFrame({"event_id": ["BM6-0042", bitmap]})).where.row == 2


def bsn_reference(number: int) -> bool:
    digits = [int(d) for d in f"{number:09d}"]
    total = sum(w * d for w, d in zip(range(9, 1, -1), digits[:8], strict=True)) - digits[8]
    return total % 11 == 0 and total != 0


def test_bsn_check_known_answers() -> None:
    assert bsn_valid(np.array([111222333, 123456782, 123456789, 0])).tolist() == [True, True, False, False]


def test_bsn_by_integer_content_and_random_ids_pass() -> None:
    rng = np.random.default_rng(7)
    ids = rng.integers(10**8, 10**9, 2000)
    guard_personal_data(pd.DataFrame({"ID": ids}))  # ~1/11 pass the check: no majority
    guard_personal_data(pd.DataFrame({"ID": np.arange(40_000_000, 40_002_000)}))
    error = refusal(pd.DataFrame({"ID": ids[bsn_valid(ids)][:10]}))
    assert error.where.column == "ID" and "11-check" in error.expected


@pytest.mark.parametrize(
    ("column", "flagged"),
    [
        ("voornaam", True),
        ("Achternaam", True),
        ("first_name", True),
        ("melder_naam", True),
        ("BSN", True),
        ("geboortedatum", True),
        ("e-mail", True),
        ("telefoonnummer", True),
        ("kenteken", True),
        ("postcode6", True),
        ("huisnummer", True),
        ("foto", True),
        ("vingerafdruk", True),
        ("name", False),
        ("naam", False),
        ("Gemeentenaam_1", False),
        ("GeboorteTotaal_24", False),
        ("Omgevingsadressendichtheid_118", False),
        ("MeestVoorkomendePostcode_115", False),
        ("AantalInwoners_5", False),
        ("detail_json", False),
        ("geometry", False),
        ("SoortMisdrijf", False),
    ],
)
def test_column_name_rules(column: str, flagged: bool) -> None:
    assert (name_finding(column) is not None) == flagged


def test_single_area_name_among_many_is_not_a_person() -> None:
    names = [f"Buurt {chr(65 + i)}" for i in range(10)] + ["Anna Paulowna"]
    guard_personal_data(pd.DataFrame({"name": names}))
