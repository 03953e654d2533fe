"""Water in the CBS wijk- en buurtkaart: which rows to drop, which areas are water only.

The layers of the kaart (PDOK's OGC API and the yearly GeoPackage alike) carry a ``water`` attribute
(``JA``/``NEE``/``B``) and hold, for areas with land and water, an extra row with ``water = 'JA'`` under the
same code as the land row. The land row is the area: such water rows are dropped before codes are checked for
duplicates (else the import stops on a duplicate code). An area with only a water row, or a buurt whose code
ends in 9997/9998, is a water-only area: it stays and is listed. One rule, used by the PDOK connector and the
GeoPackage/GeoJSON reader.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from pulsetwin.schema.codes import BUURT_PATTERN

WATER_COLUMN: Final = "water"
"""The attribute saying whether a row is the water part of an area (matched case-insensitively)."""
WATER_YES: Final = frozenset({"ja", "j", "yes", "true", "1"})
"""Values of the ``water`` attribute that mark a water row (compared stripped and lower-cased)."""
WATER_CODE_SUFFIXES: Final = ("9997", "9998")
"""Buurt codes ending in these digits are water-only neighbourhoods."""


def water_rows(attributes: pd.DataFrame) -> np.ndarray:
    """True for rows whose ``water`` attribute says JA; all False when there is no such attribute."""
    columns = [c for c in attributes.columns if str(c).lower() == WATER_COLUMN]
    if not columns:
        return np.zeros(len(attributes), dtype=bool)
    values = attributes[columns[0]].astype("str").str.strip().str.lower()
    return values.isin(WATER_YES).to_numpy(dtype=bool)


def water_rows_to_drop(codes: pd.Series, water: np.ndarray) -> np.ndarray:
    """True for water rows (``water``) whose code also has a land row: the land row is the area.

    Rows without a code are never dropped (the validator names them).
    """
    present = codes.notna().to_numpy(dtype=bool)
    text = codes.astype("str").str.strip().to_numpy()
    land = set(text[~water & present])
    return water & present & np.fromiter((code in land for code in text), dtype=bool, count=len(text))


def water_only(codes: pd.Series, water: np.ndarray) -> np.ndarray:
    """True for water-only areas among rows already rid of duplicate water rows (see
    :func:`water_rows_to_drop`): a remaining water row, or a buurt code ending in 9997/9998."""
    text = codes.astype("str").str.strip()
    by_code = text.str.fullmatch(BUURT_PATTERN) & text.str.endswith(WATER_CODE_SUFFIXES)
    return water | by_code.to_numpy(dtype=bool)
