"""Whether areas carry geometry: every area a polygon, or none (a list of named areas), never a mix.

A city's own counts per named neighbourhood come without boundaries. Such areas are stored with an empty
geometry; everything that needs shapes then says so instead of failing: no map, no spatial-lag features, no
area-weighted hotspot metrics (PAI, PEI). A mix of areas with and without geometry is refused, because
spatial features and area shares computed over part of the areas would be silently wrong.
"""

from __future__ import annotations

from typing import Final, Literal

import pandas as pd

from pulsetwin.exceptions import Location, SchemaError

NO_GEOMETRY: Final = (
    "the areas carry no geometry (names only): no map, no spatial-lag features and no area-weighted "
    "hotspot metrics (PAI, PEI)"
)


def empty_geometry(geometry: pd.Series) -> pd.Series:
    """True where a WKT cell is missing or blank."""
    return geometry.isna() | (geometry.astype("string").str.strip().fillna("") == "")


def geometry_state(geometry: pd.Series) -> Literal["all", "none"]:
    """``"all"`` when every WKT of ``geometry`` (indexed by area code) is present, ``"none"`` when none is.

    A mix is refused with the first area code lacking one.
    """
    empty = empty_geometry(geometry).to_numpy(dtype=bool)
    if empty.all():
        return "none"
    if not empty.any():
        return "all"
    first = str(geometry.index[int(empty.argmax())])
    raise SchemaError(
        f"either every modelled area carries a geometry or none does; {int(empty.sum())} of {len(empty)} "
        f"have none, e.g. {first}",
        where=Location(file="areas", column="geometry", value=first),
        fix="import the boundaries of every area (e.g. `pulsetwin fetch geometry`), or of none",
    )
