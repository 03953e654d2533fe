"""Municipal files by YAML mapping, and anonymous sensor counts: guard first, strict columns, aggregation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pulsetwin.exceptions import PersonalDataError, SchemaError
from pulsetwin.sources.file_mapping import load_mapping
from pulsetwin.sources.mapped_files import map_file
from pulsetwin.sources.sensors import map_sensors, read_sensor_locations

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "mapping_youth_nuisance.yaml"


def _square(code: str, x0: int, y0: int) -> str:
    return f"POLYGON (({x0} {y0}, {x0 + 1000} {y0}, {x0 + 1000} {y0 + 1000}, {x0} {y0 + 1000}, {x0} {y0}))"


AREAS = pd.DataFrame(
    {
        "area_code": ["BU09170101", "BU09170102"],
        "name": ["Zuid", "Noord"],
        "level": "buurt",
        "parent_code": "WK091701",
        "geometry": [_square("a", 190000, 320000), _square("b", 190000, 321000)],
    }
)


def test_example_mapping_aggregates_points_per_buurt_and_week(tmp_path: Path) -> None:
    data = tmp_path / "meldingen.csv"
    data.write_text(
        "gemeld_op;soort;x_rd;y_rd\n"
        "01-01-2024;Jeugdoverlast;190100;320100\n"
        "03-01-2024;Hangjongeren;190200;320200\n"
        "09-01-2024;Zwerfvuil;190500;321500\n"
        "10-01-2024;Jeugdoverlast;250000;400000\n"
    )
    result = map_file(data, load_mapping(EXAMPLE), areas=AREAS)
    inc = result.frames["incidents"].set_index(["area_code", "period_start", "category"])["count"]
    assert inc["BU09170101", pd.Timestamp("2024-01-01"), "youth_nuisance"] == 2
    assert inc["BU09170102", pd.Timestamp("2024-01-08"), "public_space_reports"] == 1
    assert inc["BU09170102", pd.Timestamp("2024-01-01"), "youth_nuisance"] == 0  # zero-filled
    assert inc.sum() == 3 and any("outside" in m for m in result.messages)


def test_area_codes_counts_and_excel(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "source: gemeente:schuldhulp\nfreq: M\narea: {column: buurt}\ndate: {column: maand}\n"
        "category: {value: debt_support_intakes}\ncount: {column: aantal}\n"
    )
    frame = pd.DataFrame(
        {"buurt": ["BU09170101 ", "BU09170102"], "maand": ["2024-02-10", "2024-02-01"], "aantal": [4, 2]}
    )
    frame.to_excel(tmp_path / "intakes.xlsx", index=False)
    inc = map_file(tmp_path / "intakes.xlsx", load_mapping(mapping), areas=AREAS).frames["incidents"]
    assert inc["count"].tolist() == [4, 2] and set(inc["period_start"]) == {pd.Timestamp("2024-02-01")}
    frame.assign(aantal=["4", "-1"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(SchemaError, match=r"row 2, column 'aantal', value '-1'"):
        map_file(tmp_path / "bad.csv", load_mapping(mapping), areas=AREAS)


def test_pii_guard_runs_before_the_mapping_is_applied(tmp_path: Path) -> None:
    data = tmp_path / "namen.csv"
    data.write_text("naam;bsn;gemeld_op\nJan Jansen;123456782;01-01-2024\n")
    with pytest.raises(PersonalDataError):
        map_file(data, load_mapping(EXAMPLE), areas=AREAS)  # columns x_rd/y_rd are missing too: guard first


def test_sensor_counts_per_buurt_and_strict_columns(tmp_path: Path) -> None:
    sensors = tmp_path / "sensors.csv"
    sensors.write_text("sensor_id,x,y\nS-1,190500,320500\nS-2,190500,321500\n")
    counts = tmp_path / "counts.csv"
    counts.write_text(
        "sensor_id,hour,metric,count\nS-1,2024-01-01T10:00,noise_peaks,3\nS-1,2024-01-07T23:00,noise_peaks,2\n"
        "S-2,2024-01-08T00:00,footfall,40\n"
    )
    inc = map_sensors(counts, read_sensor_locations(sensors, "EPSG:28992"), AREAS).frames["incidents"]
    assert inc[["area_code", "category", "count"]].values.tolist() == [
        ["BU09170101", "noise_peaks", 5],
        ["BU09170102", "footfall", 40],
    ]
    counts.write_text("sensor_id,hour,metric,count,image\nS-1,2024-01-01T10:00,noise_peaks,3,/9j/4AAQ\n")
    with pytest.raises(PersonalDataError, match="column 'image'"):
        map_sensors(counts, read_sensor_locations(sensors, "EPSG:28992"), AREAS)
    clip = tmp_path / "clip.csv"
    clip.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    with pytest.raises(PersonalDataError, match="WAV"):
        map_sensors(clip, read_sensor_locations(sensors, "EPSG:28992"), AREAS)
