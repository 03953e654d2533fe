"""Protected attributes: one attribute of one year per grouping; the CBS 2022/2023 break is never crossed."""

from __future__ import annotations

import pandas as pd
import pytest

from pulsetwin.audit.attributes import (
    CBS_ORIGIN_DEFINITIONS,
    DEFINITION_LABELS,
    DEFINITION_NEW,
    DEFINITION_OLD,
    DEFINITION_OWN,
    attribute_values,
    audit_year,
    covariate_values,
    definition_of,
)
from pulsetwin.audit.summary import attribute_label
from pulsetwin.exceptions import SchemaError
from pulsetwin.schema.variables import ORIGIN_ATTRIBUTES

OLD_NAME = "migration_non_western_share_2019def"  # as the CBS connector stores them (sources/cbs.py)
NEW_NAME = "migration_outside_europe_share_2023def"
PROTECTED = pd.DataFrame(
    {
        "area_code": ["BU1", "BU2", "BU1", "BU2", "BU1"],
        "year": [2022, 2022, 2023, 2023, 2023],
        "attribute": [OLD_NAME, OLD_NAME, NEW_NAME, NEW_NAME, OLD_NAME],
        "value": [0.1, 0.2, 0.15, 0.25, 0.3],
    }
)


def test_definition_follows_the_year_and_refuses_crossing() -> None:
    assert definition_of(OLD_NAME, 2022) == DEFINITION_OLD
    assert definition_of(NEW_NAME, 2023) == DEFINITION_NEW
    with pytest.raises(SchemaError, match="other side"):
        definition_of(OLD_NAME, 2023)
    with pytest.raises(SchemaError, match="other side"):
        definition_of("migration_europe_share_2023def", 2021)


def test_every_name_the_cbs_connector_stores_is_guarded_on_its_side_of_the_break() -> None:
    assert set(CBS_ORIGIN_DEFINITIONS) == set(ORIGIN_ATTRIBUTES.values())
    assert set(CBS_ORIGIN_DEFINITIONS.values()) == set(DEFINITION_LABELS)
    for name, suffix in CBS_ORIGIN_DEFINITIONS.items():
        side, other = (2019, 2023) if suffix == "2019def" else (2024, 2022)
        assert definition_of(name, side) == DEFINITION_LABELS[suffix]
        with pytest.raises(
            SchemaError, match=f"'{name}' belongs to the CBS origin definition of the other side"
        ):
            definition_of(name, other)


@pytest.mark.parametrize("name", ["share_non_dutch", "migration_background_share", "NietWestersTotaal"])
def test_other_attributes_are_the_suppliers_own_in_any_year(name: str) -> None:
    assert definition_of(name, 2019) == definition_of(name, 2023) == DEFINITION_OWN


def test_values_of_one_year_only_never_filled_from_another() -> None:
    codes = pd.Index(["BU1", "BU2"])
    old = attribute_values(PROTECTED, OLD_NAME, 2022, codes)
    assert old.values.to_dict() == {"BU1": 0.1, "BU2": 0.2} and old.definition == DEFINITION_OLD
    new = attribute_values(PROTECTED, NEW_NAME, 2023, codes)
    assert new.definition == DEFINITION_NEW and new.missing == ()
    with pytest.raises(SchemaError, match="other side"):
        attribute_values(PROTECTED, OLD_NAME, 2023, codes)
    with pytest.raises(SchemaError, match="no protected values"):
        attribute_values(PROTECTED, NEW_NAME, 2022, codes)


def test_audit_year_and_covariates() -> None:
    assert audit_year(PROTECTED["year"], pd.Timestamp("2024-03-01"), "protected") == 2023
    assert audit_year(PROTECTED["year"], pd.Timestamp("2020-03-01"), "protected") == 2022
    cov = pd.DataFrame({"area_code": ["BU1", "BU1"], "year": [2021, 2023], "variable": "AantalInwoners",
                        "value": [100.0, 120.0]})  # fmt: skip
    got = covariate_values(cov, "AantalInwoners", pd.Timestamp("2023-06-01"), pd.Index(["BU1", "BU2"]))
    assert got.loc["BU1"] == 120.0 and pd.isna(got.loc["BU2"])


@pytest.mark.parametrize("name", sorted(ORIGIN_ATTRIBUTES.values()))
def test_every_cbs_origin_attribute_has_plain_words_in_both_languages(name: str) -> None:
    dutch, english = attribute_label(name, "nl"), attribute_label(name, "en")
    assert name not in (dutch, english)
    side = ("t/m 2022", "up to 2022") if name.endswith("2019def") else ("vanaf 2023", "from 2023")
    assert side[0] in dutch and side[1] in english
