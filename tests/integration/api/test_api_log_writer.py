"""Group commit of views: concurrent requests each get exactly one log record, the chain verifies, and a
request is answered only after its record is committed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pulsetwin.api.services.backend import Backend
from pulsetwin.store import Store
from pulsetwin.store.log import LogEntry

V1 = "/api/v1"
N_VIEWS = 40


def test_concurrent_views_give_exactly_one_verified_record_each(
    client: TestClient, auth: dict[str, dict[str, str]], run_id: str
) -> None:
    def view(offset: int) -> int:
        params: dict[str, str | int] = {"run_id": run_id, "limit": 1, "offset": offset}
        return client.get(f"{V1}/forecasts", params=params, headers=auth["viewer"]).status_code

    def views() -> list[dict[str, object]]:
        params: dict[str, str | int] = {"action": "view_forecasts", "limit": 1000}
        items: list[dict[str, object]] = client.get(f"{V1}/log", params=params, headers=auth["admin"]).json()[
            "items"
        ]
        return items

    before = {item["seq"] for item in views()}
    with ThreadPoolExecutor(max_workers=N_VIEWS) as pool:
        statuses = list(pool.map(view, range(N_VIEWS)))
    new = [item for item in views() if item["seq"] not in before]
    assert statuses == [200] * N_VIEWS
    assert len(new) == N_VIEWS
    assert sorted(item["detail"]["offset"] for item in new) == list(range(N_VIEWS))  # type: ignore[index]
    assert {item["actor"] for item in new} == {"viewer-user"}
    assert client.get(f"{V1}/log/verify", headers=auth["admin"]).json()["ok"] is True


def test_log_writer_batches_chain_in_order_and_isolate_a_bad_entry(tmp_path: Path) -> None:
    backend = Backend(Store(tmp_path / "store.duckdb"))
    start = threading.Barrier(16)

    def write(i: int) -> int:
        start.wait()
        return backend.log_writer.write("tester", "view", f"run-{i}", {"i": i}).seq

    with ThreadPoolExecutor(max_workers=16) as pool:
        seqs = list(pool.map(write, range(16)))
        unsortable: dict[Any, Any] = {1: "a", "b": 2}  # canonical JSON cannot sort int and str keys
        bad = backend.log_writer.submit(LogEntry("tester", "view", "bad", unsortable))
        good = backend.log_writer.submit(LogEntry("tester", "view", "good", {"ok": True}))
        with pytest.raises(TypeError):
            bad.result()
        assert good.result().subject == "good"
    with backend.session() as store:
        records = store.log.records()
        assert store.log.verify().ok
    assert sorted(seqs) == list(range(1, 17)) and len(records) == 17
    assert {r.subject for r in records} == {*(f"run-{i}" for i in range(16)), "good"}
    backend.close()
    with pytest.raises(RuntimeError, match="closed"):
        backend.log_writer.write("tester", "view", "late", {})
