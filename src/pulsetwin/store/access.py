"""What the store's typed accessors read from: the store itself, or a read cursor it handed out.

A server reads its hot paths on a cursor per thread (:meth:`pulsetwin.store.database.Store.read_cursor`: MVCC,
sees committed data, needs no lock) and writes through the store under its lock; the accessors of the API's
tables accept either, so each caller keeps its own way of reading while the SQL stays in this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import duckdb

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

Source: TypeAlias = "Store | duckdb.DuckDBPyConnection"
"""A store (its own connection, inside its lock and transactions) or a read cursor from it."""


def connection_of(source: Source) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection a typed accessor runs its SQL on."""
    return source if isinstance(source, duckdb.DuckDBPyConnection) else source._con
