"""Dutch-sounding place names for the twin: compounds of landscape words, never names of people."""

from __future__ import annotations

from typing import Final

import numpy as np

_PREFIXES: Final = (
    "Linden",
    "Eiken",
    "Berken",
    "Molen",
    "Kasteel",
    "Beek",
    "Heide",
    "Veld",
    "Kerk",
    "Brug",
    "Zonne",
    "Wind",
    "Hoog",
    "Laag",
    "Oude",
    "Nieuw",
    "Akker",
    "Bosch",
    "Dijk",
    "Duin",
    "Esch",
    "Geer",
    "Hazel",
    "Kamp",
    "Leeuw",
    "Meer",
    "Poel",
    "Rozen",
    "Schans",
    "Wilgen",
)
_SUFFIXES: Final = (
    "hof",
    "veld",
    "dal",
    "berg",
    "rade",
    "broek",
    "hei",
    "beek",
    "kamp",
    "horst",
    "weide",
    "park",
    "wijk",
    "hoven",
    "donk",
    "laan",
    "straat",
    "kwartier",
    "akker",
    "hoek",
)
_QUALIFIERS: Final = ("", " Noord", " Zuid", " Oost", " West", "-Centrum", " Hoog", " Laag")
_TOWN_SUFFIXES: Final = ("dam", "dijk", "broek", "hoven", "recht", "horst", "burg", "rade", "veen", "wolde")
_TOWN_QUALIFIERS: Final = ("", " aan de Maas", " aan Zee")


def area_names(n: int, rng: np.random.Generator, *, unique: bool) -> np.ndarray:
    """Draw ``n`` neighbourhood names; ``unique`` draws without replacement (at most 4,800 names)."""
    pool = np.array([p + s + q for q in _QUALIFIERS for p in _PREFIXES for s in _SUFFIXES], dtype=object)
    return pool[rng.choice(pool.size, size=n, replace=not unique)]


def town_names(n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` distinct municipality names (at most 900)."""
    pool = np.array(
        [p + s + q for q in _TOWN_QUALIFIERS for p in _PREFIXES for s in _TOWN_SUFFIXES], dtype=object
    )
    return pool[rng.choice(pool.size, size=n, replace=False)]
