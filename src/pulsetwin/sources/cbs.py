"""CBS "Kerncijfers wijken en buurten" into canonical covariates, and origin shares into ``protected`` only.

Columns are resolved per year from the table's DataProperties (the positional ``_N`` suffix shifts between
years). Secret values, nulls and the sentinels -99997/-99995/-99991 are missing (no row), never zero. The
origin ("herkomst") definition changed in 2023: 2019–2022 western / non-western shares and 2023+ Europe /
outside-Europe shares are stored under different attribute names (suffix ``_2019def`` / ``_2023def``)
and never blended into one series. From 2024 each origin stem repeats under several groupings
(``Nederland_17`` under "Herkomstland", ``Nederland_20`` under another group): the key is resolved by its
DataProperties group, and an origin column that cannot be resolved is reported, never fatal to the covariates.
A concept a year no longer publishes (``HuishOnderOfRondSociaalMinimum`` from 2024) is reported as missing.
Rows are read from the paged ``ODataFeed`` endpoint (the ``ODataApi`` one refuses more than 10,000 cells).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import pandas as pd

from pulsetwin.exceptions import ParameterError, SourceError, bad_parameter
from pulsetwin.schema.variables import ORIGIN_ATTRIBUTES, RESIDENTS
from pulsetwin.sources.dataset import Dataset, provenance_of
from pulsetwin.sources.http import HttpClient, Response
from pulsetwin.sources.odata import (
    AmbiguousKey,
    clean_measure,
    data_properties,
    fetch_rows,
    resolve_key,
    startswith_any,
)
from pulsetwin.sources.settings import KERNCIJFERS_TABLES, feed_root

GEMEENTE_CODE: Final = re.compile(r"^GM\d{4}$")
REGION: Final = "WijkenEnBuurten"
BOUNDARY_CHANGE: Final = ("IndelingswijzigingWijkenEnBuurten", "IndelingswijzigingGemeenteWijkBuurt")
"""The boundary-change column (1 unchanged, 2 code changed, 3 boundary changed): renamed from 2023 (85618NED)."""
ORIGIN_GROUP: Final = "Herkomstland"
"""The DataProperties group (parent ``Title``) holding the origin totals when a stem repeats (2024+)."""
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
    missing: dict[int, dict[str, str]] = {}
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
            reasons: dict[str, list[str]] = {}
            for name, why in part.missing.items():
                reasons.setdefault(why, []).append(name)
            shown = "; ".join(f"{', '.join(names)} ({why})" for why, names in reasons.items())
            messages.append(f"{year} ({table}): not stored: {shown}")
        if part.changed:
            messages.append(
                f"{year} ({table}): {len(part.changed)} area(s) changed code or boundary since the previous "
                f"year: {', '.join(part.changed)}"
            )
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
        missing: dict[str, str],
        changed: list[str],
    ) -> None:
        self.covariates, self.protected, self.responses = covariates, protected, responses
        self.definition, self.missing, self.changed = definition, missing, changed


def _fetch_year(
    client: HttpClient, root: str, table: str, year: int, gemeente: str, concepts: Sequence[str]
) -> _Year:
    properties, responses = data_properties(client, root, table)
    measures: dict[str, str] = {}
    missing: dict[str, str] = {}
    for concept in concepts:
        try:
            key = resolve_key(properties, concept)
        except AmbiguousKey as error:
            missing[concept] = f"ambiguous: {', '.join(error.candidates)}"
            continue
        if key is None:
            missing[concept] = "not published in this table"
        else:
            measures[concept] = key
    origins: dict[str, str] = {}
    for stem in ORIGIN_ATTRIBUTES:
        try:
            key = resolve_key(properties, stem, prefix=False, group=ORIGIN_GROUP)
        except AmbiguousKey as error:  # audit-only: reported, never fatal to the covariates
            missing[ORIGIN_ATTRIBUTES[stem]] = (
                f"audit-only origin column ambiguous: {', '.join(error.candidates)}"
            )
            continue
        if key is not None:
            origins[stem] = key
    if INHABITANTS not in measures:
        raise SourceError(
            f"{table} ({year}): DataProperties has no single '{INHABITANTS}' measure "
            f"({missing.get(INHABITANTS, 'absent')}). Fix: check the table id setting for {year}"
        )
    change_keys = [k for stem in BOUNDARY_CHANGE if (k := resolve_key(properties, stem, prefix=False))]
    change_key = change_keys[0] if change_keys else None
    if change_key is None:
        missing["boundary_change"] = f"no column {' or '.join(BOUNDARY_CHANGE)}"
    keys = [*measures.values(), *origins.values(), *([change_key] if change_key else [])]
    digits = gemeente[2:]
    result = fetch_rows(
        client,
        f"{feed_root(root)}/{table}/TypedDataSet",
        {
            "$filter": startswith_any(REGION, [gemeente, f"WK{digits}", f"BU{digits}"]),
            "$select": ",".join([REGION, *keys]),
        },
    )
    responses.extend(result.responses)
    frame = pd.DataFrame(result.rows, columns=[REGION, *keys])
    where = f"{table} ({year}) TypedDataSet"
    if frame.empty:
        raise SourceError(f"{where}: no rows for {gemeente}. Fix: check the municipality code and the year")
    if frame[REGION].isna().any():
        raise SourceError(f"{where}: a row without '{REGION}'. Fix: report the table to CBS")
    codes = frame[REGION].astype(str).str.strip()
    cleaned: dict[str, pd.Series] = {}
    for key in keys:
        try:
            cleaned[key] = clean_measure(frame[key], where=f"{where}, column '{key}'", keys=codes)
        except SourceError as error:
            origin = next((s for s, k in origins.items() if k == key), None)
            if origin is None:
                raise
            missing[ORIGIN_ATTRIBUTES[origin]] = f"audit-only origin column unreadable: {error}"
            del origins[origin]  # audit-only: reported, never fatal to the covariates
    values = pd.DataFrame(cleaned, index=frame.index)
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
