"""Forecast rows of a run with their interval, a flag for the top tenth, one area's band and explanation.

An area's explanation is the forecasting model's own (its drivers and sentence, stored with the run) when the
run has one; otherwise only the comparison with the recent record, marked as such (``source``).
Every view is written to the log (who, which run, which filter, how many rows), including conditional views
answered with 304, because a 304 still shows the forecast to someone. Views are posted to the backend's log
writer, which commits them in batches within a short window off the response path (and all of them at
shutdown); readers of the log flush it first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from pulsetwin.api.errors import not_found
from pulsetwin.api.etag import body_etag
from pulsetwin.api.services.areas import period_totals, points
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.services.decisions import list_decisions
from pulsetwin.api.services.runs import get_run, known_served, refuse_if_withdrawn, vintage
from pulsetwin.api.services.statuses import statuses
from pulsetwin.models.explain import DRIVERS
from pulsetwin.schema.language import LANGS, Lang
from pulsetwin.store.explanations import read_explanations

FLAG_QUANTILE = 0.9
RECENT_PERIODS = 8
HISTORY_PERIODS = 52
AREA_DECISIONS = 100  # decisions shown with one area, newest first
MAX_DECISIONS = 1_000_000
FLAT_BAND = 0.1
ROWS_SQL = (
    "WITH f AS (SELECT f.area_code, a.name AS area_name, f.category, f.period_start, f.mean, f.q05, f.q50, "
    "f.q95, f.mean > 0 AND f.mean >= quantile_cont(f.mean, {q}) OVER (PARTITION BY f.category, "
    "f.period_start) AS flagged FROM forecasts f LEFT JOIN areas a USING (area_code) WHERE f.run_id = ?) "
    "SELECT * FROM f ORDER BY category, period_start, area_code"
)


@dataclass(frozen=True)
class RunRows:
    """A run's forecast rows with their flag, in the order of :data:`ROWS_SQL`, and where each area's rows
    of a category are."""

    table: pa.Table
    positions: dict[tuple[str, str], list[int]]

    def area(self, area_code: str, category: str) -> list[dict[str, Any]]:
        """The rows of one area and category (empty when the run has none)."""
        found = self.positions.get((area_code, category))
        return [] if not found else self.table.take(found).to_pylist()

    def matching(self, filters: dict[str, object]) -> pa.Table:
        """The rows equal to every filter value."""
        table = self.table
        for column, value in filters.items():
            table = table.filter(pc.equal(table[column], pa.scalar(value, table.schema.field(column).type)))
        return table


def run_rows(backend: Backend, run_id: str) -> RunRows:
    """A run's forecast rows, read once per run and data version and kept as Arrow (compact even for a
    national run), with an index by (area, category).

    The flag compares a row with all areas of its category and period, so it is computed over the whole
    run in any case; an area's rows or a filtered page then come from memory instead of a query each.
    """

    def build() -> RunRows:
        table = backend.read_arrow(ROWS_SQL.format(q=FLAG_QUANTILE), [run_id])
        positions: dict[tuple[str, str], list[int]] = {}
        codes, categories = table["area_code"].to_pylist(), table["category"].to_pylist()
        for i, key in enumerate(zip(codes, categories, strict=True)):
            positions.setdefault(key, []).append(i)
        return RunRows(table, positions)

    return backend.cached(("run-rows", run_id), build)


@dataclass(frozen=True)
class Answer:
    """A serialised answer as cached: the body, its ETag and the number of rows it shows."""

    body: bytes
    etag: str
    rows: int = 1


def page_key(run_id: str, filters: dict[str, object], limit: int, offset: int) -> tuple[Any, ...]:
    """The cache key of a page of forecast rows."""
    return ("forecast-page", run_id, tuple(filters.items()), limit, offset)


def cached_page(
    backend: Backend, run_id: str, filters: dict[str, object], limit: int, offset: int
) -> Answer | None:
    """The page as :func:`forecast_page_json` last made it, when it is in memory and the run is known to be
    served; None otherwise (then call that). Reads no store: for the event loop."""
    if not known_served(backend, run_id):
        return None
    found: Answer | None = backend.peek(page_key(run_id, filters, limit, offset))
    return found


def forecast_page_json(
    backend: Backend,
    actor: str,
    run_id: str,
    filters: dict[str, object],
    limit: int,
    offset: int,
    validate: Callable[[dict[str, Any]], BaseModel],
) -> Answer:
    """A page of forecast rows with model, status and vintage, validated by ``validate`` (the response
    schema) and serialised, cached per run, filter and page, with the number of rows on the page.
    451 when the run is withdrawn."""
    refuse_if_withdrawn(backend, run_id, actor)

    def build() -> Answer:
        record = get_run(backend, run_id)
        rows = run_rows(backend, run_id).matching(filters)
        items = rows.slice(offset, limit).to_pylist()
        page = {
            "items": items, "total": rows.num_rows, "limit": limit, "offset": offset,
            "run_id": run_id, "model": record.model, "status": record.status, "vintage": vintage(backend, record),
        }  # fmt: skip
        body = validate(page).model_dump_json().encode("utf-8")
        return Answer(body, body_etag(body), len(items))

    return backend.cached(page_key(run_id, filters, limit, offset), build)


def log_view(backend: Backend, actor: str, run_id: str, detail: dict[str, Any]) -> None:
    """Queue one forecast view for the log (committed within the writer's window; 503 when too many views
    wait for a store that another program holds)."""
    backend.log_writer.post(actor, "view_forecasts", run_id, detail)


@dataclass(frozen=True)
class AreaContext:
    """What the one-area answers of a run share, read once per run and data version: the recent record of
    every area and category (its last ``HISTORY_PERIODS`` periods before the origin, summed over sources),
    the model's explanations and the decisions."""

    history: pd.DataFrame
    positions: dict[Any, Any]
    explanations: dict[tuple[str, str], dict[Any, Any]]

    def history_of(self, area_code: str, category: str) -> list[dict[str, Any]]:
        """The recent record of one area and category, oldest first."""
        found = self.positions.get((area_code, category))
        return [] if found is None else points(self.history.iloc[found])


