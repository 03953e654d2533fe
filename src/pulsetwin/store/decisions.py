"""The ``decisions`` and ``kill_switches`` tables: what people decided about a run's flagged areas, and which
runs an admin withdrew.

Storage only: who may decide and what the API answers are the API's. Each row names the sequence number of
the log record written with it in the same transaction. The store creates the tables.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from pulsetwin.store.access import Source, connection_of

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

DECISIONS: Final = "decisions"
KILL_SWITCHES: Final = "kill_switches"
DECISIONS_DDL: Final = (
    f'CREATE TABLE IF NOT EXISTS {DECISIONS} (decision_id BIGINT PRIMARY KEY, "at" TIMESTAMP NOT NULL, '
    "actor VARCHAR NOT NULL, run_id VARCHAR NOT NULL, area_code VARCHAR NOT NULL, action VARCHAR NOT NULL, "
    "reason VARCHAR NOT NULL, log_seq BIGINT NOT NULL)",
    f'CREATE TABLE IF NOT EXISTS {KILL_SWITCHES} (run_id VARCHAR PRIMARY KEY, "at" TIMESTAMP NOT NULL, '
    "actor VARCHAR NOT NULL, reason VARCHAR NOT NULL, log_seq BIGINT NOT NULL)",
)
DECISION_COLUMNS: Final = ("decision_id", "at", "actor", "run_id", "area_code", "action", "reason", "log_seq")
KILL_SWITCH_COLUMNS: Final = ("run_id", "at", "actor", "reason", "log_seq")


@dataclass(frozen=True)
class Decision:
    """One row of ``decisions``: an accept, reject or note on an area of a run, with its reason."""

    decision_id: int
    at: datetime
    actor: str
    run_id: str
    area_code: str
    action: str
    reason: str
    log_seq: int


@dataclass(frozen=True)
class KillSwitch:
    """One row of ``kill_switches``: a withdrawn run, by whom, when and why."""

    run_id: str
    at: datetime
    actor: str
    reason: str
    log_seq: int


def _select(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def read_decisions(
    source: Source, *, run_id: str | None, area_code: str | None, limit: int, offset: int
) -> tuple[list[Decision], int]:
    """A page of decisions (of one run and/or area when given), newest first, and how many there are."""
    filters = {k: v for k, v in (("run_id", run_id), ("area_code", area_code)) if v is not None}
    where = f"WHERE {' AND '.join(f'{k} = ?' for k in filters)}" if filters else ""
    params: list[object] = list(filters.values())
    con = connection_of(source)
    total = int(con.execute(f"SELECT count(*) FROM {DECISIONS} {where}", params).fetchall()[0][0])
    rows = con.execute(
        f"SELECT {_select(DECISION_COLUMNS)} FROM {DECISIONS} {where} ORDER BY decision_id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [Decision(*row) for row in rows], total


def next_decision_id(store: Store) -> int:
    """The id the next decision gets (one more than the largest so far)."""
    return int(
        store._con.execute(f"SELECT coalesce(max(decision_id), 0) + 1 FROM {DECISIONS}").fetchall()[0][0]
    )


def insert_decision(store: Store, decision: Decision) -> None:
    """Add ``decision`` (inside the caller's transaction, which logs it)."""
    with store.transaction():
        store._con.execute(
            f"INSERT INTO {DECISIONS} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(astuple(decision))
        )


def read_kill_switches(source: Source) -> list[KillSwitch]:
    """Every withdrawn run, oldest withdrawal first."""
    rows = connection_of(source).execute(
        f'SELECT {_select(KILL_SWITCH_COLUMNS)} FROM {KILL_SWITCHES} ORDER BY "at"'
    )
    return [KillSwitch(*row) for row in rows.fetchall()]


def is_withdrawn(source: Source, run_id: str) -> bool:
    """Whether an admin withdrew run ``run_id``."""
    con = connection_of(source)
    return bool(
        con.execute(f"SELECT count(*) FROM {KILL_SWITCHES} WHERE run_id = ?", [run_id]).fetchall()[0][0]
    )


def insert_kill_switch(store: Store, switch: KillSwitch) -> None:
    """Withdraw a run (inside the caller's transaction, which logs it); it must not be withdrawn yet."""
    with store.transaction():
        store._con.execute(f"INSERT INTO {KILL_SWITCHES} VALUES (?, ?, ?, ?, ?)", list(astuple(switch)))


def delete_kill_switch(store: Store, run_id: str) -> None:
    """Serve run ``run_id`` again (inside the caller's transaction, which logs it)."""
    with store.transaction():
        store._con.execute(f"DELETE FROM {KILL_SWITCHES} WHERE run_id = ?", [run_id])
