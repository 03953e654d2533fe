"""The PulseTwin store: one DuckDB file with the canonical tables, provenance, runs and a hash-chained log.

Audit-only access to protected attributes lives in :mod:`pulsetwin.store.protected` and is not re-exported.
"""

from pulsetwin.store.database import DEFAULT_PATH, Store
from pulsetwin.store.importing import ImportReport, TableImport
from pulsetwin.store.log import LogRecord, LogVerification
from pulsetwin.store.runs import RunRecord

__all__ = [
    "DEFAULT_PATH",
    "ImportReport",
    "LogRecord",
    "LogVerification",
    "RunRecord",
    "Store",
    "TableImport",
]
