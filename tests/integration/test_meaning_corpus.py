"""Files that can be read with the wrong meaning: each is read with its true meaning or refused, never misread.

One parametrised test over the corpus in ``meaning_corpus``: a file read is checked by its stored rows, freq
and total, and ``import undo`` must then give back exactly the store before it; a refused file must get a
message naming the file and the fix, no traceback, and leave every table of the store as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner, Result

from pulsetwin.cli import data, fetch
from pulsetwin.exceptions import PulsetwinError, SchemaError
from pulsetwin.sources.file_mapping import load_mapping

sys.path.insert(0, str(Path(__file__).resolve().parent))
from meaning_corpus import AREAS, AREAS_CASES, CASES, FIRST_MAPPING, WRITE_FIRST, Case, Refused

CANONICAL = ("areas", "covariates", "incidents", "events", "protected", "forecasts", "truth", "categories")


APP = typer.Typer()
data.register(APP)
fetch.register(APP)


def cli(*args: str) -> Result:
    """Run the data commands (``import``, ``import-mapped``, ``log``) as ``pulsetwin`` registers them."""
    return CliRunner().invoke(APP, list(args))


def fingerprints(db: Path, tables: tuple[str, ...] | None = None) -> dict[str, str]:
    """A SHA-256 of the sorted rows of each table (every table of the file when ``tables`` is None)."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = tables or tuple(
            str(n) for (n,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        )
        rows = {name: sorted(con.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}
    return {name: hashlib.sha256(repr(table).encode()).hexdigest() for name, table in rows.items()}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the six buurten of the corpus."""
    directory = tmp_path_factory.mktemp("template")
    AREAS.to_csv(directory / "areas.csv", index=False)
    db = directory / "store.duckdb"
    result = cli("import", "areas", str(directory / "areas.csv"), "--db", str(db))
    assert result.exit_code == 0, result.output
    return db


def _prepare(case: Case, directory: Path) -> dict[str, str]:
    """Write the case's file, its mapping and the first source's file; return the placeholders of its argv."""
    case.write(directory / case.name)
    (directory / "mapping.yaml").write_text(case.mapping or "", encoding="utf-8")
    (directory / "first.yaml").write_text(FIRST_MAPPING, encoding="utf-8")
    WRITE_FIRST(directory / "m_first.csv")
    return {"{mapping}": str(directory / "mapping.yaml"), "{first}": str(directory / "first.yaml")}


def _argv(args: tuple[str, ...], directory: Path, fill: dict[str, str], db: Path) -> list[str]:
    """The command line: placeholders filled, file names made paths in ``directory``, the store added."""
    out = [fill.get(a, a) for a in args]
    return [str(directory / a) if (directory / a).is_file() else a for a in out] + ["--db", str(db)]


def test_corpus_is_large_and_varied() -> None:
    assert len(CASES) + len(AREAS_CASES) >= 30
    assert sum(isinstance(c.outcome, Refused) for c in CASES) >= 10
    assert {Path(c.name).suffix for c in CASES} == {".csv", ".xlsx", ".parquet"}
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_file_is_read_with_its_true_meaning_or_refused(case: Case, template: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    shutil.copy(template, db)
    fill = _prepare(case, tmp_path)
    for step in case.setup:
        assert cli(*_argv(step, tmp_path, fill, db)).exit_code == 0
    before_all, before = fingerprints(db), fingerprints(db, CANONICAL)
    stored = _incidents(db)
    result = cli(*_argv(case.args, tmp_path, fill, db), "--json")
    if isinstance(case.outcome, Refused):
        assert isinstance(result.exception, PulsetwinError), (
            f"traceback: {result.exception!r}\n{result.output}"
        )
        message = str(result.exception)
        assert case.name in message and "Fix: " in message, message
        for text in (case.outcome.fix, *case.outcome.names):
            assert text in message, f"{text!r} not in: {message}"
        assert fingerprints(db) == before_all
        return
    assert result.exit_code == 0, f"{result.exception!r}\n{result.output}"
    new = _incidents(db) - stored
    assert (len(new), {r[2] for r in new}, sum(r[4] for r in new)) == (
        case.outcome.rows,
        {case.outcome.freq},
        case.outcome.total,
    )
    if case.outcome.note is not None:
        assert case.outcome.note in result.output, result.output
    undo = cli(
        "import",
        "undo",
        json.loads(result.output)["dataset_id"],
        "--reason",
        f"corpus case {case.name}",
        "--db",
        str(db),
    )
    assert undo.exit_code == 0, f"{undo.exception!r}\n{undo.output}"
    assert fingerprints(db, CANONICAL) == before
    with duckdb.connect(str(db), read_only=True) as con:
        action, detail = con.execute(
            "SELECT action, detail_json FROM log ORDER BY seq DESC LIMIT 1"
        ).fetchone() or ("", "{}")
    assert action == "undo_import" and json.loads(detail)["reason"] == f"corpus case {case.name}"


def _incidents(db: Path) -> set[tuple[object, ...]]:
    """The stored incidents rows."""
    with duckdb.connect(str(db), read_only=True) as con:
        return set(con.execute("SELECT * FROM incidents").fetchall())


def test_import_list_shows_each_import_and_its_undo(template: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    shutil.copy(template, db)
    case = CASES[0]
    fill = _prepare(case, tmp_path)
    imported = json.loads(cli(*_argv(case.args, tmp_path, fill, db), "--json").output)
    assert (
        cli("import", "undo", imported["dataset_id"], "--reason", "wrong freq", "--db", str(db)).exit_code
        == 0
    )
    listed = json.loads(cli("import", "list", "--db", str(db), "--json").output)
    assert [(i["tables"], i["rows"], i["inserted"]) for i in listed] == [
        ("areas", 6, 6),
        ("incidents", 72, 72),
    ]
    assert listed[1]["import_id"] == imported["dataset_id"] and listed[1]["source"] == "gemeente:overlast"
    assert listed[1]["file_hash"] == hashlib.sha256((tmp_path / case.name).read_bytes()).hexdigest()
    assert listed[1]["undo_reason"] == "wrong freq" and listed[0]["undone_at"] is None
    table = cli("import", "list", "--db", str(db)).output
    assert imported["dataset_id"] in table and "wrong freq" in table
    again = cli("import", "undo", imported["dataset_id"], "--reason", "twice", "--db", str(db))
    assert isinstance(again.exception, PulsetwinError) and "already undone" in str(again.exception)


def test_readme_mapping_example_is_a_valid_mapping(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Mapping files and undoing an import", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "m.yaml").write_text(example, encoding="utf-8")
    loaded = load_mapping(tmp_path / "m.yaml")
    assert (loaded.freq, loaded.date_format, loaded.read) == ("M", "%m-%Y", {"sheet": "Data"})
    assert loaded.category_map["Jeugdoverlast"] == "youth_nuisance" and loaded.count_column == "aantal"
    (tmp_path / "m.yaml").write_text(example + "fill_zeros: 'no'\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="column 'fill_zeros', value 'no': must be True or False"):
        load_mapping(tmp_path / "m.yaml")  # a text is never read as a truth value


@pytest.mark.parametrize(("name", "write"), AREAS_CASES, ids=[name for name, _ in AREAS_CASES])
def test_buurten_saved_by_excel_keep_their_names(
    name: str, write: Callable[[Path], None], tmp_path: Path
) -> None:
    write(tmp_path / name)
    db = tmp_path / "store.duckdb"
    result = cli("import", "areas", str(tmp_path / name), "--db", str(db), "--json")
    assert result.exit_code == 0, f"{result.exception!r}\n{result.output}"
    with duckdb.connect(str(db), read_only=True) as con:
        names = [str(n) for (n,) in con.execute("SELECT name FROM areas ORDER BY area_code").fetchall()]
    assert names == list(AREAS["name"])
    if "cp1252" in name or "utf16" in name:  # a detected encoding is said, not silently assumed
        assert "Windows-1252" in result.output or "UTF-16" in result.output, result.output
