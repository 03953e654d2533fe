"""The ``fold_forecasts`` table: a forecast run's out-of-sample forecasts at its last backtest fold.

A true forecast of the future has no recorded outcomes yet, so the release gate (:mod:`pulsetwin.audit.gate`)
judges whom a run would flag on the run's last backtest fold instead: the same model, parameters, categories
and horizon, fitted one fold earlier, compared with what was recorded there. The forecast run stores those
forecasts when it is made, so the audit only reads them and never rebuilds or refits a model. One row per run,
area, category and period: the fold origin and the forecast mean (the only quantity the audit compares). The
store creates the table; runs stored before it existed have no rows, and stores made before it, opened
read-only, read as having none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pandas as pd

from pulsetwin.store.digest import TableChange, digest_rows

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

TABLE: Final = "fold_forecasts"
COLUMNS: Final = ("run_id", "origin", "area_code", "category", "period_start", "mean")
KEY: Final = ("run_id", "area_code", "category", "period_start")
FOLD_FORECASTS_DDL: Final = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (run_id VARCHAR NOT NULL, origin DATE NOT NULL, "
    "area_code VARCHAR NOT NULL, category VARCHAR NOT NULL, period_start DATE NOT NULL, mean DOUBLE NOT NULL, "
    f"PRIMARY KEY ({', '.join(KEY)}))",
)


def save_fold_forecasts(store: Store, frame: pd.DataFrame, *, actor: str = "cli") -> int:
    """Insert fold-forecast rows (within the caller's transaction when there is one) and log the digest of the
    rows added, so ``log verify --deep`` names a fold forecast edited outside PulseTwin; returns the row count.
    """
    con = store._con
    with store.transaction():
        con.register("fold_forecasts_new", frame[list(COLUMNS)])
        try:
            con.execute(f"INSERT INTO {TABLE} SELECT * FROM fold_forecasts_new")
            added = digest_rows(
                con, f"SELECT f.* FROM {TABLE} f SEMI JOIN fold_forecasts_new USING ({', '.join(KEY)})"
            )
        finally:
            con.unregister("fold_forecasts_new")
        runs = sorted(str(r) for r in frame["run_id"].unique())
        store.log.append(
            actor, "save_fold_forecasts", ",".join(runs), {"rows": len(frame)},
            changes={TABLE: TableChange(added=added)},
        )  # fmt: skip
    return len(frame)


def read_fold_forecasts(store: Store, run_id: str) -> pd.DataFrame:
    """The stored last-fold forecasts of a run, in key order (empty when the run has none: a run stored by
    an older PulseTwin, or a store made before the table existed)."""
    if not store.has_table(TABLE):
        return pd.DataFrame(columns=list(COLUMNS))
    frame = store._con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE run_id = ? ORDER BY area_code, category, period_start",
        [run_id],
    ).df()
    return frame.assign(
        origin=pd.to_datetime(frame["origin"]), period_start=pd.to_datetime(frame["period_start"])
    )