def area_context(backend: Backend, run_id: str) -> AreaContext:
    """The :class:`AreaContext` of a run: three reads per run instead of three per area."""

    def build() -> AreaContext:
        record = get_run(backend, run_id)
        before = "" if record.origin is None else " AND period_start < ?"
        origin = [] if record.origin is None else [record.origin.to_pydatetime()]
        raw = backend.read_arrow(
            f'SELECT area_code, category, period_start, "count" FROM incidents WHERE freq = ?{before} '
            "QUALIFY dense_rank() OVER (PARTITION BY area_code, category ORDER BY period_start DESC) <= ?",
            [record.freq or "W", *origin, HISTORY_PERIODS],
        ).to_pandas()
        totals = period_totals(raw, ["area_code", "category"])
        positions = totals.groupby(["area_code", "category"], sort=False).indices if len(totals) else {}
        with backend.session() as store:
            stored = read_explanations(store, run_id).drop_duplicates(["area_code", "category"])
        explanations = {
            (str(r["area_code"]), str(r["category"])): r
            | {"period_start": pd.Timestamp(r["period_start"]).date()}
            for r in stored.to_dict(orient="records")
        }
        return AreaContext(totals, positions, explanations)

    return backend.cached(("area-context", run_id), build)


def run_decisions(backend: Backend, run_id: str) -> dict[str, list[dict[str, Any]]]:
    """The newest ``AREA_DECISIONS`` decisions per area of a run, read once per run and decision."""

    def build() -> dict[str, list[dict[str, Any]]]:
        by_area: dict[str, list[dict[str, Any]]] = {}
        for decision in list_decisions(backend, run_id, None, MAX_DECISIONS, 0)[0]:
            shown = by_area.setdefault(str(decision["area_code"]), [])
            if len(shown) < AREA_DECISIONS:
                shown.append(decision)
        return by_area

    return backend.cached(("run-decisions", run_id, backend.decisions_version), build)


