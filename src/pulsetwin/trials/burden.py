"""Who bore the intervention: treated buurten per group of each audit-only protected attribute.

Read as the audit reads it (:func:`pulsetwin.store.protected.read_protected`, logged; one attribute of one year,
:func:`pulsetwin.audit.attributes.attribute_values`); the attributes never enter the design or the analysis.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pulsetwin.audit.attributes import attribute_values, audit_year
from pulsetwin.store.database import Store
from pulsetwin.store.protected import read_protected

GROUPS = 4
"""Quartiles of each attribute over all buurten."""


def burden(store: Store, units: pd.DataFrame, start: pd.Timestamp, *, actor: str = "trial") -> dict[str, Any]:
    """Per attribute and quartile group: buurten, eligible and treated buurten, and the treated share.

    Returns ``{"groups": [...], "unavailable": reason or None}``.
    """
    protected = read_protected(store, actor=actor)
    if protected.empty:
        return {"groups": [], "unavailable": "the store holds no protected attributes (audit-only table)"}
    areas = store.read("areas")
    codes = pd.Index(areas.loc[areas["level"] == "buurt", "area_code"].astype(str).unique())
    year = audit_year(protected["year"], start, "protected")
    treated = set(units.loc[units["treated"], "area_code"])
    eligible = set(units["area_code"])
    rows: list[dict[str, Any]] = []
    for attribute in sorted(protected.loc[protected["year"] == year, "attribute"].unique()):
        values = attribute_values(protected, attribute, year, codes)
        groups = pd.qcut(values.values.rank(method="first"), GROUPS, labels=False)
        for group in range(GROUPS):
            members = values.values.index[groups == group]
            low, high = values.values[members].min(), values.values[members].max()
            n_treated = sum(c in treated for c in members)
            rows.append({
                "attribute": attribute, "year": year, "definition": values.definition, "group": group + 1,
                "range": [float(low), float(high)], "buurten": len(members),
                "eligible": sum(c in eligible for c in members), "treated": n_treated,
                "share_of_treated": n_treated / max(len(treated), 1),
            })  # fmt: skip
    return {"groups": rows, "unavailable": None}
