"""Runs, their vintage, and the admin kill switch that withdraws a run's forecasts."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from pulsetwin.api.errors import ApiError, not_found
from pulsetwin.api.services.backend import Backend
from pulsetwin.exceptions import StoreError
from pulsetwin.schema.language import Lang
from pulsetwin.store.decisions import (
    KillSwitch,
    delete_kill_switch,
    insert_kill_switch,
    is_withdrawn,
    read_kill_switches,
)
from pulsetwin.store.provenance import last_import
from pulsetwin.store.runs import RunRecord, run_categories, run_periods


def get_run(backend: Backend, run_id: str) -> RunRecord:
    """The run ``run_id``; 404 when unknown."""

    def build() -> RunRecord:
        with backend.session() as store:
            return store.get_run(run_id)

    try:
        return backend.cached(("run", run_id), build)
    except StoreError:
        raise not_found("run", run_id) from None


def _withdrawals(backend: Backend) -> dict[str, tuple[Any, ...]]:
    """Run id -> (at, actor, reason) of withdrawn runs, kept in memory (only this process changes them)."""
    known = backend.withdrawn
    if known is not None:
        return known
    with backend.session() as store:
        if backend.withdrawn is None:
            backend.withdrawn = {k.run_id: (k.at, k.actor, k.reason) for k in read_kill_switches(store)}
        return backend.withdrawn


def withdrawn_runs(backend: Backend) -> set[str]:
    """Run ids whose forecasts an admin withdrew."""
    return set(_withdrawals(backend))


def run_summary(record: RunRecord, withdrawn: bool) -> dict[str, Any]:
    """The fields of :class:`RunOut`."""
    return {
        "run_id": record.run_id, "created_at": record.created_at, "kind": record.kind, "model": record.model,
        "status": record.status, "origin": None if record.origin is None else record.origin.date(),
        "freq": record.freq, "horizon": record.horizon, "data_hash": record.data_hash,
        "code_version": record.code_version, "withdrawn": withdrawn,
    }  # fmt: skip


def list_runs(
    backend: Backend, kind: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of runs, newest first, and the total."""
    with backend.session() as store:
        runs = store.runs()
        withdrawn = withdrawn_runs(backend)
    if kind is not None:
        runs = runs[runs["kind"] == kind]
    page = runs.iloc[::-1].iloc[offset : offset + limit]
    rows = page.astype(object).where(page.notna(), None).to_dict(orient="records")
    items = [
        {
            "run_id": r["run_id"], "created_at": r["created_at"], "kind": r["kind"], "model": r["model"],
            "status": r["status"], "origin": None if r["origin"] is None else pd.Timestamp(r["origin"]).date(),
            "freq": r["freq"], "horizon": None if r["horizon"] is None else int(r["horizon"]),
            "data_hash": r["data_hash"], "code_version": r["code_version"], "withdrawn": r["run_id"] in withdrawn,
        }
        for r in rows
    ]  # fmt: skip
    return items, len(runs)


def vintage(backend: Backend, record: RunRecord) -> dict[str, Any]:
    """The last period of data the run could use and the latest import into the store."""
    imported = backend.cached(("imported",), lambda: backend.read(last_import))
    data_until = None
    if record.origin is not None and record.freq is not None:
        data_until = (record.origin - record.freq.offset).date()
    return {"data_until": data_until, "imported_at": imported, "run_created_at": record.created_at}


def run_detail(backend: Backend, run_id: str, lang: Lang = "nl") -> dict[str, Any]:
    """A run with its categories (and their names), periods, vintage, metrics and statuses (sentences in
    ``lang``)."""
    from pulsetwin.api.services.statuses import category_labels, statuses

    record = get_run(backend, run_id)
    with backend.session() as store:
        categories = run_categories(store, run_id)
        periods = run_periods(store, run_id)
        withdrawn = run_id in withdrawn_runs(backend)
    return {
        **run_summary(record, withdrawn),
        "categories": categories,
        "periods": periods,
        "vintage": vintage(backend, record),
        "metrics": record.metrics,
        "statuses": statuses(backend, run_id, lang),
        "category_labels": category_labels(categories),
    }


def known_served(backend: Backend, run_id: str) -> bool:
    """Whether the run is known, without reading the store, not to be withdrawn (False: ask
    :func:`refuse_if_withdrawn`)."""
    known = backend.withdrawn
    return known is not None and run_id not in known


def refuse_if_withdrawn(backend: Backend, run_id: str, actor: str) -> None:
    """451 with who withdrew the run, when and why; the refused attempt is logged."""
    withdrawal = _withdrawals(backend).get(run_id)
    if withdrawal is None:
        return
    at, admin, reason = withdrawal
    backend.log_writer.write(actor, "view_refused", run_id, {"reason": "withdrawn"})
    raise ApiError(
        451,
        "withdrawn",
        f"The forecasts of run '{run_id}' were withdrawn by {admin} on {at:%Y-%m-%d %H:%M} UTC: {reason}. "
        "They are not served until an admin lifts the withdrawal.",
        {"run_id": run_id, "by": admin, "at": at.isoformat(), "reason": reason},
    )


def list_kill_switches(backend: Backend) -> list[dict[str, Any]]:
    """Every withdrawn run."""
    with backend.session() as store:
        switches = read_kill_switches(store)
    return [asdict(k) for k in switches]


def withdraw(backend: Backend, run_id: str, reason: str, actor: str) -> dict[str, Any]:
    """Withdraw a run's forecasts (logged); 409 when already withdrawn."""
    get_run(backend, run_id)
    at = datetime.now(UTC).replace(tzinfo=None)
    with backend.session() as store, store.transaction():
        if is_withdrawn(store, run_id):
            raise ApiError(409, "conflict", f"run '{run_id}' is already withdrawn", {"run_id": run_id})
        insert_kill_switch(store, KillSwitch(run_id, at, actor, reason, store.log.next_seq()))
        record = store.log.append(actor, "kill_switch", run_id, {"reason": reason}, tables=("kill_switches",))
        backend.withdrawn = None
    return {"run_id": run_id, "at": at, "actor": actor, "reason": reason, "log_seq": record.seq}


def lift(backend: Backend, run_id: str, reason: str, actor: str) -> None:
    """Serve a withdrawn run again (logged); 404 when it is not withdrawn."""
    with backend.session() as store, store.transaction():
        if not is_withdrawn(store, run_id):
            raise not_found("withdrawn run", run_id)
        delete_kill_switch(store, run_id)
        backend.withdrawn = None
        store.log.append(actor, "kill_switch_lifted", run_id, {"reason": reason}, tables=("kill_switches",))
