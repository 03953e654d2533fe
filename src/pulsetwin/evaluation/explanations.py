"""Stored model explanations: what drives each forecast of a run, kept next to it for the API and dashboard.

Table ``explanations`` holds one row per run, area, category and period, for the first forecast period of a
run only (the period the dashboard explains; it also keeps national runs cheap). Rows are wide: the forecast
mean, the area's usual level, one count contribution per driver group of
:data:`pulsetwin.models.explain.DRIVERS` (which add up to ``mean - usual``) and the sentence in English and
Dutch (the change from the usual level in percent and the drivers that each move it by at least 10 % of it).
Wide rather than one row per driver because the groups are fixed and a reader wants the whole row.
Only models that split their forecast into drivers (``log_contributions``: glm, lgbm) are explained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, TypeGuard

import pandas as pd

from pulsetwin.models.base import Model
from pulsetwin.models.common import PanelModel
from pulsetwin.models.explain import DRIVERS, Explainable, explain
from pulsetwin.store.digest import TableChange, digest_rows

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

TABLE: Final = "explanations"
COLUMNS: Final = (
    "run_id", "area_code", "category", "period_start", "mean", "usual", *DRIVERS, "text_en", "text_nl"
)  # fmt: skip
EXPLANATIONS_DDL: Final = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (run_id VARCHAR NOT NULL, area_code VARCHAR NOT NULL, "
    "category VARCHAR NOT NULL, period_start DATE NOT NULL, mean DOUBLE NOT NULL, usual DOUBLE NOT NULL, "
    + "".join(f"{g} DOUBLE NOT NULL, " for g in DRIVERS)
    + "text_en VARCHAR NOT NULL, text_nl VARCHAR NOT NULL, "
    "PRIMARY KEY (run_id, area_code, category, period_start))"
)


def explainable(model: Model) -> TypeGuard[PanelModel]:
    """Whether ``model`` splits its forecast into driver groups (glm, lgbm; not the naive baselines)."""
    return isinstance(model, Explainable) and isinstance(model, PanelModel)


def model_explanations(model: Model, run_id: str) -> pd.DataFrame | None:
    """The fitted ``model``'s drivers for its first forecast period as rows of ``explanations``; ``None``
    when the model cannot explain itself."""
    if not explainable(model):
        return None
    frame = explain(model, horizon=1)
    return frame.assign(run_id=run_id)[list(COLUMNS)]


def save_explanations(store: Store, frame: pd.DataFrame, *, actor: str = "cli") -> int:
    """Insert explanation rows (within the caller's transaction when there is one) and log the digest of the
    rows added, so ``log verify --deep`` names an explanation edited outside PulseTwin; returns the row count.
    """
    con = store.connection
    keys = "run_id, area_code, category, period_start"
    with store.transaction():
        con.execute(EXPLANATIONS_DDL)
        con.register("explanations_new", frame[list(COLUMNS)])
        try:
            con.execute(f"INSERT INTO {TABLE} SELECT * FROM explanations_new")
            added = digest_rows(con, f"SELECT e.* FROM {TABLE} e SEMI JOIN explanations_new USING ({keys})")
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
    rows = store.connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE run_id = ? AND area_code = ? AND category = ? "
        "ORDER BY period_start LIMIT 1",
        [run_id, area_code, category],
    ).fetchall()
    return dict(zip(COLUMNS, rows[0], strict=True)) if rows else None


def read_explanations(store: Store, run_id: str) -> pd.DataFrame:
    """All stored explanation rows of a run (empty when the run has none)."""
    if not _present(store):
        return pd.DataFrame(columns=list(COLUMNS))
    return store.connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE run_id = ? ORDER BY area_code, category, period_start",
        [run_id],
    ).df()


def _present(store: Store) -> bool:
    """Whether the store has the table (stores made before the first explained run do not)."""
    rows = store.connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [TABLE]
    ).fetchall()
    return bool(rows[0][0])
