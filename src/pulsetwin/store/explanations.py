"""The ``explanations`` table: what drives each forecast of a run, kept next to it for the API and dashboard.

One row per run, area, category and period, for the first forecast period of a run only (the period the
dashboard explains; it also keeps national runs cheap). Rows are wide: the forecast mean, the area's usual
level, one count contribution per driver group of :data:`pulsetwin.schema.tables.DRIVER_GROUPS` (which add up
to ``mean - usual``) and the sentence in English and Dutch. Wide rather than one row per driver because the
groups are fixed and a reader wants the whole row. The store creates the table; stores made before it existed
read as having no explanations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from pulsetwin.schema.tables import DRIVER_GROUPS
from pulsetwin.store.digest import TableChange, digest_rows

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

TABLE: Final = "explanations"
COLUMNS: Final = (
    "run_id", "area_code", "category", "period_start", "mean", "usual", *DRIVER_GROUPS, "text_en", "text_nl"
)  # fmt: skip
KEY: Final = ("run_id", "area_code", "category", "period_start")
EXPLANATIONS_DDL: Final = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (run_id VARCHAR NOT NULL, area_code VARCHAR NOT NULL, "
    "category VARCHAR NOT NULL, period_start DATE NOT NULL, mean DOUBLE NOT NULL, usual DOUBLE NOT NULL, "
    + "".join(f"{g} DOUBLE NOT NULL, " for g in DRIVER_GROUPS)
    + "text_en VARCHAR NOT NULL, text_nl VARCHAR NOT NULL, "
    f"PRIMARY KEY ({', '.join(KEY)}))",
)


def save_explanations(store: Store, frame: pd.DataFrame, *, actor: str = "cli") -> int:
    """Insert explanation rows (within the caller's transaction when there is one) and log the digest of the
    rows added, so ``log verify --deep`` names an explanation edited outside PulseTwin; returns the row count.
    """
    con = store._con
    with store.transaction():
        con.register("explanations_new", frame[list(COLUMNS)])
        try:
            con.execute(f"INSERT INTO {TABLE} SELECT * FROM explanations_new")
            added = digest_rows(
                con, f"SELECT e.* FROM {TABLE} e SEMI JOIN explanations_new USING ({', '.join(KEY)})"
            )
        finally:
            con.unregister("explanations_new")
        runs = sorted(str(r) for r in frame["run_id"].unique())
        store.log.append(
            actor, "save_explanations", ",".join(runs), {"rows": len(frame)},
            changes={TABLE: TableChange(added=added)},
        )  # fmt: skip
    return len(frame)


def read_explanation(store: Store, run_id: str, area_code: str, category: str) -> dict[str, Any] | None:
    """The stored explanation of one area and category in a run (its first period), else ``None``."""
    if not _present(store):
        return None
    rows = store._con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE run_id = ? AND area_code = ? AND category = ? "
        "ORDER BY period_start LIMIT 1",
        [run_id, area_code, category],
    ).fetchall()
    return dict(zip(COLUMNS, rows[0], strict=True)) if rows else None


def read_explanations(store: Store, run_id: str) -> pd.DataFrame:
    """All stored explanation rows of a run (empty when the run has none)."""
    if not _present(store):
        return pd.DataFrame(columns=list(COLUMNS))
    return store._con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE run_id = ? ORDER BY area_code, category, period_start",
        [run_id],
    ).df()


def _present(store: Store) -> bool:
    """Whether the store has the table (stores made before it, opened read-only, do not)."""
    return store.has_table(TABLE)
