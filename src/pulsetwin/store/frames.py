"""Reading the frames of one frequency from a store, compact: the incidents, the truth and what models read.

A backtest or forecast reads ``areas``, ``covariates``, ``incidents`` and the twin's ``truth`` (and the point
``events`` only when a model reads them) through :func:`load_frames`. At national scale text columns dominate
the memory, so text is held as categoricals (:func:`compact_frame`, :func:`compact_incidents`); the values are
unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd


class FrameSource(Protocol):
    """Anything that reads canonical tables, like :class:`pulsetwin.store.database.Store`."""

    def read(self, table: str, *, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """Return the canonical frame of ``table`` filtered by column equality."""


@runtime_checkable
class ProvenanceSource(Protocol):
    """A frame source that also says where its rows came from, like the store."""

    def provenance(self) -> pd.DataFrame:
        """One record per imported table: ``table_name, source, ...``."""


def load_frames(
    source: FrameSource, freq: str, *, events: bool = True, compact: bool = False
) -> dict[str, pd.DataFrame]:
    """Read the model-readable frames and the truth (twin only) of ``freq`` from a store.

    ``incidents`` and ``truth`` hold the rows of ``freq`` only. The truth's text columns are categorical
    (:func:`compact_frame`): at national scale (~13 M rows) ~0.4 GB where text takes ~1 GB. ``compact``: the
    incidents too, sorted by period (:func:`compact_incidents`, what a backtest holds); else canonical, in key
    order. ``events`` (point events, which only point-process models read) is read only when asked for.
    """
    names = ("areas", "covariates", "events") if events else ("areas", "covariates")
    frames = {name: source.read(name) for name in names}
    incidents = source.read("incidents", where={"freq": freq})
    frames["incidents"] = compact_incidents(incidents) if compact else incidents
    del incidents  # with compact, the text frame is freed before the truth is read
    frames["truth"] = compact_frame(source.read("truth", where={"freq": freq}))
    return frames


def compact_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns categorical (the values present, sorted) on a fresh RangeIndex; rows,
    their order and the values unchanged."""
    rows = np.arange(len(frame))
    columns = {name: _compact_column(v, rows) if _is_text(v) else v.array for name, v in frame.items()}
    return pd.DataFrame(columns, copy=False)


def compact_incidents(incidents: pd.DataFrame, keep: np.ndarray | None = None) -> pd.DataFrame:
    """The incident rows where ``keep`` (default all) sorted by period (stable), text columns categorical,
    on a fresh RangeIndex.

    A national history has ~10 M rows; as text each fold's copy costs ~1 GB. Sorted by period, every fold's
    history is a slice of this one frame (a backtest's ``fold_history``), and a categorical code takes 1-2 bytes per
    row where text takes ~20. The values are unchanged.
    """
    period = incidents["period_start"].to_numpy()
    if keep is None or keep.all():
        order = np.argsort(period, kind="stable")
    else:
        rows = np.flatnonzero(keep)
        order = rows[np.argsort(period[rows], kind="stable")]
    return pd.DataFrame({name: _compact_column(incidents[name], order) for name in incidents.columns})


def text_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a text column (-1 = missing) and the labels they index (categorical: no text copy)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), values.cat.categories
    codes, labels = pd.factorize(values)
    return codes, pd.Index(labels)


def _is_text(values: pd.Series) -> bool:
    """Whether a column holds text (str, object text or categorical)."""
    return isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(values)


def _compact_column(values: pd.Series, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values`` at ``rows``: text as a categorical of the values present there (sorted), others as is."""
    if not _is_text(values):
        return values.array.take(rows)
    codes, labels = text_codes(values)
    picked = codes[rows]
    del codes
    used = np.flatnonzero(np.bincount(picked[picked >= 0], minlength=len(labels)))
    used = used[np.argsort(labels[used].to_numpy(dtype=object), kind="stable")]
    remap = np.full(len(labels) + 1, -1, dtype=np.int32)  # the extra last entry keeps a missing code at -1
    remap[used] = np.arange(used.size)
    return pd.Categorical.from_codes(remap[picked], categories=labels[used])
