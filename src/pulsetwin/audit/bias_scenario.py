"""A small synthetic city for testing the audit: equal true offence rates in every group, but police-initiated
recording that rises with a protected share, as in Lum & Isaac (2016).

Only the audit's tests and demonstrations use it; the full twin lives in :mod:`pulsetwin.twin`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pulsetwin.exceptions import bad_parameter
from pulsetwin.schema.variables import INCOME, RESIDENTS

CITIZEN_CATEGORY = "burglary_residential"
POLICE_CATEGORY = "drugs"
ATTRIBUTE = "migration_background_share"


@dataclass(frozen=True)
class BiasScenario:
    """Canonical ``incidents`` (freq M), ``covariates`` (AantalInwoners), ``protected`` and ``truth`` frames."""

    tables: dict[str, pd.DataFrame]
    origin: pd.Timestamp


def lum_isaac_scenario(
    *,
    n_areas: int = 2000,
    n_periods: int = 24,
    seed: int = 0,
    start: str = "2022-01-01",
    citizen_rate: float = 3.0,
    police_rate: float = 6.0,
    citizen_detection: float = 0.5,
    police_detection: tuple[float, float] = (0.05, 0.9),
) -> BiasScenario:
    """Draw the scenario; the last quarter of the periods is left for realised outcomes (``origin``).

    Offences per area and month are ``rate * residents / 1000 * f`` with ``f`` log-normal and independent of
    the protected share ``s``; citizen-reported offences are recorded with a constant probability, police-
    initiated ones with ``lo + (hi - lo) * s``.

    Notes
    -----
    Lum & Isaac 2016, *To predict and serve?*, Significance 13(5): drug arrests follow enforcement, not use.
    """
    if n_areas < 8 or n_periods < 4:
        raise bad_parameter(
            "n_areas/n_periods", "lum_isaac_scenario", "at least 8 areas and 4 periods", (n_areas, n_periods)
        )
    rng = np.random.default_rng(seed)
    codes = np.array([f"BU{i:08d}" for i in range(n_areas)])
    share = rng.beta(2.0, 5.0, n_areas)
    residents = 5.0 * np.round(rng.uniform(500, 5000, n_areas) / 5.0)
    factor = rng.lognormal(0.0, 0.5, n_areas)
    lo, hi = police_detection
    categories = np.array([CITIZEN_CATEGORY, POLICE_CATEGORY])
    offence = np.stack([citizen_rate * factor, police_rate * factor], axis=1) * (residents / 1000.0)[:, None]
    detection = np.stack([np.full(n_areas, citizen_detection), lo + (hi - lo) * share], axis=1)
    periods = pd.date_range(start, periods=n_periods, freq="MS").as_unit("ns")
    recorded = offence * detection
    counts = rng.poisson(np.repeat(recorded[:, :, None], n_periods, axis=2))
    n_cells = n_areas * 2 * n_periods
    area_col = np.repeat(codes, 2 * n_periods)
    cat_col = np.tile(np.repeat(categories, n_periods), n_areas)
    period_col = np.tile(periods.to_numpy(), n_areas * 2)
    incidents = pd.DataFrame(
        {
            "area_code": area_col, "period_start": period_col, "freq": "M", "category": cat_col,
            "count": counts.reshape(n_cells).astype(np.int64), "source": "scenario",
        }
    )  # fmt: skip
    truth = pd.DataFrame(
        {
            "area_code": area_col, "category": cat_col, "period_start": period_col,
            "intensity": np.repeat(recorded.reshape(-1), n_periods), "freq": "M",
            "offence_intensity": np.repeat(offence.reshape(-1), n_periods),
        }
    )  # fmt: skip
    year = periods[0].year
    covariates = pd.DataFrame(
        {"area_code": codes, "year": year, "variable": RESIDENTS.default, "value": residents}
    )
    income = pd.DataFrame(
        {"area_code": codes, "year": year, "variable": INCOME.default,
         "value": np.round(rng.normal(30.0, 5.0, n_areas), 1)}
    )  # fmt: skip
    protected = pd.DataFrame(
        {"area_code": codes, "year": year, "attribute": ATTRIBUTE, "value": np.round(share, 4)}
    )
    tables = {
        "incidents": incidents,
        "covariates": pd.concat([covariates, income], ignore_index=True),
        "protected": protected,
        "truth": truth,
    }
    return BiasScenario(tables, pd.Timestamp(periods[n_periods - n_periods // 4]))
