"""The data commands: import (also --revise), export, log verify (also --anchor), log anchor, log show."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import geopandas
import pytest
import shapely
import typer
from shapely.geometry import box
from typer.testing import CliRunner

from pulsetwin.cli.data import register
from pulsetwin.exceptions import ConflictError, CRSError, LogIntegrityError, SchemaError, StoreError
from pulsetwin.store.log import GENESIS_HASH, record_hash

CSV = (
    "area_code,period_start,freq,category,count,source\n"
    "BU09170101,2024-01-01,W,burglary_residential,3,politie\n"
    "BU09170101,2024-01-08,W,burglary_residential,,politie\n"
    "BU09170102,2024-01-01,W,overlast_jeugd,1,gemeente\n"
)


@pytest.fixture
def app() -> typer.Typer:
    """A test-local app with the data commands registered."""
    local = typer.Typer()
    register(local)
    return local


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _write_csv(tmp_path: Path) -> Path:
    path = tmp_path / "incidents.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_import_export_round_trip_and_idempotent_reimport(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    db, csv_path = tmp_path / "s.duckdb", _write_csv(tmp_path)
    first = runner.invoke(
        app, ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db), "--json"]
    )
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["tables"] == [
        {"table": "incidents", "rows": 3, "inserted": 3, "already_present": 0, "revised": 0}
    ]
    assert report["new_categories"] == ["overlast_jeugd"] and report["source"] == "file:incidents.csv"
    second = runner.invoke(
        app,
        ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db), "--source", "politie"],
    )
    assert second.exit_code == 0, second.output
    assert "incidents" in second.output and "3" in second.output
    out = tmp_path / "out" / "incidents.csv"
    exported = runner.invoke(app, ["export", "incidents", "--out", str(out), "--db", str(db)])
    assert exported.exit_code == 0, exported.output
    assert "wrote 3 rows" in exported.output
    assert out.read_text(encoding="utf-8") == CSV


def test_conflicting_reimport_raises_conflict_error(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    db, csv_path = tmp_path / "s.duckdb", _write_csv(tmp_path)
    assert (
        runner.invoke(
            app, ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db)]
        ).exit_code
        == 0
    )
    csv_path.write_text(CSV.replace(",3,politie", ",4,politie"), encoding="utf-8")
    result = runner.invoke(app, ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db)])
    assert isinstance(result.exception, ConflictError)
    assert "area_code=BU09170101, period_start=2024-01-01" in str(result.exception)


def test_log_show_and_verify_then_detect_tampering(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    db, csv_path = tmp_path / "s.duckdb", _write_csv(tmp_path)
    for _ in range(3):
        assert (
            runner.invoke(
                app, ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db)]
            ).exit_code
            == 0
        )
    shown = runner.invoke(app, ["log", "show", "--db", str(db), "--limit", "2", "--json"])
    assert shown.exit_code == 0, shown.output
    records = json.loads(shown.output)
    assert [r["seq"] for r in records] == [2, 3] and records[0]["action"] == "import"
    assert records[1]["prev_hash"] == records[0]["hash"]
    table = runner.invoke(app, ["log", "show", "--db", str(db)])
    assert table.exit_code == 0 and "import" in table.output
    ok = runner.invoke(app, ["log", "verify", "--db", str(db)])
    assert ok.exit_code == 0 and "log ok: 3 records" in ok.output
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE log SET actor = 'someone-else' WHERE seq = 2")
    bad = runner.invoke(app, ["log", "verify", "--db", str(db)])
    assert bad.exit_code == 1 and "first bad record seq 2" in bad.output
    bad_json = runner.invoke(app, ["log", "verify", "--db", str(db), "--json"])
    assert bad_json.exit_code == 1
    assert json.loads(bad_json.output)["first_bad_seq"] == 2


def test_import_areas_from_gpkg_layer(app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path, db = tmp_path / "wijkbuurtkaart.gpkg", tmp_path / "s.duckdb"
    buurten = geopandas.GeoDataFrame(
        {"buurtcode": ["BU09170101"], "buurtnaam": ["Centrum"], "wijkcode": ["WK091701"], "water": ["NEE"]},
        geometry=[box(5.98, 50.88, 5.99, 50.89)],
        crs=4326,
    )
    buurten.to_file(path, layer="buurten", driver="GPKG", engine="pyogrio")
    result = runner.invoke(
        app, ["import", "areas", str(path), "--layer", "buurten", "--db", str(db), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tables"][0]["inserted"] == 1
    nocrs = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="crs"):
        buurten.set_crs(None, allow_override=True).to_file(
            nocrs, layer="buurten", driver="GPKG", engine="pyogrio"
        )
    refused = runner.invoke(app, ["import", "areas", str(nocrs), "--db", str(db)])
    assert isinstance(refused.exception, CRSError)


def test_import_pdok_gpkg_drops_water_rows_under_a_land_code(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    """PDOK's wijk- en buurtkaart holds a water row (water JA) under the code of the land row: the land row is
    the area, the water row is dropped and noted; an area with only a water row stays, listed as water-only."""
    path, db = tmp_path / "wijkenbuurten_2024.gpkg", tmp_path / "s.duckdb"
    land, lake = box(196_000, 320_000, 198_000, 322_000), box(198_000, 320_000, 198_500, 320_500)
    gemeenten = geopandas.GeoDataFrame(
        {"gemeentecode": ["GM0917", "GM0917", "GM0882"], "gemeentenaam": ["Heerlen", "Heerlen", "Landgraaf"],
         "water": ["NEE", "JA", "NEE"]},
        geometry=[land, lake, box(200_000, 322_000, 202_000, 324_000)], crs=28992,
    )  # fmt: skip
    buurten = geopandas.GeoDataFrame(
        {"buurtcode": ["BU09170101", "BU09170101", "BU09179997"], "buurtnaam": ["Centrum", "Centrum", "Meer"],
         "wijkcode": ["WK091701", "WK091701", "WK091799"], "water": ["NEE", "JA", "JA"]},
        geometry=[land, lake, box(199_000, 320_000, 199_500, 320_500)], crs=28992,
    )  # fmt: skip
    gemeenten.to_file(path, layer="gemeenten", driver="GPKG", engine="pyogrio")
    buurten.to_file(path, layer="buurten", driver="GPKG", engine="pyogrio")
    for layer, inserted in (("gemeenten", 2), ("buurten", 2)):
        result = runner.invoke(
            app, ["import", "areas", str(path), "--layer", layer, "--db", str(db), "--json"]
        )
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["tables"][0]["inserted"] == inserted
        assert any("1 water row(s) under the code of a land row dropped" in n for n in report["notes"])
    with duckdb.connect(str(db), read_only=True) as con:
        stored = dict(con.execute("SELECT area_code, geometry FROM areas").fetchall())
        details = [json.loads(d) for (d,) in con.execute("SELECT details_json FROM provenance").fetchall()]
    assert sorted(stored) == ["BU09170101", "BU09179997", "GM0882", "GM0917"]
    assert shapely.from_wkt(stored["GM0917"]).equals(land)  # the land row, not the lake
    assert [d["water_rows_dropped"] for d in details] == [
        {"count": 1, "codes": ["GM0917"]},
        {"count": 1, "codes": ["BU09170101"]},
    ]
    assert details[1]["water_only_areas"] == {"count": 1, "codes": ["BU09179997"]}


def test_export_and_verify_need_an_existing_store(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.duckdb"
    result = runner.invoke(
        app, ["export", "incidents", "--out", str(tmp_path / "x.csv"), "--db", str(missing)]
    )
    assert isinstance(result.exception, StoreError) and not missing.exists()
    verify = runner.invoke(app, ["log", "verify", "--db", str(missing)])
    assert isinstance(verify.exception, StoreError)


def _forge(db: Path, seq: int) -> None:
    """A forger with write access: edit record ``seq``, recompute every later hash and the head."""
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE log SET actor = 'forger' WHERE seq = ?", [seq])
        prev = GENESIS_HASH
        for row in con.execute("SELECT * FROM log ORDER BY seq").fetchall():
            digest = record_hash(row[0], row[1], row[2], row[3], row[4], row[5], prev)
            con.execute("UPDATE log SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, digest, row[0]])
            prev = digest
        con.execute("UPDATE log_head SET hash = ?", [prev])


def test_log_anchor_then_verify_catches_a_rewritten_history_and_head(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    db, csv_path, anchors = tmp_path / "s.duckdb", _write_csv(tmp_path), tmp_path / "published" / "a.jsonl"
    for _ in range(2):
        assert (
            runner.invoke(
                app, ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db)]
            ).exit_code
            == 0
        )
        anchored = runner.invoke(app, ["log", "anchor", "--db", str(db), "--out", str(anchors)])
        assert anchored.exit_code == 0, anchored.output
        assert "anchored log head: record" in anchored.output
    lines = [json.loads(line) for line in anchors.read_text(encoding="utf-8").splitlines()]
    assert [a["seq"] for a in lines] == [1, 3] and lines[0]["store"] == str(db.resolve())
    honest = runner.invoke(app, ["log", "verify", "--db", str(db), "--anchor", str(anchors)])
    assert honest.exit_code == 0, honest.output
    assert "log ok: 4 records" in honest.output and "anchors ok: all 2 anchors" in honest.output

    _forge(db, 2)
    own = tmp_path / "s.duckdb.anchors.jsonl"  # every write anchored itself here, next to the store
    plain = runner.invoke(app, ["log", "verify", "--db", str(db)])
    plain_text = " ".join(plain.output.split())
    assert plain.exit_code == 1 and "log ok" not in plain_text
    assert f"anchor failed: line 2 of {own}: record 2 now has hash" in plain_text
    caught = runner.invoke(app, ["log", "verify", "--db", str(db), "--anchor", str(anchors)])
    assert caught.exit_code == 1
    text = " ".join(caught.output.split())
    assert f"anchor failed: line 2 of {anchors}: record 3 now has hash" in text
    assert f"line 1 of {anchors}" not in text and f"line 1 of {own}" not in text  # record 1 predates the edit
    as_json = runner.invoke(app, ["log", "verify", "--db", str(db), "--anchor", str(anchors), "--json"])
    payload = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and payload["ok"] is False and payload["first_bad_seq"] is None
    assert [a["ok"] for a in payload["anchors"] if a["file"] == str(anchors)] == [True, False]
    assert [a["seq"] for a in payload["anchors"] if a["file"] == str(own)] == [1, 2, 3, 4]
    assert payload["reason"].startswith(f"anchor on line 2 of {own} failed: record 2 now has hash")
    assert payload["unanchored"] == 4 and payload["anchored_seq"] == 0
    refused = runner.invoke(app, ["log", "anchor", "--db", str(db), "--out", str(anchors)])
    assert isinstance(refused.exception, LogIntegrityError) and len(anchors.read_text().splitlines()) == 2


def test_log_anchor_needs_an_existing_store_and_verify_an_existing_anchor_file(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    missing, anchors = tmp_path / "missing.duckdb", tmp_path / "a.jsonl"
    result = runner.invoke(app, ["log", "anchor", "--db", str(missing), "--out", str(anchors)])
    assert isinstance(result.exception, StoreError) and not missing.exists() and not anchors.exists()
    db = tmp_path / "s.duckdb"
    assert (
        runner.invoke(
            app, ["import", "incidents", str(_write_csv(tmp_path)), "--allow-withheld", "--db", str(db)]
        ).exit_code
        == 0
    )
    verify = runner.invoke(app, ["log", "verify", "--db", str(db), "--anchor", str(anchors)])
    assert isinstance(verify.exception, StoreError) and "does not exist" in str(verify.exception)


def test_import_revise_accepts_a_republication_and_logs_it(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    db, csv_path = tmp_path / "s.duckdb", _write_csv(tmp_path)
    assert (
        runner.invoke(
            app, ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db)]
        ).exit_code
        == 0
    )
    csv_path.write_text(CSV.replace(",3,politie", ",4,politie").replace(",,politie", ",2,politie"), "utf-8")
    refused = runner.invoke(app, ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db)])
    assert isinstance(refused.exception, ConflictError)
    assert "2 rows have keys already stored" in str(refused.exception)
    assert "pass --revise to accept a re-publication" in str(refused.exception)
    revised = runner.invoke(
        app, ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db), "--revise"]
    )
    assert revised.exit_code == 0, revised.output
    assert "revised" in revised.output
    again = runner.invoke(
        app, ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db), "--revise", "--json"]
    )
    assert json.loads(again.stdout)["tables"] == [
        {"table": "incidents", "rows": 3, "inserted": 0, "already_present": 3, "revised": 0}
    ]
    shown = json.loads(runner.invoke(app, ["log", "show", "--db", str(db), "--json"]).stdout)
    revisions = [r["detail"] for r in shown if r["action"] == "revise"]
    assert [d["revised"] for d in revisions] == [2, 0]
    assert revisions[0]["changes"][0]["old"] == {"count": 3} and revisions[0]["changes"][0]["new"] == {
        "count": 4
    }
    assert revisions[0]["changes"][1]["old"] == {"count": None}
    assert runner.invoke(app, ["log", "verify", "--db", str(db)]).exit_code == 0


def test_empty_count_is_refused_naming_row_and_column_unless_withheld_is_allowed(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    db, csv_path = tmp_path / "s.duckdb", _write_csv(tmp_path)
    refused = runner.invoke(app, ["import", "incidents", str(csv_path), "--db", str(db)])
    assert isinstance(refused.exception, SchemaError)
    assert f"file '{csv_path}', row 2, column 'count'" in str(refused.exception)
    assert "--allow-withheld" in str(refused.exception)
    assert not db.exists()  # checked before the store is opened: nothing created, nothing written
    allowed = runner.invoke(app, ["import", "incidents", str(csv_path), "--allow-withheld", "--db", str(db)])
    assert allowed.exit_code == 0, allowed.output
    with duckdb.connect(str(db), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM incidents WHERE count IS NULL").fetchone() == (1,)
        (details,) = connection.execute("SELECT details_json FROM provenance").fetchone() or ("",)
    assert json.loads(details)["allow_withheld"] is True


def test_wgs84_areas_csv_imports_with_crs_and_is_refused_without(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "areas_wgs84.csv"
    path.write_text(
        "area_code,name,level,parent_code,geometry\n"
        'BU09170101,Heerlen-Centrum,buurt,WK091701,"POLYGON ((5.98 50.88, 5.981 50.88, 5.981 50.881, 5.98 50.88))"\n',
        encoding="utf-8",
    )
    db = tmp_path / "s.duckdb"
    refused = runner.invoke(app, ["import", "areas", str(path), "--db", str(db)])
    assert isinstance(refused.exception, SchemaError) and "--crs EPSG:NNNN" in str(refused.exception)
    assert str(path) in str(refused.exception)
    garbage = runner.invoke(app, ["import", "areas", str(path), "--crs", "EPSG:99999999", "--db", str(db)])
    assert isinstance(garbage.exception, CRSError) and str(path) in str(garbage.exception)
    assert not db.exists()
    imported = runner.invoke(
        app, ["import", "areas", str(path), "--crs", "EPSG:4326", "--db", str(db), "--json"]
    )
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["notes"] == [
        f"coordinates of '{path.name}' reprojected from EPSG:4326 to EPSG:28992"
    ]
    with duckdb.connect(str(db), read_only=True) as connection:
        (wkt,) = connection.execute("SELECT geometry FROM areas").fetchone() or ("",)
    x, y = shapely.from_wkt(wkt).exterior.coords[0]
    assert 195_000 < x < 197_000 and 319_000 < y < 322_000  # Heerlen in RD New metres