def area_forecast(
    backend: Backend, actor: str, run_id: str, area_code: str, category: str, lang: Lang = "nl"
) -> dict[str, Any]:
    """One area's forecast band in a run, its recent record, the explanation (model's sentence in ``lang``)
    and the decisions."""
    refuse_if_withdrawn(backend, run_id, actor)
    record = get_run(backend, run_id)
    mine = run_rows(backend, run_id).area(area_code, category)
    if not mine:
        raise not_found("forecast", f"{run_id}/{area_code}/{category}")
    context = area_context(backend, run_id)
    history = context.history_of(area_code, category)
    return {
        "run_id": run_id, "model": record.model, "status": record.status, "area_code": area_code,
        "area_name": mine[0]["area_name"], "category": category, "flagged": any(r["flagged"] for r in mine),
        "vintage": vintage(backend, record), "forecast": mine, "history": history,
        "explanation": {
            **explanation(mine[0]["mean"], mine[0]["period_start"], history),
            **model_explanation(context.explanations.get((area_code, category)), lang),
        },
        "decisions": run_decisions(backend, run_id).get(area_code, []),
        "statuses": statuses(backend, run_id, lang),
    }  # fmt: skip


def area_key(backend: Backend, run_id: str, area_code: str, category: str, lang: Lang) -> tuple[Any, ...]:
    """The cache key of one area's answer (with the decisions version: a new decision shows at once)."""
    return ("area-forecast", run_id, area_code, category, lang, backend.decisions_version)


def cached_area(backend: Backend, run_id: str, area_code: str, category: str, lang: Lang) -> bytes | None:
    """The answer of :func:`area_forecast_json` when it is in memory and the run is known to be served;
    None otherwise (then call that). Reads no store: for the event loop."""
    if not known_served(backend, run_id):
        return None
    found: bytes | None = backend.peek(area_key(backend, run_id, area_code, category, lang))
    return found


def area_forecast_json(
    backend: Backend,
    actor: str,
    run_id: str,
    area_code: str,
    category: str,
    lang: Lang,
    validate: Callable[[dict[str, Any]], BaseModel],
) -> bytes:
    """:func:`area_forecast` validated by ``validate`` and serialised, cached per run, area, category,
    language, data version and decisions. 451 when the run is withdrawn."""
    refuse_if_withdrawn(backend, run_id, actor)
    return backend.cached(
        area_key(backend, run_id, area_code, category, lang),
        lambda: (
            validate(area_forecast(backend, actor, run_id, area_code, category, lang))
            .model_dump_json()
            .encode("utf-8")
        ),
    )


def explanation(forecast_mean: float, first_period: date, history: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare the first forecast period with the mean of the last recorded periods (up, down or flat)."""
    recent = pd.Series([p["count"] for p in history[-RECENT_PERIODS:]], dtype="float64").dropna()
    recent_mean = None if recent.empty else float(recent.mean())
    direction = "flat"
    if recent_mean is not None and abs(forecast_mean - recent_mean) > FLAT_BAND * max(recent_mean, 1.0):
        direction = "up" if forecast_mean > recent_mean else "down"
    return {
        "direction": direction, "forecast_mean": float(forecast_mean), "recent_mean": recent_mean,
        "recent_periods": len(recent), "first_period": first_period,
    }  # fmt: skip


def model_explanation(stored: dict[str, Any] | None, lang: Lang) -> dict[str, Any]:
    """The model's drivers and its sentence in ``lang`` from a stored explanation row; when there is none,
    ``source`` says the explanation rests on the recent record only, not on the model's drivers."""
    if stored is None:
        return {"source": "recent_history", "model": None}
    return {
        "source": "model",
        "model": {
            "period_start": stored["period_start"], "mean": stored["mean"], "usual": stored["usual"],
            "drivers": {g: stored[g] for g in DRIVERS}, "text": stored[f"text_{lang}"], "lang": lang,
        },
    }  # fmt: skip


def preferred_language(accept_language: str | None) -> Lang:
    """The language of ``nl``/``en`` with the highest weight in an Accept-Language header; Dutch when the
    header asks for neither.

    Notes
    -----
    Weights as in RFC 9110, section 12.5.4 (``q`` from 0 to 1, default 1); an unreadable weight counts as 0.
    """
    best: Lang = "nl"
    best_q = 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = ("en" if primary == "en" else "nl"), q
    return best


def forecasts_csv(backend: Backend, actor: str, run_id: str) -> str:
    """All forecast rows of a run as CSV; logged as an export."""
    refuse_if_withdrawn(backend, run_id, actor)
    get_run(backend, run_id)
    frame = run_rows(backend, run_id).table.to_pandas()
    text = frame.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n")
    backend.log_writer.write(actor, "export", f"forecasts:{run_id}", {"rows": len(frame)})
    return text
