"""What every connector returns: canonical frames for one all-or-nothing store import, with provenance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pulsetwin.sources.http import Response, dataset_hash
from pulsetwin.sources.settings import LICENCE


@dataclass(frozen=True)
class Dataset:
    """Canonical frames (``{table: frame}``) fetched completely, plus where they came from.

    Attributes
    ----------
    frames
        Canonical tables to import together, in one ``Store.import_frames`` call.
    source
        The ``source`` recorded by the store (e.g. ``politie:47022NED``).
    provenance
        Table ids, boundary years, retrieval times, content hash, licence and connector details.
    messages
        What the connector decided on the user's behalf (dropped months, missing measures), to print.
    """

    frames: dict[str, pd.DataFrame]
    source: str
    provenance: dict[str, Any]
    messages: tuple[str, ...] = field(default=())

    @property
    def file_hash(self) -> str:
        """The content hash of the responses (or file) the frames came from."""
        return str(self.provenance["hash"])

    @property
    def rows(self) -> dict[str, int]:
        """Row count per table."""
        return {name: len(frame) for name, frame in self.frames.items()}


def provenance_of(
    dataset: str,
    *,
    tables: Sequence[str],
    boundary_years: Sequence[int],
    url: str,
    responses: Sequence[Response],
    licence: str = LICENCE,
    **details: Any,
) -> dict[str, Any]:
    """Provenance of an online dataset: ids, boundary years, retrieval window, body hash, licence."""
    times = sorted(r.retrieved_at for r in responses)
    return {
        "dataset": dataset,
        "tables": list(tables),
        "boundary_years": sorted({int(y) for y in boundary_years}),
        "url": url,
        "retrieved_from": times[0] if times else None,
        "retrieved_to": times[-1] if times else None,
        "requests": len(responses),
        "hash": dataset_hash(responses),
        "licence": licence,
        "details": details,
    }
