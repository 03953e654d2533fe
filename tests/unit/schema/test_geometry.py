"""Areas carry geometry on every row or on none; the consumers of shapes say so when there is none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from pulsetwin.evaluation.backtest import area_sizes
from pulsetwin.exceptions import SchemaError
from pulsetwin.features.spatial import has_geometry
from pulsetwin.reports.maps import map_figure
from pulsetwin.schema.geometry import geometry_state
from pulsetwin.sources.spatial import assign_areas

CODES = ["BU99010101", "BU99010102", "BU99010103"]
BOXES = [shapely.box(190_000 + 500 * i, 320_000, 190_500 + 500 * i, 320_500).wkt for i in range(3)]


def _areas(geometry: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"area_code": CODES, "geometry": geometry})


def test_geometry_state_all_none_or_refused() -> None:
    assert geometry_state(pd.Series(BOXES, index=CODES)) == "all"
    assert geometry_state(pd.Series(["", None, " "], index=CODES)) == "none"
    with pytest.raises(SchemaError, match=r"1 of 3 have none, e\.g\. BU99010102"):
        geometry_state(pd.Series([BOXES[0], "", BOXES[2]], index=CODES))


def test_names_only_areas_have_no_size_no_neighbours_and_no_points() -> None:
    sizes = area_sizes(_areas(["", "", ""]), np.array(CODES, dtype=object))
    assert sizes.isna().all() and list(sizes.index) == CODES
    np.testing.assert_allclose(area_sizes(_areas(BOXES), np.array(CODES, dtype=object)), 250_000.0)
    with pytest.raises(SchemaError, match="either every modelled area"):
        area_sizes(_areas([BOXES[0], "", ""]), np.array(CODES, dtype=object))
    assert not has_geometry(_areas(["", "", ""]), CODES) and has_geometry(_areas(BOXES), CODES)
    assert has_geometry(_areas(["", "", ""]), [*CODES, "BU99010104"])  # a missing row is refused downstream
    with pytest.raises(SchemaError, match="carry no geometry"):
        assign_areas(np.array([190_100.0]), np.array([320_100.0]), _areas(["", "", ""]))
    assert assign_areas(np.array([190_600.0]), np.array([320_100.0]), _areas(BOXES)).tolist() == [CODES[1]]


def test_the_report_map_says_there_is_no_map() -> None:
    forecasts = pd.DataFrame(
        {"area_code": CODES, "period_start": pd.Timestamp("2024-01-01"), "mean": [1.0, 2.0, 3.0]}
    )
    empty = map_figure(forecasts, _areas(["", "", ""]))
    assert not empty.data and "carry no geometry" in empty.layout.annotations[0].text
    drawn = map_figure(forecasts, _areas(BOXES))
    assert len(drawn.data) >= 1 and not drawn.layout.annotations


@pytest.mark.parametrize("suffix", [".csv", ".gpkg", ".geojson"])
def test_names_only_areas_round_trip_through_every_area_format(tmp_path: Path, suffix: str) -> None:
    from pulsetwin.store import Store

    areas = pd.DataFrame(
        {"area_code": ["GM9901", *CODES], "name": ["Stad", "Noord", "Zuid", "Oost"],
         "level": ["gemeente", "buurt", "buurt", "buurt"], "parent_code": ["", "GM9901", "GM9901", "GM9901"],
         "geometry": ""}
    )  # fmt: skip
    out = tmp_path / f"areas{suffix}"
    with Store(tmp_path / "a.duckdb") as store:
        store.import_frames({"areas": areas}, source="names")
        store.export("areas", out)
        before = store.read("areas")
    with Store(tmp_path / "b.duckdb") as store:
        store.import_file("areas", out, **({"layer": "areas"} if suffix == ".gpkg" else {}))
        pd.testing.assert_frame_equal(store.read("areas"), before)
