"""Determinism, canonical tables, period rules, geometry and argument checks of generate_twin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from pulsetwin.exceptions import ParameterError, ParameterTypeError
from pulsetwin.schema.tables import TABLES
from pulsetwin.schema.validate import validate_table
from pulsetwin.twin import TwinCity, generate_twin

TABLE_NAMES = ("areas", "covariates", "incidents", "events", "protected", "truth")


def test_same_seed_gives_identical_tables(city: TwinCity) -> None:
    again = generate_twin("heerlen", seed=11, years=2)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(city.tables[name], again.tables[name], check_exact=True)


def test_other_seed_gives_other_tables(city: TwinCity) -> None:
    other = generate_twin("heerlen", seed=12, years=2)
    for name in TABLE_NAMES:
        assert not city.tables[name].equals(other.tables[name]), name


def test_tables_have_canonical_columns_and_dtypes(city: TwinCity) -> None:
    assert set(city.tables) == set(TABLE_NAMES)
    pandas_type = {
        "int": "int64",
        "float": "float64",
        "date": "datetime64[ns]",
        "timestamp": "datetime64[ns]",
    }
    for name, frame in city.tables.items():
        spec = TABLES[name]
        assert tuple(frame.columns) == spec.column_names
        for column, logical in spec.columns:
            expected = pandas_type.get(logical, "str")
            assert str(frame[column].dtype) == expected, (name, column)
        assert not frame.duplicated(list(spec.key)).any(), name


def test_tables_pass_the_validator(city: TwinCity) -> None:
    for name, frame in city.tables.items():
        out = validate_table(name, frame)
        assert len(out) == len(frame)


def test_period_rules(city: TwinCity) -> None:
    for name in ("incidents", "truth"):
        frame = city.tables[name]
        weekly = frame.loc[frame["freq"] == "W", "period_start"]
        monthly = frame.loc[frame["freq"] == "M", "period_start"]
        assert (weekly.dt.day_of_week == 0).all()
        assert (monthly.dt.day == 1).all()
        assert monthly.nunique() == 24
        assert weekly.min() == pd.Timestamp("2021-01-04")
        assert weekly.max() == pd.Timestamp("2022-12-19")  # the week of 2022-12-26 ends in 2023


def test_codes_and_hierarchy(city: TwinCity) -> None:
    areas = city.tables["areas"].set_index("area_code")
    buurten = areas[areas["level"] == "buurt"]
    wijken = areas[areas["level"] == "wijk"]
    assert 80 <= len(buurten) <= 100 and 10 <= len(wijken) <= 12
    assert buurten.index.str.fullmatch(r"BU0917\d{4}").all()
    assert wijken.index.str.fullmatch(r"WK0917\d{2}").all()
    assert (buurten["parent_code"] == buurten.index.str.slice(2, 8).map(lambda s: "WK" + s)).all()
    assert (wijken["parent_code"] == "GM0917").all()
    geometry = shapely.from_wkt(areas["geometry"].to_numpy())
    assert shapely.is_valid(geometry).all()
    outline = geometry[areas.index.get_loc("GM0917")]
    parts = geometry[(areas["level"] == "buurt").to_numpy()]
    assert shapely.area(parts).sum() == pytest.approx(outline.area, rel=1e-3)
    minx, miny, maxx, maxy = outline.bounds
    assert 190_000 < minx < maxx < 202_000 and 315_000 < miny < maxy < 328_000


def test_events_lie_in_their_buurt(city: TwinCity) -> None:
    areas = city.tables["areas"].set_index("area_code")
    recorded = city.offences[city.offences["recorded"]]
    polygons = shapely.from_wkt(areas.loc[recorded["area_code"].astype(str), "geometry"].to_numpy())
    events = city.tables["events"].set_index("event_id").loc[recorded["event_id"]]
    points = shapely.points(events["x"].to_numpy(), events["y"].to_numpy())
    assert (shapely.distance(polygons, points) <= 1.0).all()  # events are rounded to the metre


def test_population_and_events_counts(city: TwinCity) -> None:
    cov = city.tables["covariates"]
    total = cov[(cov["area_code"] == "GM0917") & (cov["variable"] == "AantalInwoners")]["value"]
    assert np.allclose(total, 87_000, rtol=0.02)
    assert city.tables["events"]["event_id"].is_unique
    assert city.tables["events"]["occurred_at"].is_monotonic_increasing
    assert set(city.tables["incidents"]["source"]) == {"twin-police", "twin-municipal"}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"preset": "amsterdam", "seed": 1, "years": 1}, ParameterError),
        ({"preset": "heerlen", "seed": -1, "years": 1}, ParameterError),
        ({"preset": "heerlen", "seed": 1.5, "years": 1}, ParameterTypeError),
        ({"preset": "heerlen", "seed": 1, "years": 0}, ParameterError),
        ({"preset": "heerlen", "seed": True, "years": 1}, ParameterTypeError),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    preset = kwargs.pop("preset")
    with pytest.raises(error, match="generate_twin"):
        generate_twin(preset, **kwargs)  # type: ignore[arg-type]
