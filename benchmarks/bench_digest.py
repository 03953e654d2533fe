"""Cost of the log's row digests: one digest of a million stored rows, and a whole import with and without.

Compares the row digest PulseTwin writes (:func:`pulsetwin.store.digest.digest_rows`, MD5 of each row's values
as a JSON array, two 64-bit lanes) with the former one (SHA-256 of the same JSON, four lanes read back from
its hexadecimal text), then imports an incidents CSV into fresh stores three ways: with today's digests, with
the former digests, and with digests switched off (``digest_rows`` replaced by the empty digest, which only a
benchmark may do). Every timing is the best of ``--repeats`` runs (the three imports interleaved, after one
warm-up import), as wall time and as CPU time of the process (all threads): on a shared machine the CPU time
is the steadier of the two. Prints a table and writes ``benchmarks/results/digest.json``.

Run: ``.venv/bin/python benchmarks/bench_digest.py [--rows 1000000] [--repeats 2]``
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from bench_import import generate_incidents

import pulsetwin.store.importing as importing
from pulsetwin.cli.common import write_json
from pulsetwin.store import Store
from pulsetwin.store.digest import EMPTY, MODULUS, Digest, digest_rows

RESULTS = Path(__file__).parent / "results" / "digest.json"
DigestFn = Callable[..., Digest]


def former_digest_rows(
    connection: duckdb.DuckDBPyConnection, relation: str, params: list[object] | None = None
) -> Digest:
    """The digest as issue 22 first wrote it: SHA-256 of the row's JSON, four lanes parsed from hex."""
    lanes = ", ".join(f"('0x' || substr(h, {16 * i + 1}, 16))::UBIGINT AS l{i}" for i in range(4))
    sums = ", ".join(f"coalesce(sum(l{i}) % {MODULUS}, 0)" for i in range(4))
    sql = (
        f"SELECT count(*), {sums} FROM (SELECT {lanes} FROM "
        f"(SELECT sha256(CAST(to_json(r) AS VARCHAR)) AS h FROM ({relation}) r))"
    )
    row = connection.execute(sql, params or []).fetchall()[0]
    return Digest(int(row[0]), tuple(int(v) for v in row[1:]))


def no_digest(
    connection: duckdb.DuckDBPyConnection, relation: str, params: list[object] | None = None
) -> Digest:
    """No digest at all: the baseline an import had before issue 22."""
    return EMPTY


@contextmanager
def digests_by(fn: DigestFn) -> Iterator[None]:
    """Let the store's imports digest with ``fn`` for the duration."""
    saved = importing.digest_rows
    importing.digest_rows = fn
    try:
        yield
    finally:
        importing.digest_rows = saved


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, float]:
    """The lowest wall and CPU seconds of ``repeats`` calls of ``fn``."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    timings: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "incidents.csv"
        generate_incidents(csv_path, args.rows)
        stores = iter(range(10**6))

        def import_once() -> None:
            with Store(Path(tmp) / f"store{next(stores)}.duckdb") as store:
                report = store.import_file("incidents", csv_path)
            assert report.inserted["incidents"] == args.rows

        import_once()  # warm-up, not counted: first imports of modules, caches
        ways = {"import, no digest": no_digest, "import, former digest": former_digest_rows}
        ways["import, digest"] = digest_rows
        runs: dict[str, list[tuple[float, float]]] = {label: [] for label in ways}
        for _ in range(args.repeats):  # interleaved, so a slow spell of the machine hits every way alike
            for label, fn in ways.items():
                with digests_by(fn):
                    runs[label].append(best_of(1, import_once))
        timings |= {label: (min(w for w, _ in r), min(c for _, c in r)) for label, r in runs.items()}
        with Store(Path(tmp) / "store0.duckdb", read_only=True) as store:
            con = store._con
            rows = 'SELECT * FROM "incidents"'
            timings["digest of stored rows, former"] = best_of(
                args.repeats, lambda: former_digest_rows(con, rows)
            )
            timings["digest of stored rows"] = best_of(args.repeats, lambda: digest_rows(con, rows))
    print(
        f"{args.rows:,} incident rows, best of {args.repeats}, {os.cpu_count()} cores, DuckDB {duckdb.__version__}"
    )
    print(f"{'step':<34}{'wall s':>9}{'cpu s':>9}{'M rows/s':>10}")
    for label, (wall, cpu) in timings.items():
        print(f"{label:<34}{wall:>9.2f}{cpu:>9.2f}{args.rows / wall / 1e6:>10.2f}")
    base, former, now = (timings[k] for k in ("import, no digest", "import, former digest", "import, digest"))
    ratios = {
        "import_with_digest_over_without_wall": now[0] / base[0],
        "import_with_digest_over_without_cpu": now[1] / base[1],
        "import_with_former_digest_over_without_wall": former[0] / base[0],
        "import_with_former_digest_over_without_cpu": former[1] / base[1],
        "digest_speedup_over_former_cpu": timings["digest of stored rows, former"][1]
        / timings["digest of stored rows"][1],
    }
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    write_json(
        {
            "rows": args.rows,
            "repeats": args.repeats,
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "seconds": {k: {"wall": round(w, 3), "cpu": round(c, 3)} for k, (w, c) in timings.items()},
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "import_rows_per_second_with_digest": round(args.rows / now[0]),
        },
        RESULTS,
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
