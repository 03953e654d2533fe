"""Calibration ranges, covariate correlations and the audit-only protected attribute."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pulsetwin.twin import TwinCity
from pulsetwin.twin.calibration import check_calibration, recorded_rates
from pulsetwin.twin.parameters import CALIBRATION, CATEGORIES


def _buurt_wide(frame: pd.DataFrame, column: str, year: int) -> pd.DataFrame:
    rows = frame[frame["area_code"].str.startswith("BU") & (frame["year"] == year)]
    return rows.pivot(index="area_code", columns=column, values="value")


def test_recorded_rates_within_documented_ranges(city: TwinCity) -> None:
    report = check_calibration(city.tables, city.offences)
    assert set(report["name"]) == set(CALIBRATION)
    assert report["ok"].all(), report[~report["ok"]]


def test_recorded_rates_cover_every_category(city: TwinCity) -> None:
    rates = recorded_rates(city.tables)
    assert list(rates.index) == [c.slug for c in CATEGORIES]
    assert (rates > 0).all()


def test_covariates_follow_deprivation(city: TwinCity) -> None:
    wide = _buurt_wide(city.tables["covariates"], "variable", 2021).loc[city.latent["area_code"]]
    deprivation = city.latent["deprivation"].to_numpy()

    def rho(name: str) -> float:
        return float(np.corrcoef(wide[name], deprivation)[0, 1])

    assert rho("GemiddeldeWOZWaardeVanWoningen") < -0.5
    assert rho("GemiddeldInkomenPerInwoner") < -0.5
    assert rho("PercentageSocialeHuurwoningen") > 0.5
    assert rho("HuishOnderOfRondSociaalMinimum") > 0.5
    assert float(np.corrcoef(wide["AantalHorecavestigingen"], wide["AfstandTotCentrum"])[0, 1]) < -0.3


def test_migration_share_correlates_with_deprivation_only_as_confounder(city: TwinCity) -> None:
    share = _buurt_wide(city.tables["protected"], "attribute", 2021)["migration_background_share"]
    share = share.loc[city.latent["area_code"]]
    assert share.between(0, 1).all()
    assert 0.45 <= np.corrcoef(share, city.latent["deprivation"])[0, 1] <= 0.75
    assert "migration_background_share" not in set(city.tables["covariates"]["variable"])
