"""Import speed of the store: a large incidents CSV, end to end (read, PII guard, validate, insert, commit).

Generates the CSV into a temp dir with DuckDB (not timed), imports it into a fresh store, re-imports it
(idempotent: nothing inserted), then times the phases separately. Prints a table and writes
``benchmarks/results/import.json``.

Run: ``.venv/bin/python benchmarks/bench_import.py [--rows 10000000]``
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from pulsetwin.cli.common import write_json
from pulsetwin.schema.categories import VOCABULARY
from pulsetwin.schema.pii import guard_personal_data
from pulsetwin.schema.tables import INCIDENTS
from pulsetwin.schema.validate import validate_table
from pulsetwin.store import Store
from pulsetwin.store.io import read_csv_strings

RESULTS = Path(__file__).parent / "results" / "import.json"
N_CATEGORIES = 10
T = TypeVar("T")


def generate_csv(path: Path, rows: int) -> None:
    """Write ``rows`` weekly incident rows (buurten x Mondays x categories) as a canonical CSV."""
    n_weeks = 520
    n_areas = -(-rows // (n_weeks * N_CATEGORIES))
    slugs = ", ".join(f"'{c.slug}'" for c in VOCABULARY[:N_CATEGORIES])
    with duckdb.connect() as con:
        con.execute(
            f"""
            COPY (
              SELECT 'BU' || lpad(CAST(100000 + a AS VARCHAR), 8, '0') AS area_code,
                     strftime(DATE '2015-01-05' + CAST(7 * w AS INTEGER), '%Y-%m-%d') AS period_start,
                     'W' AS freq,
                     ([{slugs}])[c + 1] AS category,
                     CAST(hash(a, w, c) % 13 AS BIGINT) AS count,
                     'politie' AS source
              FROM range({n_areas}) r1(a), range({n_weeks}) r2(w), range({N_CATEGORIES}) r3(c)
              LIMIT {rows}
            ) TO '{path}' (FORMAT CSV, HEADER)
            """
        )


def timed(label: str, timings: dict[str, float], fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` and record its wall time under ``label``."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    timings[label] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "incidents.csv"
        timed("generate CSV (not counted)", timings, generate_csv, csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        with Store(Path(tmp) / "bench.duckdb") as store:
            report = timed("import end to end", timings, store.import_file, "incidents", csv_path)
            again = timed("re-import (idempotent)", timings, store.import_file, "incidents", csv_path)
            timed("read() canonical frame", timings, store.read, "incidents")
            timed("export CSV", timings, store.export, "incidents", Path(tmp) / "out.csv")
        frame = timed("phase: read CSV as text", timings, read_csv_strings, csv_path)
        timed("phase: PII guard", timings, guard_personal_data, frame, file=str(csv_path))
        timed("phase: validate", timings, validate_table, INCIDENTS.name, frame, file=str(csv_path))
    rows = report.inserted["incidents"]
    assert (
        rows == args.rows and again.inserted["incidents"] == 0 and again.already_present["incidents"] == rows
    )
    rate = rows / timings["import end to end"]
    print(f"incidents CSV: {rows:,} rows, {size_mb:,.0f} MB, {os.cpu_count()} cores")
    print(f"{'step':<32}{'seconds':>10}{'M rows/s':>10}")
    for label, seconds in timings.items():
        print(f"{label:<32}{seconds:>10.2f}{rows / seconds / 1e6:>10.2f}")
    print(f"end-to-end import rate: {rate / 1e6:.2f} M rows/s (target >= 1.0)")
    write_json(
        {
            "rows": rows,
            "csv_mb": round(size_mb, 1),
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "seconds": {k: round(v, 3) for k, v in timings.items()},
            "end_to_end_rows_per_second": round(rate),
        },
        RESULTS,
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
