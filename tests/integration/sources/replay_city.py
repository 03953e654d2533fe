"""A small invented municipality served in the documented formats of CBS Kerncijfers, police and PDOK.

Everything is generated in memory from one seed: 14 buurten in 3 wijken of ``GM9999`` ("Proefstad"), 500 m
squares in EPSG:28992 near Heerlen, plus one water buurt. The answers follow DATA_SOURCES.md: Kerncijfers
tables for 2022 (western / non-western counts) and 2023 (origin percentages) whose DataProperties suffixes
shift between the years, space-padded keys, random rounding to multiples of 5 and secret cells (null and the
-99997/-99995 sentinels); police 47022NED by offence code (the ``0.0.0`` roll-up, a code outside the
vocabulary, withheld nulls, yearly ``JJ00`` keys) and 47024NED nuisance with its ``Overlast`` dimension (the
total plus two subtypes), monthly; PDOK GeoJSON collections with their queryables, served in cursor pages.
A neighbouring municipality ``GM9998`` is present in every source and must be filtered out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import shapely
from replay_server import Replay

GEMEENTE: Final = "GM9999"
NAME: Final = "Proefstad"
NEIGHBOUR_BUURT: Final = "BU99980101"
ORIGIN_X, ORIGIN_Y = 195_000, 318_000
"""Lower-left corner of the municipality in RD New metres (near Heerlen)."""
SIDE: Final = 500
WIJKEN: Final = (("01", "Centrum", 2, 2), ("02", "Noord", 2, 3), ("03", "Oost", 2, 2))
"""Wijk suffix, name and its grid of buurten (columns, rows): 4 + 6 + 4 = 14 buurten."""
WATER_BUURT: Final = "BU99990399"
FIRST_MONTH: Final = pd.Period("2021-01", freq="M")
PUBLISHED_MONTHS: Final = 38
"""2021-01 .. 2024-02; the connector drops the two newest (reporting lag), leaving 36 complete months."""
OFFENCE_RATES: Final[dict[str, float]] = {
    "1.1.1 ": 0.60,  # burglary_residential
    "1.4.4 ": 0.35,  # violence (threats)
    "1.4.5 ": 0.45,  # violence (assault): summed with 1.4.4 into one slug
    "2.2.1 ": 0.80,  # vandalism
    "3.7.4 ": 0.30,  # cybercrime: outside the vocabulary, kept as police_3_7_4
}
"""Monthly crimes per 1,000 inhabitants by padded SoortMisdrijf key; ``0.0.0`` is their (larger) roll-up."""
NUISANCE_RATE: Final = 1.5
NUISANCE_TOTAL: Final = "A045370"
"""The ``Overlast`` key of "Totaal registraties overlast"; the subtypes add up to it where all are published."""
KERNCIJFERS: Final[dict[int, tuple[str, dict[str, int]]]] = {
    2022: (
        "85318NED",
        {
            "WestersTotaal": 17,
            "NietWestersTotaal": 18,
            "HuishoudensTotaal": 28,
            "Bevolkingsdichtheid": 33,
            "GemiddeldeWOZWaardeVanWoningen": 35,
            "Koopwoningen": 40,
            "HuurwoningenTotaal": 41,
            "GemiddeldInkomenPerInwoner": 67,
            "HuishOnderOfRondSociaalMinimum": 80,
            "MateVanStedelijkheid": 116,
        },
    ),
    2023: (
        "85618NED",
        {
            "Nederland": 17,
            "EuropaExclusiefNederland": 18,
            "BuitenEuropa": 19,
            "HuishoudensTotaal": 29,
            "Bevolkingsdichtheid": 34,
            "GemiddeldeWOZWaardeVanWoningen": 36,
            "Koopwoningen": 41,
            "HuurwoningenTotaal": 42,
            "GemiddeldInkomenPerInwoner": 70,
            "HuishOnderOfRondSociaalMinimum": 83,
            "MateVanStedelijkheid": 118,
        },
    ),
}
"""Table id and the shifting positional suffix of every measure per boundary year (stable ones below)."""
STABLE: Final[dict[str, int]] = {
    "AantalInwoners": 5,
    "k_0Tot15Jaar": 8,
    "k_15Tot25Jaar": 9,
    "k_25Tot45Jaar": 10,
    "k_45Tot65Jaar": 11,
    "k_65JaarOfOuder": 12,
}
UNITS: Final[dict[str, str]] = {
    "Nederland": "%",
    "EuropaExclusiefNederland": "%",
    "BuitenEuropa": "%",
    "Bevolkingsdichtheid": "aantal inwoners per km²",
    "GemiddeldeWOZWaardeVanWoningen": "x 1 000 euro",
    "GemiddeldInkomenPerInwoner": "x 1 000 euro",
    "HuishOnderOfRondSociaalMinimum": "%",
    "Koopwoningen": "%",
    "HuurwoningenTotaal": "%",
    "MateVanStedelijkheid": "code",
}
SECRET: Final = -99997
LATER: Final = -99995


@dataclass(frozen=True)
class ReplayCity:
    """The generated answers (in the shapes :class:`replay_server.Replay` serves) and what they hold."""

    cbs: dict[str, Any]
    police: dict[str, Any]
    pdok: dict[str, Any]
    buurten: tuple[str, ...]

    def replay(self, *, pdok_page: int = 4) -> Replay:
        """A replay state serving this city; PDOK pages hold at most ``pdok_page`` features."""
        return PagedReplay(cbs=self.cbs, police=self.police, pdok=self.pdok, page_cap=pdok_page)


@dataclass
class PagedReplay(Replay):
    """The replay server with a server-side cap on OGC API page size, so a client asking for 1,000 features
    still has to follow ``next`` links (the real service caps ``limit`` too)."""

    page_cap: int = 4

    def ogc(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """Serve one page of at most ``page_cap`` features."""
        capped = {**query, "limit": str(min(int(query.get("limit", "10")), self.page_cap))}
        return super().ogc(path, capped)


def build_city(seed: int = 20240601) -> ReplayCity:
    """Generate the city's geometry, Kerncijfers for 2022 and 2023, and 38 published police months."""
    rng = np.random.default_rng(seed)
    squares, parents, names = _layout()
    buurten = tuple(code for code in squares if code.startswith("BU") and code != WATER_BUURT)
    people = {
        code: int(v) for code, v in zip(buurten, _round5(rng.lognormal(7.2, 0.6, len(buurten))), strict=True)
    }
    people[buurten[-1]] = 85  # a small buurt: income is secret under 100 inhabitants
    wealth = dict(zip(buurten, rng.normal(0.0, 1.0, len(buurten)), strict=True))
    return ReplayCity(
        cbs=_kerncijfers(rng, squares, parents, people, wealth),
        police=_police(rng, buurten, people, wealth),
        pdok=_pdok(squares, parents, names),
        buurten=buurten,
    )


