"""CBS "Kerncijfers wijken en buurten" into canonical covariates, and origin shares into ``protected`` only.

Columns are resolved per year from the table's DataProperties (the positional ``_N`` suffix shifts between
years). Secret values, nulls and the sentinels -99997/-99995/-99991 are missing (no row), never zero. The
origin ("herkomst") definition changed in 2023: 2019–2022 western / non-western shares and 2023+ Europe /
outside-Europe shares are stored under different attribute names (suffix ``_2019def`` / ``_2023def``)
and never blended into one series.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import pandas as pd

from pulsetwin.exceptions import ParameterError, SourceError, bad_parameter
from pulsetwin.schema.variables import RESIDENTS
from pulsetwin.sources.dataset import Dataset, provenance_of
from pulsetwin.sources.http import HttpClient, Response
from pulsetwin.sources.odata import clean_measure, data_properties, fetch_rows, resolve_key, startswith_any
from pulsetwin.sources.settings import CBS_ROW_CAP, KERNCIJFERS_TABLES

GEMEENTE_CODE: Final = re.compile(r"^GM\d{4}$")
REGION: Final = "WijkenEnBuurten"
BOUNDARY_CHANGE: Final = "IndelingswijzigingWijkenEnBuurten"
INHABITANTS: Final = RESIDENTS.default

COVARIATE_CONCEPTS: Final = (
    "AantalInwoners",
    "k_0Tot15Jaar",
    "k_15Tot25Jaar",
    "k_25Tot45Jaar",
    "k_45Tot65Jaar",
    "k_65JaarOfOuder",
    "Bevolkingsdichtheid",
    "GemiddeldeWOZWaardeVanWoningen",
    "GemiddeldInkomenPerInwoner",
    "HuishOnderOfRondSociaalMinimum",
    "Koopwoningen",
    "HuurwoningenTotaal",
    "MateVanStedelijkheid",
    "HuishoudensTotaal",
)
"""Measures stored as covariates, named by the measure key without its ``_N`` suffix."""

ORIGIN_ATTRIBUTES: Final[dict[str, str]] = {
    "WestersTotaal": "migration_western_share_2019def",
    "NietWestersTotaal": "migration_non_western_share_2019def",
    "Nederland": "origin_netherlands_share_2023def",
    "EuropaExclusiefNederland": "migration_europe_share_2023def",
    "BuitenEuropa": "migration_outside_europe_share_2023def",
}
"""Origin measures (audit-only) by exact key stem; the suffix names the definition they follow."""


def check_gemeente(code: str) -> str:
    """Return ``code`` when it is a CBS municipality code (``GM`` + 4 digits), else raise ParameterError."""
    if not GEMEENTE_CODE.match(code):
        raise bad_parameter("gemeente", "fetch", "a CBS municipality code such as 'GM0917'", code)
    return code


def fetch_kerncijfers(
    client: HttpClient, gemeente: str, years: Sequence[int], *, concepts: Sequence[str] = COVARIATE_CONCEPTS
) -> Dataset:
    """Fetch every year completely, then return covariates and protected frames (nothing is written here).

    Parameters
    ----------
    client
        The HTTP client (its settings hold the CBS base URL).
    gemeente
        Municipality code, e.g. ``GM0917``; the gemeente, its wijken and buurten are fetched.
    years
        Boundary years; each maps to its own Kerncijfers table.
    concepts
        Measure keys without suffix kept as covariates; one absent in a year is reported, not invented.
    """
    check_gemeente(gemeente)
    unknown = sorted(set(years) - set(KERNCIJFERS_TABLES))
    if unknown or not years:
        raise ParameterError(
            f"The 'years' parameter of fetch cbs must be years with a Kerncijfers table "
            f"({min(KERNCIJFERS_TABLES)}-{max(KERNCIJFERS_TABLES)}). Got {unknown or list(years)!r} instead."
        )
    root = client.settings.cbs_url.rstrip("/")
    covariates, protected, responses, messages = [], [], [], []
    definitions: dict[int, str] = {}
    missing: dict[int, list[str]] = {}
    changed: dict[int, list[str]] = {}
    for year in sorted(set(years)):
        table = KERNCIJFERS_TABLES[year]
        part = _fetch_year(client, root, table, year, gemeente, concepts)
        covariates.append(part.covariates)
        protected.append(part.protected)
        responses.extend(part.responses)
        definitions[year] = part.definition
        changed[year] = part.changed
        if part.missing:
            missing[year] = part.missing
            messages.append(f"{year} ({table}): not published: {', '.join(part.missing)}")
    tables = [KERNCIJFERS_TABLES[y] for y in sorted(set(years))]
    provenance = provenance_of(
        "cbs-kerncijfers-wijken-en-buurten",
        tables=tables,
        boundary_years=sorted(set(years)),
        url=root,
        responses=responses,
        gemeente=gemeente,
        origin_definitions=definitions,
        missing_measures=missing,
        boundary_changed_codes=changed,
    )
    frames = {"covariates": pd.concat(covariates, ignore_index=True), "protected": pd.concat(protected)}
    frames["protected"] = frames["protected"].reset_index(drop=True)
    if set(definitions.values()) == {"2019def", "2023def"}:
        messages.append(
            "origin shares follow two definitions (2019def up to 2022, 2023def from 2023); stored under "
            "different attribute names and not comparable across the break"
        )
    return Dataset(frames, f"cbs:{'+'.join(tables)}", provenance, tuple(messages))


class _Year:
    """One year's long frames and what was found out about them."""

    def __init__(
        self,
        covariates: pd.DataFrame,
        protected: pd.DataFrame,
        responses: list[Response],
        definition: str,
        missing: list[str],
        changed: list[str],
    ) -> None:
        self.covariates, self.protected, self.responses = covariates, protected, responses
        self.definition, self.missing, self.changed = definition, missing, changed


