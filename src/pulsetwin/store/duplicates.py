"""A second copy of the same counts under another source name, caught before the models add them together.

The models sum the sources of a category, so a file stored twice under two source names doubles every count.
An incoming incidents import is compared, on the (area, period, freq, category) cells it shares with each other
stored source, with that source's counts. Cells where both are 0 say nothing (zero-filled grids) and are left
out. When at least ``MIN_CELLS`` cells are shared and at least ``SAME_SHARE`` of them hold the same count, the
import is refused naming that source, unless the caller says it is a different measurement (``also_source``).
"""

from __future__ import annotations

from typing import Final

import duckdb

from pulsetwin.exceptions import ConflictError

MIN_CELLS: Final = 10
"""Shared non-zero cells needed before coinciding counts are taken as a copy (fewer say too little)."""
SAME_SHARE: Final = 0.8
"""Share of shared non-zero cells with equal counts above which an import is taken as a copy."""


def refuse_duplicate_source(connection: duckdb.DuckDBPyConnection, incoming: str, file: str | None) -> None:
    """ConflictError when incoming incidents repeat the counts of another stored source.

    Rows already stored with the same source (a re-import) are not compared. ``incoming`` is the cast
    relation of the validated incidents about to be merged.
    """
    cell = " AND ".join(f'n."{c}" = t."{c}"' for c in ("area_code", "period_start", "freq", "category"))
    found = connection.execute(
        f"WITH n AS (SELECT i.* FROM {incoming} i ANTI JOIN incidents t "
        f"ON {cell.replace('n.', 'i.')} AND i.source = t.source) "
        'SELECT n.source, t.source, count(*), count(*) FILTER (WHERE n."count" = t."count") '
        f'FROM n JOIN incidents t ON {cell} AND n.source <> t.source WHERE n."count" > 0 OR t."count" > 0 '
        "GROUP BY 1, 2 ORDER BY 4 DESC, 2"
    ).fetchall()
    for source, other, shared, same in found:
        if shared >= MIN_CELLS and same >= SAME_SHARE * shared:
            ids = connection.execute(
                "SELECT dataset_id FROM provenance WHERE source = ? AND table_name = 'incidents' "
                "AND dataset_id NOT IN (SELECT dataset_id FROM import_undo) ORDER BY imported_at",
                [other],
            ).fetchall()
            where = f"file '{file}': " if file else ""
            raise ConflictError(
                f"{where}the counts of source '{source}' coincide with those of source '{other}' already stored "
                f"(import {', '.join(str(i[0]) for i in ids)}) on {same} of the {shared} non-zero "
                f"(area, period, category) cells both hold ({same / shared:.0%}); the models add sources "
                "together, so this would count the same reports twice. Nothing was imported. Fix: do not "
                f"import a copy of '{other}' (or remove the stored one with `pulsetwin import undo ID "
                "--reason ...`); when it really is a different measurement, pass --also-source"
            )
