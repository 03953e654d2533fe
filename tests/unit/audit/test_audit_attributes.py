"""Protected attributes: one attribute of one year per grouping; the CBS 2022/2023 break is never crossed."""

from __future__ import annotations

import pandas as pd
import pytest

from pulsetwin.audit.attributes import (
    DEFINITION_NEW,
    DEFINITION_OLD,
    attribute_values,
    audit_year,
    covariate_values,
    definition_of,
)
from pulsetwin.exceptions import SchemaError

PROTECTED = pd.DataFrame(
    {
        "area_code": ["BU1", "BU2", "BU1", "BU2", "BU1"],
        "year": [2022, 2022, 2023, 2023, 2023],
        "attribute": [
            "NietWestersTotaal",
            "NietWestersTotaal",
            "BuitenEuropa",
            "BuitenEuropa",
            "NietWestersTotaal",
        ],
        "value": [0.1, 0.2, 0.15, 0.25, 0.3],
    }
)


def test_definition_follows_the_year_and_refuses_crossing() -> None:
    assert definition_of("NietWestersTotaal", 2022) == DEFINITION_OLD
    assert definition_of("BuitenEuropa", 2023) == DEFINITION_NEW
    assert definition_of("migration_background_share", 2023) == DEFINITION_NEW
    with pytest.raises(SchemaError, match="other side"):
        definition_of("NietWestersTotaal", 2023)
    with pytest.raises(SchemaError, match="other side"):
        definition_of("EuropaExclusiefNederland", 2021)


def test_values_of_one_year_only_never_filled_from_another() -> None:
    codes = pd.Index(["BU1", "BU2"])
    old = attribute_values(PROTECTED, "NietWestersTotaal", 2022, codes)
    assert old.values.to_dict() == {"BU1": 0.1, "BU2": 0.2} and old.definition == DEFINITION_OLD
    new = attribute_values(PROTECTED, "BuitenEuropa", 2023, codes)
    assert new.definition == DEFINITION_NEW and new.missing == ()
    with pytest.raises(SchemaError, match="other side"):
        attribute_values(PROTECTED, "NietWestersTotaal", 2023, codes)
    with pytest.raises(SchemaError, match="no protected values"):
        attribute_values(PROTECTED, "BuitenEuropa", 2022, codes)


def test_audit_year_and_covariates() -> None:
    assert audit_year(PROTECTED["year"], pd.Timestamp("2024-03-01"), "protected") == 2023
    assert audit_year(PROTECTED["year"], pd.Timestamp("2020-03-01"), "protected") == 2022
    cov = pd.DataFrame({"area_code": ["BU1", "BU1"], "year": [2021, 2023], "variable": "AantalInwoners",
                        "value": [100.0, 120.0]})  # fmt: skip
    got = covariate_values(cov, "AantalInwoners", pd.Timestamp("2023-06-01"), pd.Index(["BU1", "BU2"]))
    assert got.loc["BU1"] == 120.0 and pd.isna(got.loc["BU2"])