def _fetch_year(
    client: HttpClient, root: str, table: str, year: int, gemeente: str, concepts: Sequence[str]
) -> _Year:
    properties, responses = data_properties(client, root, table)
    measures = {c: k for c in concepts if (k := resolve_key(properties, c)) is not None}
    origins = {s: k for s in ORIGIN_ATTRIBUTES if (k := resolve_key(properties, s, prefix=False)) is not None}
    if INHABITANTS not in measures:
        raise SourceError(
            f"{table} ({year}): DataProperties has no '{INHABITANTS}' measure. Fix: check the table id "
            f"setting for {year}"
        )
    change_key = resolve_key(properties, BOUNDARY_CHANGE, prefix=False)
    keys = [*measures.values(), *origins.values(), *([change_key] if change_key else [])]
    digits = gemeente[2:]
    result = fetch_rows(
        client,
        f"{root}/{table}/TypedDataSet",
        {
            "$filter": startswith_any(REGION, [gemeente, f"WK{digits}", f"BU{digits}"]),
            "$select": ",".join([REGION, *keys]),
        },
        top=CBS_ROW_CAP,
    )
    responses.extend(result.responses)
    if result.truncated:
        raise SourceError(
            f"{table}: {len(result.rows)} rows hit the row cap for {gemeente}. Fix: report this"
        )
    frame = pd.DataFrame(result.rows, columns=[REGION, *keys])
    where = f"{table} ({year}) TypedDataSet"
    if frame.empty:
        raise SourceError(f"{where}: no rows for {gemeente}. Fix: check the municipality code and the year")
    if frame[REGION].isna().any():
        raise SourceError(f"{where}: a row without '{REGION}'. Fix: report the table to CBS")
    codes = frame[REGION].astype(str).str.strip()
    values = pd.DataFrame(
        {key: clean_measure(frame[key], where=f"{where}, column '{key}'", keys=codes) for key in keys},
        index=frame.index,
    )
    covariates = _long(codes, values, measures, "variable")
    shares = pd.DataFrame(index=frame.index)
    units = properties.set_index("Key")["Unit"].astype("string").fillna("")
    inhabitants = values[measures[INHABITANTS]].where(lambda v: v > 0)
    for _stem, key in origins.items():
        percent = "%" in str(units.get(key, ""))
        shares[key] = values[key] / 100.0 if percent else values[key] / inhabitants
    protected = _long(codes, shares, {ORIGIN_ATTRIBUTES[s]: k for s, k in origins.items()}, "attribute")
    definition = "+".join(sorted({ORIGIN_ATTRIBUTES[s].rsplit("_", 1)[1] for s in origins})) or "none"
    changed = sorted(codes[values[change_key].isin([2.0, 3.0])].tolist()) if change_key else []
    missing = [c for c in concepts if c not in measures]
    covariates.insert(1, "year", year)
    protected.insert(1, "year", year)
    return _Year(covariates, protected, responses, definition, missing, changed)


def _long(codes: pd.Series, values: pd.DataFrame, names: dict[str, str], column: str) -> pd.DataFrame:
    """Wide measures to long ``area_code, <column>, value`` rows; missing values get no row."""
    wide = pd.DataFrame({name: values[key].to_numpy() for name, key in names.items()}, index=codes.to_numpy())
    wide.index.name = "area_code"
    long = wide.reset_index().melt(id_vars="area_code", var_name=column, value_name="value")
    long = long[long["value"].notna()].reset_index(drop=True)
    long["value"] = long["value"].astype("float64")
    long["area_code"] = long["area_code"].astype(str)
    return long
