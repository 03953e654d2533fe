"""Privacy of published tables: small-cell suppression with secondary suppression, rounding, and
differential privacy with the discrete Laplace mechanism under a per-dataset ε budget kept in the store.

A table is published with its margins (row totals, column totals, grand total). Every relation of the table
(a row or column, margins included) that holds a suppressed entry must hold at least two, so no suppressed
entry can be solved from the published ones; the complementary entries chosen are the smallest available.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from pulsetwin.evaluation.frequency import choose_freq, stored_freqs
from pulsetwin.exceptions import ParameterError, PrivacyBudgetError, StoreError, bad_parameter
from pulsetwin.schema.params import Integer, check_param
from pulsetwin.schema.periods import Freq
from pulsetwin.store.privacy_budget import Budget, read_budget, write_budget

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

DEFAULT_THRESHOLD = 10
DEFAULT_ROUNDING = 5
DEFAULT_EPSILON_TOTAL = 1.0
TOTAL_LABEL = "totaal"
POINT_TABLES = ("events",)


# ---------------------------------------------------------------------------------------------- suppression
def augment(values: np.ndarray) -> np.ndarray:
    """The (R+1) x (C+1) table with row totals as last column, column totals as last row, the grand total
    in the corner. A missing (NaN) entry makes its totals missing."""
    rows = values.sum(axis=1, keepdims=True)
    table = np.hstack([values, rows])
    return np.vstack([table, table.sum(axis=0, keepdims=True)])


def secondary_suppression(table: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Extend ``mask`` until every row and column of the augmented ``table`` has 0 or >= 2 suppressed entries.

    Each pass gives every row (then column) with exactly one suppressed entry its smallest unsuppressed entry
    as complement, and repeats until nothing changes.

    Notes
    -----
    The classic hypercube-free heuristic of statistical disclosure control (Hundepool et al. 2012,
    *Statistical Disclosure Control*, 4.3): smallest complementary cells, iterated to a fixed point.
    """
    out = mask.copy()
    values = np.where(np.isnan(table), -np.inf, table)
    while True:
        before = int(out.sum())
        for axis in (1, 0):
            view = out if axis == 1 else out.T
            vals = values if axis == 1 else values.T
            lone = np.flatnonzero(view.sum(axis=1) == 1)
            if lone.size:
                candidates = np.where(view[lone], np.inf, vals[lone])
                pick = np.argmin(candidates, axis=1)
                view[lone, pick] = True
        if int(out.sum()) == before:
            return out


@dataclass(frozen=True)
class ProtectedTable:
    """A table ready to publish: values with NaN for suppressed entries, margins included."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    published: np.ndarray
    primary: np.ndarray
    suppressed: np.ndarray

    def to_frame(self, row_name: str) -> pd.DataFrame:
        """Wide frame: one row per row label plus ``totaal``, one column per column label plus ``totaal``."""
        frame = pd.DataFrame(
            self.published, columns=[*self.columns, TOTAL_LABEL], index=[*self.rows, TOTAL_LABEL]
        )
        frame.index.name = row_name
        return frame.astype("Float64").round(0).astype("Int64").reset_index()


def protect_table(
    values: np.ndarray,
    rows: tuple[str, ...],
    columns: tuple[str, ...],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    rounding: int = DEFAULT_ROUNDING,
) -> ProtectedTable:
    """Suppress entries below ``threshold`` (and unknown ones) with secondary suppression, round to ``rounding``.

    ``values`` is a (rows, columns) array of counts; NaN marks a withheld count. Margins are computed from the
    values, suppressed by the same rules, and rounded independently.
    """
    check_param("threshold", "protect_table", Integer(low=1), threshold)
    check_param("rounding", "protect_table", Integer(low=1), rounding)
    table = augment(np.asarray(values, dtype=np.float64))
    primary = np.isnan(table) | (table < threshold)
    suppressed = secondary_suppression(table, primary)
    rounded = rounding * np.round(table / rounding)
    published = np.where(suppressed, np.nan, rounded)
    return ProtectedTable(rows, columns, published, primary, suppressed)


# ---------------------------------------------------------------------------------------------- DP noise
def discrete_laplace(
    shape: tuple[int, ...], epsilon: float, rng: np.random.Generator, sensitivity: int = 1
) -> np.ndarray:
    """Integer noise with P(k) proportional to exp(-epsilon |k| / sensitivity).

    Notes
    -----
    The geometric mechanism (Ghosh, Roughgarden & Sundararajan 2009): the difference of two i.i.d. geometric
    variables is two-sided geometric (discrete Laplace, Canonne, Kamath & Steinke 2020); it is
    ``epsilon``-differentially private for integer queries of L1 sensitivity ``sensitivity``.
    """
    if not (isinstance(epsilon, float | int) and np.isfinite(epsilon) and epsilon > 0):
        raise bad_parameter("epsilon", "discrete_laplace", "a finite number > 0", epsilon)
    p = -np.expm1(-float(epsilon) / sensitivity)
    return (rng.geometric(p, size=shape) - rng.geometric(p, size=shape)).astype(np.int64)


def discrete_laplace_scale(epsilon: float, sensitivity: int = 1) -> dict[str, float]:
    """The noise distribution's parameter ``alpha = exp(-epsilon / sensitivity)``, variance and SD."""
    alpha = float(np.exp(-epsilon / sensitivity))
    variance = 2.0 * alpha / (1.0 - alpha) ** 2
    return {"alpha": alpha, "variance": variance, "sd": float(np.sqrt(variance)), "sensitivity": sensitivity}