def _round5(values: np.ndarray) -> np.ndarray:
    """CBS disclosure control: person and household counts rounded to multiples of 5."""
    return (np.round(values / 5.0) * 5).astype(np.int64)


def _layout() -> tuple[dict[str, shapely.Polygon], dict[str, str], dict[str, str]]:
    """Square buurten per wijk (wijken side by side), the water buurt, and wijk / gemeente polygons."""
    digits = GEMEENTE[2:]
    squares: dict[str, shapely.Polygon] = {}
    parents: dict[str, str] = {}
    names: dict[str, str] = {GEMEENTE: NAME}
    left = ORIGIN_X
    for suffix, wijk_name, columns, rows in WIJKEN:
        wijk = f"WK{digits}{suffix}"
        names[wijk], parents[wijk] = wijk_name, GEMEENTE
        cells = [(c, r) for r in range(rows) for c in range(columns)]
        for number, (c, r) in enumerate(cells, start=1):
            code = f"BU{digits}{suffix}{number:02d}"
            x, y = left + c * SIDE, ORIGIN_Y + r * SIDE
            squares[code] = shapely.box(x, y, x + SIDE, y + SIDE)
            parents[code], names[code] = wijk, f"{wijk_name} {number}"
        left += columns * SIDE
    last = f"WK{digits}{WIJKEN[-1][0]}"
    x, y = left - SIDE, ORIGIN_Y + WIJKEN[-1][3] * SIDE
    squares[WATER_BUURT] = shapely.box(x, y, x + SIDE, y + SIDE)
    parents[WATER_BUURT], names[WATER_BUURT] = last, "Plas"
    for wijk in [w for w in parents.values() if w.startswith("WK")]:
        squares[wijk] = shapely.union_all([g for code, g in squares.items() if parents.get(code) == wijk])
    squares[GEMEENTE] = shapely.union_all([g for code, g in squares.items() if code.startswith("WK")])
    return squares, parents, names


