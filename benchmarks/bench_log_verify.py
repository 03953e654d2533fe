"""/log/verify on a long log: does a logged view wait while the log is verified?

A populated twin store gets 500,000 extra chained view records (about three hours of 50 users' views),
inserted in bulk. The app runs in-process (FastAPI TestClient, its thread pool as under uvicorn). Measured:

- ``baseline``: logged forecast views back to back from 4 client threads, no verification running;
- ``during verify``: the same while one ``/log/verify`` walks the whole log (the first call: full);
- the time of that first call, and of a second call (incremental: only the records added since);
- the time a writer waits for the store lock while the verification runs.

Target (issue 22): a concurrent logged view stays under 100 ms while the log verifies.

Run:  .venv/bin/python benchmarks/bench_log_verify.py [records]   (writes benchmarks/results/log_verify.json)
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

RECORDS = 500_000
THREADS = 4
V1 = "/api/v1"
RESULTS = Path(__file__).parent / "results" / "log_verify.json"


def summary(seconds: list[float]) -> dict[str, float]:
    """n, p50, p95 and max in milliseconds."""
    ms = np.asarray(seconds) * 1000.0
    return {
        "n": float(len(ms)),
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
    }


def views_while(
    client: Any, params: dict[str, Any], headers: dict[str, str], busy: threading.Event
) -> list[float]:
    """Back-to-back logged views from THREADS threads while ``busy`` is set."""
    latencies: list[float] = []
    guard = threading.Lock()

    def loop() -> None:
        while busy.is_set():
            started = time.perf_counter()
            response = client.get(f"{V1}/forecasts", params=params, headers=headers)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"view failed: {response.status_code} {response.text}")
            with guard:
                latencies.append(elapsed)

    workers = [threading.Thread(target=loop) for _ in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies


def main(records: int) -> dict[str, Any]:
    """Build the store, run the phases, print the table and return the results."""
    from fastapi.testclient import TestClient

    from pulsetwin.api import Settings, create_app
    from pulsetwin.testing.fixture_store import append_view_records, build_store

    directory = Path(tempfile.mkdtemp(prefix="bench-log-verify-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixture = build_store(directory)
    started = time.perf_counter()
    append_view_records(fixture.db, records)
    build_s = time.perf_counter() - started
    app = create_app(Settings(db=fixture.db))
    with TestClient(app) as client:

        def login(role: str) -> dict[str, str]:
            name = f"{role}-user"
            body = {"username": name, "password": fixture.passwords[name]}
            return {
                "Authorization": f"Bearer {client.post(f'{V1}/auth/token', json=body).json()['access_token']}"
            }

        analyst, viewer = login("analyst"), login("viewer")
        params = {"run_id": fixture.run_id, "limit": 1}
        busy = threading.Event()
        busy.set()
        timer = threading.Timer(5.0, busy.clear)
        timer.start()
        baseline = views_while(client, params, viewer, busy)

        outcome: dict[str, Any] = {}
        lock_waits: list[float] = []

        def verify() -> None:
            begun = time.perf_counter()
            outcome["first"] = client.get(f"{V1}/log/verify", headers=analyst).json()
            outcome["first_s"] = time.perf_counter() - begun
            busy.clear()

        def probe_lock() -> None:
            while busy.is_set():
                begun = time.perf_counter()
                with app.state.backend.lock:
                    lock_waits.append(time.perf_counter() - begun)
                time.sleep(0.01)

        busy.set()
        checker, prober = threading.Thread(target=verify), threading.Thread(target=probe_lock)
        checker.start()
        prober.start()
        during = views_while(client, params, viewer, busy)
        checker.join()
        prober.join()
        begun = time.perf_counter()
        second = client.get(f"{V1}/log/verify", headers=analyst).json()
        second_s = time.perf_counter() - begun
    first = outcome["first"]
    result = {
        "records": first["n_records"], "bulk_insert_s": build_s, "first_verify_s": outcome["first_s"],
        "first_ok": first["ok"], "second_verify_s": second_s, "second_verified_from": second["verified_from"],
        "baseline": summary(baseline), "during_verify": summary(during), "lock_wait": summary(lock_waits),
        "threads": THREADS, "python": platform.python_version(), "machine": platform.machine(),
    }  # fmt: skip
    print(f"log of {result['records']:,} records (bulk insert {build_s:.1f} s)")
    print(f"first /log/verify (full): {outcome['first_s']:.2f} s, ok={first['ok']}")
    print(f"second /log/verify (incremental from {second['verified_from']:,}): {second_s * 1000:.0f} ms")
    print(f"{'phase':<16}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name in ("baseline", "during_verify", "lock_wait"):
        row = result[name]
        print(f"{name:<16}{row['n']:>6.0f}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}{row['max_ms']:>9.1f}")
    return result


if __name__ == "__main__":
    measured = main(int(sys.argv[1]) if len(sys.argv) > 1 else RECORDS)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(measured, indent=2), encoding="utf-8")
    print(f"wrote {RESULTS}")
