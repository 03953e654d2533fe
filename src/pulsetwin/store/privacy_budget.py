"""The ``privacy_budget`` table: the differential-privacy ε spent per released dataset, and its fixed total.

Storage only: whether a release may spend more is the audit's rule (:mod:`pulsetwin.audit.privacy`). One row
per dataset; the store creates the table, stores made before it existed read as having spent nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pandas as pd

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

TABLE: Final = "privacy_budget"
COLUMNS: Final = ("dataset", "epsilon_spent", "epsilon_total", "releases")
BUDGET_DDL: Final = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (dataset VARCHAR NOT NULL PRIMARY KEY, "
    "epsilon_spent DOUBLE NOT NULL, epsilon_total DOUBLE NOT NULL, releases BIGINT NOT NULL)",
)


@dataclass(frozen=True)
class Budget:
    """One dataset's budget: ε spent so far in ``releases`` releases, of ``epsilon_total``."""

    dataset: str
    epsilon_spent: float
    epsilon_total: float
    releases: int


def read_budgets(store: Store) -> pd.DataFrame:
    """Every dataset's budget, by dataset (empty when no release was made yet)."""
    if not store.has_table(TABLE):
        return pd.DataFrame(columns=list(COLUMNS))
    return store._con.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY dataset").df()


def read_budget(store: Store, dataset: str) -> Budget | None:
    """The budget of ``dataset``, or ``None`` before its first release."""
    if not store.has_table(TABLE):
        return None
    rows = store._con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE dataset = ?", [dataset]
    ).fetchall()
    if not rows:
        return None
    name, spent, total, releases = rows[0]
    return Budget(str(name), float(spent), float(total), int(releases))


def write_budget(store: Store, budget: Budget) -> None:
    """Store ``budget`` as its dataset's row (inside the caller's transaction, which logs the change)."""
    with store.transaction():
        store._con.execute(f"DELETE FROM {TABLE} WHERE dataset = ?", [budget.dataset])
        store._con.execute(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)",
            [budget.dataset, budget.epsilon_spent, budget.epsilon_total, budget.releases],
        )
