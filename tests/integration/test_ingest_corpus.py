"""Every file of the ingest corpus through the CLI: PII refused, good files accepted whole, no tracebacks.

The corpus (``ingest_corpus/files``, described by ``ingest_corpus/manifest.csv`` and rebuilt by
``ingest_corpus/build_corpus.py``) holds good real-looking files, malformed ones and files with person data
planted in every text column of every table, as CSV, Parquet, GeoJSON/GeoPackage and Excel via
``import-mapped``. A refusal must be a PulseTwin error (never a traceback) naming the file and must leave the
store untouched: ``import`` checks the file before it opens the store, so the store file must not even be created;
``import-mapped`` reads the store's areas first, so there every table and the log must be as they were.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from pulsetwin.cli import data, fetch
from pulsetwin.exceptions import PulsetwinError
from pulsetwin.schema.tables import IMPORTABLE
from pulsetwin.store import Store

CORPUS = Path(__file__).parent / "ingest_corpus"
FILES = CORPUS / "files"
with (CORPUS / "manifest.csv").open(encoding="utf-8", newline="") as _handle:
    CASES = list(csv.DictReader(_handle))
sys.path.insert(0, str(CORPUS))
from build_corpus import absurd_files  # noqa: E402

COUNTED = (*IMPORTABLE, "log")
APP = typer.Typer()
data.register(APP)
fetch.register(APP)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store, created once and copied for every case."""
    path = tmp_path_factory.mktemp("template") / "store.duckdb"
    Store(path).close()
    return path


def _counts(db: Path) -> tuple[int, ...]:
    """Rows of every importable table and of the log."""
    with duckdb.connect(str(db), read_only=True) as connection:
        query = " UNION ALL ".join(f'SELECT {i}, count(*) FROM "{t}"' for i, t in enumerate(COUNTED))
        rows = connection.execute(f"SELECT * FROM ({query}) ORDER BY 1").fetchall()
    return tuple(int(n) for _, n in rows)


def _run(
    template: Path, tmp_path: Path, file: Path, command: str, table: str, options: str
) -> tuple[Path, object]:
    db = tmp_path / "store.duckdb"
    if command != "import":
        shutil.copyfile(template, db)
    extra = options.replace("{dir}", str(FILES)).split()
    args = [command, *([table] if command == "import" else []), str(file), *extra, "--db", str(db), "--json"]
    result = CliRunner().invoke(APP, args)
    return db, result


def test_corpus_is_large_and_complete() -> None:
    kinds = [case["kind"] for case in CASES]
    assert len(CASES) + len(absurd_files()) >= 300
    assert kinds.count("good") >= 40
    listed = {case["file"] for case in CASES}
    on_disk = {p.name for p in FILES.iterdir() if p.suffix != ".yaml"}
    assert listed == on_disk
    planted = {(c["table"], c["file"].split("_")[2]) for c in CASES if c["kind"] == "pii"}
    assert {t for t, _ in planted} == set(IMPORTABLE) - {"log"}
    formats = {Path(c["file"]).suffix for c in CASES if c["kind"] == "pii"}
    assert formats == {".csv", ".parquet", ".xlsx", ".geojson", ".gpkg"}


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_corpus_file(template: Path, tmp_path: Path, case: dict[str, str]) -> None:
    file = FILES / case["file"]
    db, result = _run(template, tmp_path, file, case["command"], case["table"], case["options"])
    _check(template, db, result, file, case["expect"], int(case["rows"] or 0), case["table"], case["must"],
           case["command"])  # fmt: skip


@pytest.mark.parametrize("name", sorted(absurd_files()))
def test_absurd_values_are_refused_naming_the_column(template: Path, tmp_path: Path, name: str) -> None:
    table, content, must = absurd_files()[name]
    file = tmp_path / name
    file.write_bytes(content)
    db, result = _run(template, tmp_path, file, "import", table, "")
    _check(template, db, result, file, "refuse", 0, table, must)


def _check(template: Path, db: Path, result: object, file: Path, expect: str, rows: int, table: str,
           must: str, command: str = "import") -> None:  # fmt: skip
    exception = getattr(result, "exception", None)
    output = getattr(result, "output", "")
    if expect == "accept":
        assert exception is None, f"{file.name} refused: {exception!r}\n{output}"
        with duckdb.connect(str(db), read_only=True) as connection:
            stored = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        assert stored is not None and stored[0] == rows, output
        return
    assert isinstance(exception, PulsetwinError), f"{file.name}: not a clear refusal: {exception!r}\n{output}"
    message = str(exception)
    assert str(file) in message, f"{file.name}: message does not name the file: {message}"
    assert must in message, f"{file.name}: expected {must!r} in: {message}"
    if command == "import":
        assert not db.exists(), f"{file.name}: a refused import created or touched the store"
    else:
        assert _counts(db) == _counts(template), f"{file.name}: the store changed"