# ---------------------------------------------------------------------------------------------- budget
def _spend(store: Store, dataset: str, epsilon: float, total: float | None) -> dict[str, float]:
    """Record a release of ``dataset`` spending ``epsilon`` (inside the caller's transaction); refuse one
    that would exceed the dataset's budget, or a total other than the one fixed at its first release."""
    stored = read_budget(store, dataset)
    spent, releases = (0.0, 0) if stored is None else (stored.epsilon_spent, stored.releases)
    if stored is not None and total is not None and not np.isclose(total, stored.epsilon_total):
        raise PrivacyBudgetError(
            f"the ε budget of dataset '{dataset}' is fixed at {stored.epsilon_total:g}; got "
            f"epsilon_total={total:g}. Fix: omit --epsilon-total; a budget is never raised after releases were made"
        )
    budget = stored.epsilon_total if stored is not None else (total or DEFAULT_EPSILON_TOTAL)
    if spent + epsilon > budget + 1e-12:
        raise PrivacyBudgetError(
            f"dataset '{dataset}': a release with ε={epsilon:g} would bring the spent budget to "
            f"{spent + epsilon:g} > total {budget:g} (spent so far {spent:g} in {releases} releases). "
            "Fix: release with a smaller --dp-epsilon or publish without DP noise (suppression only)"
        )
    write_budget(store, Budget(dataset, spent + epsilon, budget, releases + 1))
    return {"epsilon_spent": spent + epsilon, "epsilon_total": budget, "releases": releases + 1}


# ---------------------------------------------------------------------------------------------- release
@dataclass(frozen=True)
class Release:
    """What a public export wrote and under which parameters."""

    out: Path
    table: str
    rows: int
    suppressed_primary: int
    suppressed_secondary: int
    parameters: dict[str, Any]
    budget: dict[str, float] | None


