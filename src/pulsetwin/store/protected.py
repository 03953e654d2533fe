"""Audit-only access to protected attributes (e.g. migration-background share per area).

``Store.read("protected")`` refuses; only audit code imports this module. Models and feature code never do, so
protected attributes cannot flow into a forecast. Every read is written to the log: who looked, and when.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from pulsetwin.schema.tables import PROTECTED

if TYPE_CHECKING:
    from pulsetwin.store.database import Store


def read_protected(
    store: Store, *, actor: str = "audit", where: dict[str, object] | None = None
) -> pd.DataFrame:
    """Return the canonical ``protected`` frame for audit code, logging the access when the store is writable.

    Parameters
    ----------
    store
        An open store.
    actor
        Who reads (recorded in the log).
    where
        Optional equality filters per column, as for :meth:`Store.read`.
    """
    frame = store._read_canonical(PROTECTED.name, where)
    if not store.read_only:
        store.log.append(actor, "read_protected", PROTECTED.name, {"rows": len(frame), "where": where or {}})
    return frame
