"""The country preset's geography (the full nl twin is timed in benchmarks/bench_twin.py)."""

from __future__ import annotations

import numpy as np

from pulsetwin.twin.geography import build_geography
from pulsetwin.twin.parameters import PRESETS


def test_country_geography_codes_and_extent() -> None:
    geo = build_geography(PRESETS["nl"], np.random.default_rng(5))
    areas = geo.areas
    assert 14_000 <= geo.n_buurten <= 15_000
    assert (areas["level"] == "gemeente").sum() == 342
    assert areas["area_code"].is_unique
    buurten = areas[areas["level"] == "buurt"]
    assert buurten["area_code"].str.fullmatch(r"BU\d{8}").all()
    assert (buurten["parent_code"].str.slice(2) == buurten["area_code"].str.slice(2, 8)).all()
    assert geo.gemeente_population.sum() == np.float64(17_900_000) or np.isclose(
        geo.gemeente_population.sum(), 17_900_000
    )
    assert geo.cx.min() >= 13_000 and geo.cx.max() <= 278_000
    assert geo.cy.min() >= 306_000 and geo.cy.max() <= 619_000
