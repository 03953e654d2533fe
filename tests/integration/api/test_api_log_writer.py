"""Group commit of views off the response path: concurrent views each get exactly one log record, in a chain
that verifies, also after a clean shutdown; views wait out a busy store in the writer; records a caller waits
for are answered only once committed."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pulsetwin.api import Settings, create_app
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.services.logwriter import LogWriter
from pulsetwin.exceptions import StoreBusyError
from pulsetwin.store import Store
from pulsetwin.store.log import LogEntry
from pulsetwin.testing.fixture_store import Fixture

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
        with pytest.raises(TypeError):  # refused at once, before it can spoil a batch
            backend.log_writer.submit(LogEntry("tester", "view", "bad", unsortable))
        with pytest.raises(TypeError):
            backend.log_writer.post("tester", "view", "bad", unsortable)
        good = backend.log_writer.submit(LogEntry("tester", "view", "good", {"ok": True}))
        record = good.result()
        assert record is not None and record.subject == "good"
    with backend.session() as store:
        records = store.log.records()
        assert store.log.verify().ok
    assert sorted(seqs) == list(range(1, 17)) and len(records) == 17
    assert {r.subject for r in records} == {*(f"run-{i}" for i in range(16)), "good"}
    backend.close()
    with pytest.raises(RuntimeError, match="closed"):
        backend.log_writer.write("tester", "view", "late", {})


def test_views_served_before_a_clean_shutdown_are_all_in_a_verified_chain(
    populated: Fixture, tmp_path: Path
) -> None:
    shutil.copytree(populated.db.parent, tmp_path, dirs_exist_ok=True)
    db = tmp_path / populated.db.name
    with Store(db) as store:
        start = store.log.head()[0]
    app = create_app(Settings(db=db))
    with TestClient(app) as client:
        login = {"username": "viewer-user", "password": populated.passwords["viewer-user"]}
        token = client.post("/api/v1/auth/token", json=login).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        def view(offset: int) -> int:
            params: dict[str, str | int] = {"run_id": populated.run_id, "limit": 1, "offset": offset}
            return client.get(f"{V1}/forecasts", params=params, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=N_VIEWS) as pool:
            statuses = list(pool.map(view, range(N_VIEWS)))
    # the app has shut down (the writer flushed): the store alone must hold every view
    with Store(db, read_only=True) as store:
        assert store.log.verify().ok
        views = [r for r in store.log.records() if r.seq > start and r.action == "view_forecasts"]
    assert statuses == [200] * N_VIEWS
    assert sorted(r.detail["offset"] for r in views) == list(range(N_VIEWS))


class FlakyStore:
    """A session that is busy (as when a CLI command holds the file) while ``busy`` is set."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.busy = threading.Event()
        self.refused = 0

    @contextmanager
    def session(self) -> Iterator[Store]:
        if self.busy.is_set():
            self.refused += 1
            raise StoreBusyError("held by another program")
        yield self.store


def test_posted_views_wait_out_a_busy_store_in_order_and_are_bounded(tmp_path: Path) -> None:
    with Store(tmp_path / "store.duckdb") as store:
        flaky = FlakyStore(store)
        writer = LogWriter(flaky.session, window=0.01, max_pending=30)
        flaky.busy.set()
        for i in range(30):
            writer.post("viewer", "view_forecasts", "run", {"i": i})
        with pytest.raises(StoreBusyError, match="30 log records wait"):
            writer.post("viewer", "view_forecasts", "run", {"i": 30})
        with pytest.raises(StoreBusyError):  # a record somebody waits for fails at once: 503
            writer.write("viewer", "export", "run", {})
        assert flaky.refused >= 1 and writer.pending == 30
        flaky.busy.clear()
        writer.flush()
        assert writer.pending == 0
        writer.post("viewer", "view_forecasts", "run", {"i": 30})
        writer.close()  # commits what is queued
        records = store.log.records()
        assert store.log.verify().ok
    assert [r.detail["i"] for r in records] == list(range(31))