def _incident_table(
    store: Store, freq: Freq | None, rows: str, columns: str
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...], str, Freq]:
    """The incidents at one frequency as a (rows, columns) count array with labels (NaN where a count is
    withheld), and that frequency: ``freq``, or the store's only one (both summed would count every incident
    twice, so a store holding both needs ``freq``; :func:`pulsetwin.evaluation.frequency.choose_freq`)."""
    chosen = choose_freq(freq, stored_freqs(store), command="pulsetwin export incidents --public")
    incidents = store.read("incidents", where={"freq": chosen})
    key = incidents["area_code"].astype(str)
    if rows == "wijk":
        areas = store.read("areas")
        parent = areas.set_index("area_code")["parent_code"]
        key = key.map(parent)
        if key.isna().any() or (key == "").any():
            raise StoreError(
                "some incident areas have no parent wijk in the areas table. Fix: import the areas"
            )
    elif rows != "area":
        raise bad_parameter("rows", "public_export", "'area' or 'wijk'", rows)
    if columns == "category":
        col = incidents["category"].astype(str)
    elif columns == "period":
        col = incidents["period_start"].dt.strftime("%Y-%m-%d")
    else:
        raise bad_parameter("columns", "public_export", "'category' or 'period'", columns)
    counts = incidents["count"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    frame = pd.DataFrame({"r": key.to_numpy(), "c": col.to_numpy(), "v": counts})
    grouped = frame.groupby(["r", "c"], sort=True)["v"]
    cells = grouped.sum().where(~frame["v"].isna().groupby([frame["r"], frame["c"]], sort=True).any())
    wide = cells.unstack("c", fill_value=0)
    return (
        wide.to_numpy(dtype=np.float64),
        tuple(str(r) for r in wide.index),
        tuple(str(c) for c in wide.columns),
        "wijk_code" if rows == "wijk" else "area_code",
        chosen,
    )


def public_export(
    store: Store,
    table: str,
    out: str | Path,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    rounding: int = DEFAULT_ROUNDING,
    dp_epsilon: float | None = None,
    seed: int | None = None,
    freq: Freq | None = None,
    rows: Literal["area", "wijk"] = "area",
    columns: Literal["category", "period"] = "category",
    epsilon_total: float | None = None,
    actor: str = "cli",
) -> Release:
    """Publish ``incidents`` as a protected wide table (other model-readable tables as :meth:`Store.export`).

    Order: discrete Laplace noise on the cells (when ``dp_epsilon``; negative results clipped to 0), then
    margins, small-cell and secondary suppression, then rounding. Suppression and rounding are
    post-processing of the noisy counts, so the release stays ``dp_epsilon``-DP. The ε is charged to the
    dataset's budget first; a release beyond it raises :class:`PrivacyBudgetError` and writes nothing. The
    seed is recorded only as a fingerprint: whoever knows it could remove the noise (omit it in production).
    """
    out_path = Path(out)
    if table in POINT_TABLES:
        raise StoreError(
            f"table '{table}' holds point events; publishing points is refused. "
            "Fix: publish the incidents aggregated per area and period instead"
        )
    if table != "incidents":
        if dp_epsilon is not None:
            raise ParameterError(f"DP noise applies to count tables (incidents), not '{table}'")
        path = store.export(table, out_path, public=True, actor=actor)
        store.log.append(
            actor, "public_export", table, {"out": str(path), "protection": "none (not a count table)"}
        )
        return Release(path, table, store.count(table), 0, 0, {"table": table}, None)
    values, row_labels, col_labels, row_name, chosen = _incident_table(store, freq, rows, columns)
    noise: dict[str, float] | None = None
    if dp_epsilon is not None:
        rng = np.random.default_rng(seed)
        known = ~np.isnan(values)
        noisy = values + discrete_laplace(values.shape, dp_epsilon, rng)
        values = np.where(known, np.maximum(noisy, 0.0), np.nan)
        noise = discrete_laplace_scale(dp_epsilon)
    protected = protect_table(values, row_labels, col_labels, threshold=threshold, rounding=rounding)
    frame = protected.to_frame(row_name)
    parameters: dict[str, Any] = {
        "table": table, "freq": chosen, "rows": rows, "columns": columns, "threshold": threshold,
        "rounding": rounding, "dp_epsilon": dp_epsilon, "mechanism": "discrete_laplace" if noise else None,
        "noise": noise,
        "seed_fingerprint": None if seed is None else hashlib.sha256(str(seed).encode()).hexdigest()[:16],
    }  # fmt: skip
    primary = int(protected.primary.sum())
    secondary = int(protected.suppressed.sum()) - primary
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    budget: dict[str, float] | None = None
    with store.transaction():
        if dp_epsilon is not None:
            budget = _spend(store, table, float(dp_epsilon), epsilon_total)
        if out_path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif out_path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            raise bad_parameter("out", "public_export", "a .csv or .parquet path", str(out_path))
        _record(store, out_path, tmp, parameters, primary, secondary, budget, len(frame), actor)
        tmp.replace(out_path)
    return Release(out_path, table, len(frame), primary, secondary, parameters, budget)


def _record(
    store: Store, out: Path, written: Path, parameters: dict[str, Any], primary: int, secondary: int,
    budget: dict[str, float] | None, n_rows: int, actor: str,
) -> None:  # fmt: skip
    """Write the release's provenance record and log entry (inside the caller's transaction).

    The entry carries the state digests of ``provenance`` and, when ε was spent, ``privacy_budget``, so
    ``log verify --deep`` accounts for the release's rows and names a budget edited outside PulseTwin.
    """
    from pulsetwin.store.provenance import dataset_id, file_sha256, save_provenance

    digest = file_sha256(written)
    now = datetime.now(UTC).replace(tzinfo=None)
    details = {
        **parameters,
        "suppressed_primary": primary,
        "suppressed_secondary": secondary,
        "budget": budget,
    }
    release = dataset_id("public_release", digest, now)
    save_provenance(
        store, dataset=release, table=str(parameters["table"]), source="public_release",
        file=str(out), file_hash=digest, imported_at=now, row_count=n_rows, details=details,
    )  # fmt: skip
    store.log.append(
        actor, "public_export", str(parameters["table"]), {"release": release, "out": str(out), **details},
        tables=("provenance", "privacy_budget") if budget is not None else ("provenance",),
    )  # fmt: skip