def _feature(code: str, geometry: shapely.Geometry, properties: dict[str, str]) -> dict[str, Any]:
    """One GeoJSON feature with integer RD coordinates."""
    ring = [[int(x), int(y)] for x, y in shapely.get_coordinates(shapely.normalize(geometry).exterior)]
    return {"type": "Feature", "id": code, "properties": properties,
            "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip


def _pdok(
    squares: dict[str, shapely.Polygon], parents: dict[str, str], names: dict[str, str]
) -> dict[str, Any]:
    """The gemeenten, wijken and buurten collections (with one buurt of the neighbour, to be filtered out)."""
    water = {code: "JA" if code == WATER_BUURT else "NEE" for code in squares}
    layers: dict[str, list[dict[str, Any]]] = {"gemeenten": [], "wijken": [], "buurten": []}
    for code, geometry in squares.items():
        base = {"gemeentecode": GEMEENTE, "water": water[code]}
        if code == GEMEENTE:
            layers["gemeenten"].append(_feature(code, geometry, {**base, "gemeentenaam": NAME}))
        elif code.startswith("WK"):
            layers["wijken"].append(
                _feature(code, geometry, {**base, "wijkcode": code, "wijknaam": names[code]})
            )
        else:
            props = {**base, "buurtcode": code, "buurtnaam": names[code], "wijkcode": parents[code]}
            layers["buurten"].append(_feature(code, geometry, props))
    x = ORIGIN_X + 10 * SIDE
    other = {"gemeentecode": "GM9998", "water": "NEE", "buurtcode": NEIGHBOUR_BUURT, "buurtnaam": "Elders",
             "wijkcode": "WK999801"}  # fmt: skip
    layers["buurten"].insert(
        3, _feature(NEIGHBOUR_BUURT, shapely.box(x, ORIGIN_Y, x + SIDE, ORIGIN_Y + SIDE), other)
    )
    out: dict[str, Any] = {n: {"type": "FeatureCollection", "features": f} for n, f in layers.items()}
    out["queryables"] = {
        "gemeenten": ["gemeentenaam"],
        "wijken": ["gemeentecode"],
        "buurten": ["gemeentecode"],
    }
    return out


# ---------------------------------------------------------------------------------------------- Kerncijfers
def _kerncijfers(
    rng: np.random.Generator,
    squares: dict[str, shapely.Polygon],
    parents: dict[str, str],
    people: dict[str, int],
    wealth: dict[str, float],
) -> dict[str, Any]:
    """Both Kerncijfers tables: DataProperties with this year's suffixes and the TypedDataSet rows."""
    out: dict[str, Any] = {}
    for year, (table, shifting) in KERNCIJFERS.items():
        suffix = {**STABLE, **shifting}
        key = {concept: f"{concept}_{n}" for concept, n in suffix.items()}
        grown = {
            code: int(_round5(np.array([n * (1 + 0.01 * (year - 2022))]))[0]) for code, n in people.items()
        }
        rows = [_buurt_row(rng, year, code, grown[code], wealth[code], squares[code]) for code in grown]
        rows.append(_water_row(year))
        rows += _aggregate_rows(rows, parents, squares)
        rows.append({**rows[0], "code": NEIGHBOUR_BUURT, "name": "Elders"})
        out[table] = {
            "DataProperties": _properties(key, _change_column(year)),
            "TypedDataSet": [_typed(i, row, key, year) for i, row in enumerate(rows)],
        }
    return out


def _buurt_row(
    rng: np.random.Generator, year: int, code: str, inhabitants: int, wealth: float, square: shapely.Polygon
) -> dict[str, Any]:
    """Measures of one buurt in concept names; None marks a secret (null) cell."""
    ages = rng.dirichlet([3.0, 2.0, 4.0, 4.0, 3.0]) * inhabitants
    households = int(_round5(np.array([inhabitants / rng.uniform(1.8, 2.4)]))[0])
    abroad = float(np.clip(0.12 - 0.05 * wealth + rng.normal(0, 0.02), 0.02, 0.4))
    europe = float(np.clip(rng.normal(0.06, 0.01), 0.01, 0.2))
    income = 27.0 + 4.0 * wealth + rng.normal(0, 0.5)
    row: dict[str, Any] = {
        "code": code,
        "name": NAME,
        "AantalInwoners": inhabitants,
        **dict(zip(list(STABLE)[1:], _round5(ages).tolist(), strict=True)),
        "HuishoudensTotaal": households,
        "Bevolkingsdichtheid": round(inhabitants / (square.area / 1e6)),
        "GemiddeldeWOZWaardeVanWoningen": round(230 + 45 * wealth + rng.normal(0, 5)),
        "Koopwoningen": round(float(np.clip(55 + 12 * wealth, 5, 95)), 1),
        "HuurwoningenTotaal": round(float(np.clip(45 - 12 * wealth, 5, 95)), 1),
        "GemiddeldInkomenPerInwoner": round(income, 1) if inhabitants >= 100 else SECRET,
        "HuishOnderOfRondSociaalMinimum": round(float(np.clip(9 - 3 * wealth, 1, 30)), 1),
        "MateVanStedelijkheid": 2,
        "change": 1,
    }
    if year <= 2022:
        row["WestersTotaal"] = int(_round5(np.array([inhabitants * (europe + 0.03)]))[0])
        row["NietWestersTotaal"] = int(_round5(np.array([inhabitants * abroad]))[0])
    else:
        row["Nederland"] = round(100 * (1 - abroad - europe), 1)
        row["EuropaExclusiefNederland"] = round(100 * europe, 1)
        row["BuitenEuropa"] = round(100 * abroad, 1)
    return row


def _water_row(year: int) -> dict[str, Any]:
    """The water buurt: no inhabitants, almost everything secret or published later."""
    origin = (
        {"WestersTotaal": 0, "NietWestersTotaal": 0}
        if year <= 2022
        else {"Nederland": None, "EuropaExclusiefNederland": None, "BuitenEuropa": SECRET}
    )
    empty = dict.fromkeys([*STABLE, "HuishoudensTotaal"], 0)
    secret = dict.fromkeys(
        ["Bevolkingsdichtheid", "GemiddeldInkomenPerInwoner", "HuishOnderOfRondSociaalMinimum"]
    )
    return {"code": WATER_BUURT, "name": NAME, **empty, **secret, **origin, "GemiddeldeWOZWaardeVanWoningen": LATER,
            "Koopwoningen": SECRET, "HuurwoningenTotaal": SECRET, "MateVanStedelijkheid": 5, "change": 1}  # fmt: skip


def _aggregate_rows(
    rows: list[dict[str, Any]], parents: dict[str, str], squares: dict[str, shapely.Polygon]
) -> list[dict[str, Any]]:
    """Wijk and gemeente rows: sums of counts, inhabitant-weighted means of the rest (secrets skipped)."""
    frame = pd.DataFrame(rows).set_index("code").drop(columns=["name"])
    frame = frame.mask(frame.isin([SECRET, LATER])).astype("float64")
    counts = [*STABLE, "HuishoudensTotaal", "WestersTotaal", "NietWestersTotaal"]
    out = []
    for code in [*sorted({parents[c] for c in frame.index}), GEMEENTE]:
        members = frame[[parents[c] == code or code == GEMEENTE for c in frame.index]]
        weights = members["AantalInwoners"]
        row: dict[str, Any] = {"code": code, "name": NAME}
        for column in members.columns:
            if column in counts:
                total = members[column].sum(min_count=1)
                row[column] = None if pd.isna(total) else int(total)
            else:
                known = members[column].notna() & (weights > 0)
                mean = np.average(members.loc[known, column], weights=weights[known]) if known.any() else None
                row[column] = None if mean is None else round(float(mean), 1)
        row["Bevolkingsdichtheid"] = round(row["AantalInwoners"] / (squares[code].area / 1e6))
        row["MateVanStedelijkheid"], row["change"] = 2, 1
        out.append(row)
    return out


def _properties(key: dict[str, str], change: str) -> list[dict[str, Any]]:
    """DataProperties in the real shape: the GeoDetail region dimension, text columns, the ``Bevolking``
    TopicGroup as parent of every measure, each with this year's key."""
    fixed = [
        ("GeoDetail", "WijkenEnBuurten", "Wijken en buurten", None),
        ("Topic", "Gemeentenaam_1", "Gemeentenaam", ""),
        ("Topic", "SoortRegio_2", "Soort regio", ""),
        ("Topic", "Codering_3", "Codering", ""),
        ("Topic", change, "Indelingswijziging", ""),
        ("TopicGroup", "Bevolking", "Bevolking", None),
    ]
    measures = [
        ("Topic", k, concept, UNITS.get(concept, "aantal"))
        for concept, k in sorted(key.items(), key=lambda item: int(item[1].rsplit("_", 1)[1]))
    ]
    out = []
    for i, (kind, k, title, unit) in enumerate([*fixed, *measures]):
        entry = {"odata.type": f"Cbs.OData.WebAPI.{kind}", "ID": i,
                 "Position": None if kind == "TopicGroup" else i, "ParentID": 5 if i > 5 else None,
                 "Type": kind, "Key": k, "Title": title, "Description": None}  # fmt: skip
        out.append(entry if unit is None else {**entry, "Unit": unit})
    return out


def _change_column(year: int) -> str:
    """The boundary-change column: renamed in the 2023 table."""
    return "IndelingswijzigingGemeenteWijkBuurt_4" if year >= 2023 else "IndelingswijzigingWijkenEnBuurten_4"


def _typed(index: int, row: dict[str, Any], key: dict[str, str], year: int) -> dict[str, Any]:
    """One TypedDataSet record: keys padded to 10 characters, text columns padded, measures by year's key."""
    code = row["code"]
    kind = {"GM": "Gemeente", "WK": "Wijk", "BU": "Buurt"}[code[:2]]
    change = 3 if (year == 2023 and code == "BU99990203") else row["change"]
    record: dict[str, Any] = {
        "ID": index,
        "WijkenEnBuurten": code.ljust(10),
        "Gemeentenaam_1": row["name"].ljust(10),
        "SoortRegio_2": kind.ljust(10),
        "Codering_3": code.ljust(10),
        _change_column(year): str(change),
    }
    return {**record, **{k: row.get(concept) for concept, k in key.items()}}


# ---------------------------------------------------------------------------------------------------- police
def _police(
    rng: np.random.Generator, buurten: tuple[str, ...], people: dict[str, int], wealth: dict[str, float]
) -> dict[str, Any]:
    """47022NED and 47024NED: seasonal Poisson counts per buurt, about 2 % withheld (null), yearly keys."""
    months = pd.period_range(FIRST_MONTH, periods=PUBLISHED_MONTHS, freq="M")
    codes = [f"{p.year}MM{p.month:02d}" for p in months]
    periods = [
        c
        for y in sorted({p.year for p in months})
        for c in [f"{y}JJ00", *[m for m in codes if m[:4] == str(y)]]
    ]
    season = 1.0 + 0.25 * np.sin(2 * np.pi * (months.month.to_numpy() - 3) / 12)
    trend = np.linspace(0.9, 1.1, len(months))
    crime: dict[str, dict[str, list[int | None]]] = {}
    nuisance: dict[str, dict[str, list[int | None]]] = {}
    for code in [*buurten, NEIGHBOUR_BUURT]:
        level = people.get(code, 1000) / 1000.0 * np.exp(-0.35 * wealth.get(code, 0.0) + rng.normal(0, 0.15))
        series = {o: rng.poisson(level * rate * season * trend) for o, rate in OFFENCE_RATES.items()}
        total = sum(series.values()) + rng.poisson(level * 1.2 * season)
        crime[code] = {
            "0.0.0 ": _withhold(rng, total, 0.0),
            **{o: _withhold(rng, v, 0.02) for o, v in series.items()},
        }
        youth, confused = (rng.poisson(level * NUISANCE_RATE * share * season) for share in (0.6, 0.4))
        nuisance[code] = {
            NUISANCE_TOTAL: _withhold(rng, youth + confused, 0.02),
            "A045371": _withhold(rng, youth, 0.02),
            "A045372": _withhold(rng, confused, 0.02),
        }
    offences = {
        "name": "SoortMisdrijf",
        "title": "Soort misdrijf",
        "keys": {o: o.strip() for o in ["0.0.0 ", *OFFENCE_RATES]},
    }
    kinds = {
        "name": "Overlast",
        "title": "Overlast",
        "keys": {
            NUISANCE_TOTAL: "Totaal registraties overlast",
            "A045371": "Overlast jeugd",
            "A045372": "Overlast verward persoon",
        },
    }
    return {
        "47022NED": {"measure": "GeregistreerdeMisdrijven_1", "periods": periods, "dimension": offences,
                     "counts": crime},
        "47024NED": {"measure": "GeregistreerdeOverlast_1", "periods": periods, "dimension": kinds,
                     "counts": nuisance},
    }  # fmt: skip


def _withhold(rng: np.random.Generator, counts: np.ndarray, share: float) -> list[int | None]:
    """Counts as JSON numbers with about ``share`` of them withheld (null)."""
    hidden = rng.random(len(counts)) < share
    return [None if h else int(c) for c, h in zip(counts, hidden, strict=True)]


SLUGS: Final[dict[str, str]] = {
    "1.1.1": "burglary_residential",
    "1.4.4": "violence",
    "1.4.5": "violence",
    "2.2.1": "vandalism",
    "3.7.4": "police_3_7_4",
}
"""The category each generated offence code must end up in (written out here, independent of the connector)."""


def expected_incidents(city: ReplayCity, months: int) -> pd.DataFrame:
    """The canonical monthly incidents the first ``months`` published months must give: the roll-up and the
    neighbour dropped, codes of one category summed, a sum with a withheld part missing."""
    parts = []
    stamps = pd.period_range(FIRST_MONTH, periods=months, freq="M").to_timestamp()
    for table, measure in (("47022NED", "crime"), ("47024NED", "nuisance")):
        for area, series in city.police[table]["counts"].items():
            by_code = series.items() if measure == "crime" else [("nuisance", series[NUISANCE_TOTAL])]
            for code, values in by_code:
                slug = "nuisance_registered" if measure == "nuisance" else SLUGS.get(code.strip())
                if slug is None or area not in city.buurten:
                    continue
                parts.append(pd.DataFrame({"area_code": area, "period_start": stamps, "category": slug,
                                           "count": pd.array(values[:months], dtype="Float64")}))  # fmt: skip
    frame = pd.concat(parts, ignore_index=True)
    keys = ["area_code", "period_start", "category"]
    grouped = frame.groupby(keys, as_index=False).agg(count=("count", lambda s: s.sum(skipna=False)))
    grouped["count"] = grouped["count"].astype("Float64").astype("Int64")
    return grouped.sort_values(keys).reset_index(drop=True)
