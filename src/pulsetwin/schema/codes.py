"""CBS area codes and grid-cell codes: their patterns, their level and their parents.

A gemeente is ``GM`` + 4 digits (Heerlen ``GM0917``); a wijk is ``WK`` + the gemeente digits + 2 characters
(``WK091701``); a buurt is ``BU`` + the wijk digits + 2 characters (``BU09170101``). The wijk and buurt parts
are digits except for a few municipalities that use capitals (Amsterdam: ``WK0363AD``, ``BU0363AD03``).
A grid cell is ``C<x>_<y>`` with the integer RD New (EPSG:28992) metres of its lower-left corner.
The parent of a code follows from its characters: ``BU09170101`` lies in wijk ``WK091701`` and gemeente
``GM0917``. Vectorised forms work on a pandas Series of text and return aligned Series.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pandas as pd

from pulsetwin.exceptions import Location, SchemaError

GEMEENTE_PATTERN: Final = r"GM[0-9]{4}"
WIJK_PATTERN: Final = r"WK[0-9]{4}[0-9A-Z]{2}"
BUURT_PATTERN: Final = r"BU[0-9]{4}[0-9A-Z]{4}"
CELL_PATTERN: Final = r"C-?[0-9]{1,7}_-?[0-9]{1,7}"
LEVEL_PATTERNS: Final[dict[str, str]] = {
    "gemeente": GEMEENTE_PATTERN,
    "wijk": WIJK_PATTERN,
    "buurt": BUURT_PATTERN,
    "cell": CELL_PATTERN,
}
CODE_EXAMPLES: Final = "GM0917, WK091701, BU09170101 or a grid cell like C190000_320000"
_COMPILED: Final = {level: re.compile(pattern) for level, pattern in LEVEL_PATTERNS.items()}


def level_of(code: str) -> str | None:
    """The level (``gemeente``, ``wijk``, ``buurt``, ``cell``) of one code; None for an invalid code."""
    for level, pattern in _COMPILED.items():
        if pattern.fullmatch(code):
            return level
    return None


def is_valid_code(code: str) -> bool:
    """True when ``code`` is a CBS gemeente/wijk/buurt code or a grid-cell code (no padding allowed)."""
    return level_of(code) is not None


def gemeente_of(code: str) -> str | None:
    """The gemeente code a gemeente, wijk or buurt code belongs to; None for cells and invalid codes."""
    level = level_of(code)
    return None if level in (None, "cell") else "GM" + code[2:6]


def wijk_of(code: str) -> str | None:
    """The wijk code of a buurt code (the wijk itself for a wijk code); None otherwise."""
    level = level_of(code)
    if level == "buurt":
        return "WK" + code[2:8]
    return code if level == "wijk" else None


def parent_of(code: str) -> str | None:
    """The direct parent by code: wijk for a buurt, gemeente for a wijk; None for anything else."""
    level = level_of(code)
    if level == "buurt":
        return wijk_of(code)
    if level == "wijk":
        return gemeente_of(code)
    return None


def cell_code(x: int, y: int) -> str:
    """The code of the grid cell whose lower-left corner is at RD metres (x, y)."""
    return f"C{int(x)}_{int(y)}"


def cell_corner(code: str) -> tuple[int, int]:
    """The RD (x, y) lower-left corner encoded in a cell code; raises SchemaError for a non-cell code."""
    if not _COMPILED["cell"].fullmatch(code):
        raise SchemaError(
            "a grid-cell code like C190000_320000",
            where=Location(value=code),
            fix="use C<x>_<y> with the RD metres of the cell's lower-left corner",
        )
    x, y = code[1:].split("_")
    return int(x), int(y)


def code_levels(codes: pd.Series) -> pd.Series:
    """Vectorised :func:`level_of`: the level of every code, missing (NaN) where the code is invalid."""
    text = codes.astype("str")
    levels = pd.Series(np.full(len(text), np.nan, dtype=object), index=text.index)
    for level, pattern in LEVEL_PATTERNS.items():
        levels = levels.mask(text.str.fullmatch(pattern).fillna(False).astype(bool), level)
    return levels.astype("str")


def ancestor_codes(codes: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised ancestors: (wijk, gemeente) codes implied by each code; empty strings where none apply.

    A buurt has both, a wijk has only its gemeente, gemeenten and cells have neither.
    """
    text = codes.astype("str")
    levels = code_levels(text)
    is_buurt = (levels == "buurt").to_numpy()
    has_gemeente = levels.isin(["buurt", "wijk"]).to_numpy()
    wijk = ("WK" + text.str.slice(2, 8)).where(is_buurt, "")
    gemeente = ("GM" + text.str.slice(2, 6)).where(has_gemeente, "")
    return wijk.astype("str"), gemeente.astype("str")
