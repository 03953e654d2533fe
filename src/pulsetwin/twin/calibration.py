"""Recorded yearly rates per 1,000 inhabitants and their check against documented ranges.

Ranges and their sources live in :data:`pulsetwin.twin.parameters.CALIBRATION` (CBS StatLine 47018NED and
47024NED, Politie open data, CBS Veiligheidsmonitor). They describe a Dutch municipality of Heerlen's type.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from pulsetwin.schema.variables import RESIDENTS
from pulsetwin.twin.parameters import CALIBRATION, CATEGORIES


def recorded_rates(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Recorded events per 1,000 inhabitants per year by category, averaged over the years.

    Inhabitants are the sum of the residents variable (``AantalInwoners``) over the gemeenten in each year's covariates.
    """
    areas = tables["areas"]
    gemeenten = set(areas.loc[areas["level"] == "gemeente", "area_code"])
    cov = tables["covariates"]
    pop = (
        cov[(cov["variable"] == RESIDENTS.default) & cov["area_code"].isin(gemeenten)]
        .groupby("year")["value"]
        .sum()
    )
    events = tables["events"]
    counts = events.groupby([events["category"], events["occurred_at"].dt.year]).size().unstack(fill_value=0)
    counts = counts.reindex(index=[c.slug for c in CATEGORIES], columns=pop.index, fill_value=0)
    return (counts / pop * 1000.0).mean(axis=1).rename("recorded_per_1000")


def check_calibration(tables: Mapping[str, pd.DataFrame], offences: pd.DataFrame) -> pd.DataFrame:
    """One row per checked quantity: ``name, value, low, high, ok, source``.

    Checks each category's recorded rate, the subtotal of police-recorded categories, and the share of
    reported offences (recorded / all) over the categories that depend on reporting.
    """
    rates = recorded_rates(tables)
    values: dict[str, float] = {str(k): float(v) for k, v in rates.items()}
    values["police_subtotal"] = float(rates[[c.slug for c in CATEGORIES if c.source == "twin-police"]].sum())
    reported = offences["category"].isin([c.slug for c in CATEGORIES if c.observation == "report"])
    values["reporting_share"] = float(offences.loc[reported, "recorded"].mean())
    rows = [
        {
            "name": name,
            "value": float(value),
            "low": CALIBRATION[name].low,
            "high": CALIBRATION[name].high,
            "ok": CALIBRATION[name].low <= value <= CALIBRATION[name].high,
            "source": CALIBRATION[name].source,
        }
        for name, value in values.items()
    ]
    return pd.DataFrame(rows)
