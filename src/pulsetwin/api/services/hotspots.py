"""The latest stored hotspot map (a ``hotspots`` run): its top cells, for a layer on the dashboard map."""

from __future__ import annotations

from typing import Any

from pulsetwin.api.errors import ApiError
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.services.statuses import category_labels
from pulsetwin.store.runs import RunKind

LAYER_CELLS = 60
"""Cells drawn on the map: the highest-ranked ones (a city has thousands; the top few hundred are the map)."""


def latest_hotspots(backend: Backend, limit: int = LAYER_CELLS) -> dict[str, Any]:
    """The newest hotspot run's top ``limit`` cells with its window and model; 404 when none is stored."""

    def build() -> Any:
        with backend.session() as store:
            runs = store.runs()
            chosen = runs[runs["kind"] == RunKind.HOTSPOTS]
            if chosen.empty:
                return None
            record = store.get_run(str(chosen["run_id"].iloc[-1]))
            store.runs()
            return record

    record = backend.cached(("hotspots",), build)
    if record is None:
        raise ApiError(404, "not_found", "no hotspot map is stored. Fix: run `pulsetwin hotspots`", {})
    m = record.metrics
    cells = m.get("cells") or {}
    rows = [dict(zip(cells, values, strict=True)) for values in zip(*cells.values(), strict=True)]
    rows = sorted(rows, key=lambda r: r["rank"])[:limit]
    categories = [str(c) for c in m.get("categories", [])]
    return {
        "run_id": record.run_id, "model": m.get("model"), "origin": str(m.get("origin", "")),
        "window_days": m.get("window_days"), "cell_m": m.get("cell_m"), "categories": categories,
        "category_labels": category_labels(categories), "n_cells": m.get("n_cells"), "cells": rows,
    }  # fmt: skip
