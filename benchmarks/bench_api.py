"""Load test of the API on loopback: 50 concurrent clients against the forecast and areas endpoints.

A real uvicorn server (one process, as ``pulsetwin serve`` runs it) serves a populated twin store. Two phases
per endpoint, each ~10 s:

- ``paced``: 50 clients, each sending one request a second (about 50 requests/s offered), the load of a
  busy municipal dashboard; latency here is what a user waits. The clients' starts are spread over the
  first second, so requests arrive at a steady rate.
- ``burst``: the same, but all 50 clients start together and stay in step: 50 requests arrive at the same
  instant every second (the first burst also opens the 50 connections). A worst case, not the target.
- ``saturated``: 50 clients sending back to back; shows the throughput ceiling (latency then is queueing).

Every forecast request is a logged view (one hash-chained log record each). Target: p95 <= 50 ms and no errors
in the paced phase.

Run:  .venv/bin/python benchmarks/bench_api.py            (writes benchmarks/results/api.json)
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import numpy as np

CLIENTS = 50
DURATION = 10.0
PACE = 1.0
TARGET_P95_MS = 50.0
PHASES = (("paced", PACE, True), ("burst", PACE, False), ("saturated", None, False))
RESULTS = Path(__file__).parent / "results" / "api.json"
SERVER = (
    "import sys, uvicorn; from pathlib import Path; from pulsetwin.api import Settings, create_app; "
    "app = create_app(Settings(db=Path(sys.argv[1]))); "
    "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning', access_log=False)"
)


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def client_loop(
    client: httpx.AsyncClient,
    urls: list[str],
    headers: dict[str, str],
    pace: float | None,
    stop: float,
    out: list[Any],
    delay: float = 0.0,
) -> None:
    """After ``delay`` seconds, send requests until ``stop``; record (latency seconds, ok)."""
    await asyncio.sleep(delay)
    i = 0
    while time.perf_counter() < stop:
        url = urls[i % len(urls)]
        i += 1
        start = time.perf_counter()
        try:
            response = await client.get(url, headers=headers)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        elapsed = time.perf_counter() - start
        out.append((elapsed, ok))
        if pace is not None:
            await asyncio.sleep(max(0.0, pace - elapsed))


async def phase(
    base: str, urls: list[str], headers: dict[str, str], pace: float | None, *, stagger: bool = True
) -> dict[str, Any]:
    """One load phase: CLIENTS clients for DURATION seconds, their starts spread over one pace or not."""
    samples: list[tuple[float, bool]] = []
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:
        stop = time.perf_counter() + DURATION
        started = time.perf_counter()
        spread = (pace or 0.0) / CLIENTS if stagger else 0.0
        await asyncio.gather(
            *(
                client_loop(client, urls[k:] + urls[:k], headers, pace, stop, samples, spread * k)
                for k in range(CLIENTS)
            )
        )
        wall = time.perf_counter() - started
    latencies = np.array([s[0] for s in samples]) * 1000
    errors = sum(not s[1] for s in samples)
    return {
        "requests": len(samples), "errors": errors, "rps": len(samples) / wall,
        "p50_ms": float(np.percentile(latencies, 50)), "p95_ms": float(np.percentile(latencies, 95)),
        "max_ms": float(latencies.max()),
    }  # fmt: skip


def main() -> None:
    """Build a store, start the server, run the phases, print a table and write JSON."""
    from pulsetwin.api.testing import build_store

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixture = build_store(Path(tmp))
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(fixture.db), str(port)])
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/api/v1/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.2)
            login = {"username": "viewer-user", "password": fixture.passwords["viewer-user"]}
            token = httpx.post(f"{base}/api/v1/auth/token", json=login).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            run = httpx.get(f"{base}/api/v1/runs/{fixture.run_id}", headers=headers).json()
            endpoints = {
                "forecasts": [
                    f"/api/v1/forecasts?run_id={fixture.run_id}&category={c}&period_start={p}&limit=1000"
                    for c in run["categories"] for p in run["periods"]
                ],
                "areas": ["/api/v1/areas?level=buurt", "/api/v1/areas?level=buurt&crs=EPSG:4326"],
            }  # fmt: skip
            rows = []
            for name, urls in endpoints.items():
                for label, pace, stagger in PHASES:
                    result = asyncio.run(phase(base, urls, headers, pace, stagger=stagger))
                    rows.append({"endpoint": name, "phase": label, **result})
        finally:
            server.terminate()
            server.wait(timeout=30)
    heads = ("requests", "req/s", "p50 ms", "p95 ms", "max ms", "errors")
    print(f"{'endpoint':<10} {'phase':<10} " + " ".join(f"{h:>8}" for h in heads))
    for r in rows:
        print(
            f"{r['endpoint']:<10} {r['phase']:<10} {r['requests']:>8} {r['rps']:>8.1f} {r['p50_ms']:>8.1f} "
            f"{r['p95_ms']:>8.1f} {r['max_ms']:>8.1f} {r['errors']:>8}"
        )
    paced = [r for r in rows if r["phase"] == "paced"]
    met = all(r["p95_ms"] <= TARGET_P95_MS and r["errors"] == 0 for r in paced)
    print(f"target p95 <= {TARGET_P95_MS:.0f} ms and 0 errors (paced): {'met' if met else 'NOT met'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "clients": CLIENTS, "duration_s": DURATION, "pace_s": PACE, "target_p95_ms": TARGET_P95_MS,
        "target_met": met, "cpus": os.cpu_count(), "python": platform.python_version(), "results": rows,
    }  # fmt: skip
    RESULTS.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
