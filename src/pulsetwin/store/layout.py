"""The tables of a store file: creating the missing ones, and refusing a file that is not a PulseTwin store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulsetwin.exceptions import StoreError
from pulsetwin.schema.tables import TABLES
from pulsetwin.store.accounts import ACCOUNTS_DDL
from pulsetwin.store.decisions import DECISIONS_DDL
from pulsetwin.store.explanations import EXPLANATIONS_DDL
from pulsetwin.store.fold_forecasts import FOLD_FORECASTS_DDL
from pulsetwin.store.imports import tracking_ddl
from pulsetwin.store.io import table_ddl
from pulsetwin.store.log import GENESIS_HASH, LOG_DDL
from pulsetwin.store.privacy_budget import BUDGET_DDL
from pulsetwin.store.provenance import PROVENANCE_DDL
from pulsetwin.store.reading import scalar
from pulsetwin.store.runs import RUNS_DDL

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

CATEGORIES_DDL = (
    "CREATE TABLE IF NOT EXISTS categories (slug VARCHAR NOT NULL, first_seen TIMESTAMP NOT NULL, "
    "source VARCHAR NOT NULL)",
)
INTERNAL_TABLES = ("provenance", "categories", "runs", "log_head")
"""Bookkeeping tables every store holds besides the canonical ones (and countable with ``Store.count``)."""


def create_schema(store: Store) -> None:
    """Create the missing tables of ``store`` and the log head, in one transaction."""
    statements = (
        *(table_ddl(spec) for spec in TABLES.values() if spec.name != "log"),
        *LOG_DDL, *PROVENANCE_DDL, *CATEGORIES_DDL, *RUNS_DDL, *tracking_ddl(), *EXPLANATIONS_DDL,
        *BUDGET_DDL, *FOLD_FORECASTS_DDL, *ACCOUNTS_DDL, *DECISIONS_DDL,
    )  # fmt: skip
    with store.transaction():
        for statement in statements:
            store._con.execute(statement)
        if not scalar(store._con, "SELECT count(*) FROM log_head") and not scalar(
            store._con, "SELECT count(*) FROM log"
        ):
            store._con.execute("INSERT INTO log_head VALUES (0, ?)", [GENESIS_HASH])


def check_schema(store: Store) -> None:
    """Refuse a file that lacks PulseTwin tables (a read-only store cannot create them)."""
    present = {str(n) for (n,) in store._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    missing = [t for t in (*TABLES, *INTERNAL_TABLES) if t not in present]
    if missing:
        raise StoreError(
            f"'{store.path}' is not a PulseTwin store (missing tables {', '.join(missing)}). "
            "Fix: open it once without read_only to create them, or pass the right --db"
        )
