"""Area covariates as known at a forecast origin, as a standardised wide matrix.

Rule: for each area and variable the value of the latest year ``<= origin.year - 1`` (a year's statistics are
published after it ends), never a later year. Non-negative variables also enter as ``log1p`` (effects on counts
are multiplicative, sizes such as population are skewed). Columns are z-scored across the modelled areas; a
value missing for an area becomes 0 (the mean) after scaling and is flagged in ``missing_share``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.tables import COVARIATES


@dataclass(frozen=True)
class CovariateMatrix:
    """Standardised covariates: ``values`` (areas, features) with feature ``names`` and the share imputed."""

    values: np.ndarray
    names: tuple[str, ...]
    missing_share: dict[str, float]


def known_at(covariates: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """Long covariates reduced to the latest year ``<= origin.year - 1`` per area and variable."""
    missing = [c for c in COVARIATES.column_names if c not in covariates.columns]
    if missing:
        raise SchemaError(
            f"covariates must have the columns {', '.join(COVARIATES.column_names)}; "
            f"missing {', '.join(missing)}",
            where=Location(file="history.covariates"),
            fix="pass canonical long covariates",
        )
    usable = covariates.loc[
        covariates["year"].to_numpy() <= origin.year - 1, ["area_code", "year", "variable", "value"]
    ]
    usable = usable.dropna(subset=["value"]).sort_values(["area_code", "variable", "year"], kind="stable")
    return usable.drop_duplicates(["area_code", "variable"], keep="last").reset_index(drop=True)


def covariate_matrix(
    covariates: pd.DataFrame | None, codes: Sequence[str], origin: pd.Timestamp
) -> CovariateMatrix:
    """Wide standardised covariates for ``codes`` (in that order) as known at ``origin``.

    Variables without variation among the areas are dropped (they cannot inform a cross-sectional effect).
    """
    if covariates is None or len(covariates) == 0:
        return CovariateMatrix(np.zeros((len(codes), 0)), (), {})
    latest = known_at(covariates, origin)
    wide = latest.pivot(index="area_code", columns="variable", values="value")
    wide = wide.reindex(pd.Index(list(codes), dtype=object)).sort_index(axis=1)
    columns: list[np.ndarray] = []
    names: list[str] = []
    missing_share: dict[str, float] = {}
    for variable in wide.columns:
        raw = wide[variable].to_numpy(dtype=float)
        known = ~np.isnan(raw)
        if known.sum() < 2:
            continue
        variants = [(str(variable), raw)]
        if np.nanmin(raw) >= 0:
            variants.append((f"log1p_{variable}", np.log1p(raw)))
        for name, column in variants:
            sd = np.nanstd(column)
            if not sd > 0:
                continue
            columns.append(np.where(known, (column - np.nanmean(column)) / sd, 0.0))
            names.append(name)
            missing_share[name] = float(1.0 - known.mean())
    values = np.column_stack(columns) if columns else np.zeros((len(codes), 0))
    return CovariateMatrix(values, tuple(names), missing_share)
