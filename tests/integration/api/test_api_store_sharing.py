"""A running ``serve`` (a real uvicorn process) and CLI commands (separate processes) share one store.

While a client keeps viewing forecasts, ``import`` and ``forecast`` wait for the server to let go of the file,
succeed, and the server lists the new run without a restart. Every view that was answered is in the log, and
the log verifies.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pulsetwin.api.services.lease import StoreLease
from pulsetwin.exceptions import StoreBusyError
from pulsetwin.store.connect import waiting_file
from pulsetwin.store.database import Store
from pulsetwin.testing.fixture_store import Fixture

START_SECONDS = 60.0


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``pulsetwin ARGS`` in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "pulsetwin", *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def served(populated: Fixture, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``pulsetwin serve`` on a copy of the populated store, in its own process; stopped with Ctrl-C."""
    db = tmp_path / "shared.duckdb"
    shutil.copy(populated.db, db)
    port = free_port()
    output = tmp_path / "serve.txt"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "pulsetwin", "serve", "--db", str(db), "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, output.read_text()
        assert time.monotonic() < deadline, "serve did not start"
        time.sleep(0.2)
    try:
        yield base, db
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


@pytest.mark.slow
def test_import_and_forecast_run_while_serve_runs(
    served: tuple[str, Path], populated: Fixture, tmp_path: Path
) -> None:
    base, db = served
    with Store(db, read_only=True) as store:  # the copy may already hold views other tests logged
        start_seq = store.log.head()[0]
    login = {"username": "analyst-user", "password": populated.passwords["analyst-user"]}
    token = httpx.post(f"{base}/api/v1/auth/token", json=login).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    statuses: list[int] = []
    stop = threading.Event()

    def view() -> None:  # a dashboard user who keeps looking while the refresh runs
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            while not stop.is_set():
                try:
                    answer = client.get("/api/v1/forecasts", params={"run_id": populated.run_id, "limit": 5})
                except httpx.TransportError:  # no answer: the view may or may not have been logged
                    statuses.append(0)
                else:
                    statuses.append(answer.status_code)
                time.sleep(0.05)

    viewer = threading.Thread(target=view)
    viewer.start()
    try:
        time.sleep(0.5)
        extra = tmp_path / "refresh.csv"
        extra.write_text(
            "area_code,year,variable,value\nBU09170000,2021,refresh_check,1.0\n", encoding="utf-8"
        )
        imported = cli("import", "covariates", str(extra), "--db", str(db))
        assert imported.returncode == 0, imported.stdout + imported.stderr
        forecast = cli(
            "forecast", "--db", str(db), "--model", "naive_last", "--horizon", "2", "--folds", "1",
            "--category", "burglary_residential", "--scheduler", "serial",
        )  # fmt: skip
        assert forecast.returncode == 0, forecast.stdout + forecast.stderr
        new_run = re.search(r"forecast-\d{8}T\d{6}-[0-9a-f]{8}", forecast.stdout)
        assert new_run is not None, forecast.stdout
        time.sleep(0.5)
    finally:
        stop.set()
        viewer.join()
    listed = httpx.get(f"{base}/api/v1/runs", params={"kind": "forecast"}, headers=headers).json()
    assert new_run.group(0) in [run["run_id"] for run in listed["items"]]
    assert set(statuses) <= {0, 200, 503} and statuses.count(200) >= 2, statuses
    assert not waiting_file(db).exists()
    served_views = statuses.count(200)

    exported = cli("export", "forecasts", "--out", str(tmp_path / "out.csv"), "--db", str(db))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    with Store(db, read_only=True) as store:  # the running server lets go for this process too
        records = store.log.records()
        assert store.log.verify().ok
    views = [
        r for r in records if r.seq > start_seq and r.action == "view_forecasts" and r.actor == "analyst-user"
    ]
    # every answered view is in the log; a logged view without an answer only when the client gave up
    assert served_views <= len(views) <= served_views + statuses.count(0), (len(views), statuses)
    assert {"import", "save_run"} <= {r.action for r in records}


def test_a_store_held_by_another_process_is_refused_after_the_wait(
    populated: Fixture, tmp_path: Path
) -> None:
    db = tmp_path / "held.duckdb"
    shutil.copy(populated.db, db)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(db)!r}); print('held', flush=True); "
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(StoreBusyError, match=rf"held by another program \(PID {holder.pid}\)"):
            Store(db, wait=0.3)
        assert time.monotonic() - started >= 0.3
        assert waiting_file(db).exists()  # a running server would have seen it and let go
    finally:
        holder.communicate("")
    with Store(db, read_only=True) as store:
        assert store.count("runs") >= 1
    assert not waiting_file(db).exists()


def test_the_lease_closes_when_idle_and_lets_a_waiting_process_in(populated: Fixture, tmp_path: Path) -> None:
    db = tmp_path / "leased.duckdb"
    shutil.copy(populated.db, db)
    closed: list[int] = []
    lease = StoreLease(db, on_close=lambda: closed.append(1), idle=0.2, poll=0.02)
    try:
        with lease.hold() as store:
            assert store.count("runs") >= 1
            with lease.hold() as nested:  # one thread's nested holds share the open store
                assert nested is store
        time.sleep(0.6)
        assert closed == [1] and lease.opens == 1 and not lease.busy  # idle: the file is free again
        with lease.hold():
            waiter = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    f"from pulsetwin.store.database import Store; Store({str(db)!r}).close()",
                ]
            )
            deadline = time.monotonic() + START_SECONDS
            while not waiting_file(db).exists():  # the waiter starts, retries and touches the waiting file
                assert time.monotonic() < deadline and waiter.poll() is None
                time.sleep(0.05)
            time.sleep(0.2)
            assert waiter.poll() is None  # it still waits: this hold lasts
        assert waiter.wait(timeout=30) == 0  # released after the hold: the waiter got in
        assert len(closed) == 2 and lease.opens == 2
    finally:
        lease.close()
