"""Fuller schemathesis run than the test suite's: every OpenAPI operation, valid and invalid requests, every
check (``--checks all``), ``--examples`` per operation and mode (100 by default), in-process via ASGI.

It serves a fresh populated store (logged in as admin, logout left out so the token stays valid; the login
throttle raised, so fuzzing the login route does not lock the fuzzer out) and prints the failures per
operation and check, or that there were none.

Run:  .venv/bin/python benchmarks/fuzz_api.py [--examples N]   (writes benchmarks/results/fuzz_api.json)
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "fuzz_api.json"
Failures = collections.Counter[tuple[str, str, str]]
SHOWN = 10  # failures printed in full, with a curl command that repeats them


def fuzz(
    operation: Any, mode: Any, headers: dict[str, str], checks: list[Any], examples: int, out: Failures
) -> int:
    """Run ``examples`` cases of one operation in one generation mode; count failures into ``out``; return
    the number of cases run."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.core.failures import FailureGroup

    ran = 0

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        nonlocal ran
        ran += 1
        try:
            case.call_and_validate(headers=headers, checks=checks)
        except (Exception, FailureGroup) as error:  # every kind of failure is counted here, not raised
            for problem in error.exceptions if isinstance(error, FailureGroup) else [error]:
                text = " ".join(str(problem).split())[:160]
                out[(operation.label, mode.value, f"{type(problem).__name__}: {text}")] += 1
                if len(out) <= SHOWN:
                    print(f"{operation.label} [{mode.value}]: {problem}\n{case.as_curl_command()}\n")

    with contextlib.suppress(Unsatisfiable):  # an operation without parameters has no invalid request
        check()
    return ran


def main() -> None:
    """Fuzz every operation in both modes with every check; print and write the failures."""
    import schemathesis
    from fastapi.testclient import TestClient
    from schemathesis import GenerationMode
    from schemathesis.checks import CHECKS, load_all_checks

    from pulsetwin.api import Settings, create_app
    from pulsetwin.testing.fixture_store import build_store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="Examples per operation and mode.")
    examples = parser.parse_args().examples
    load_all_checks()
    checks = CHECKS.get_all()
    failures: Failures = collections.Counter()
    cases = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixture = build_store(Path(tmp))
        app = create_app(Settings(db=fixture.db, documents=fixture.documents, login_limit=10**6))
        with TestClient(app) as client:
            login = {"username": "admin-user", "password": fixture.passwords["admin-user"]}
            headers = {
                "Authorization": f"Bearer {client.post('/api/v1/auth/token', json=login).json()['access_token']}"
            }
            schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/api/v1/auth/logout")
            for result in schema.get_all_operations():
                for mode in GenerationMode:
                    cases += fuzz(result.ok(), mode, headers, checks, examples, failures)
    seconds = time.perf_counter() - started
    print(f"{cases} cases, {len(checks)} checks, {examples} examples per operation and mode, {seconds:.0f} s")
    for (label, mode, problem), count in failures.most_common():
        print(f"{count:>5}  {label}  [{mode}]  {problem}")
    print(f"failures: {sum(failures.values())}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "cases": cases, "checks": [c.__name__ for c in checks], "examples": examples, "seconds": seconds,
        "failures": [{"operation": k[0], "mode": k[1], "problem": k[2], "count": v} for k, v in failures.items()],
    }  # fmt: skip
    RESULTS.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
