"""A small populated store for API tests, browser tests and benchmarks: a twin, a forecast run with its
backtest, an audit run, a scenario run, users per role and a documents directory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pulsetwin.api.auth import Role
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.services.users import add_user
from pulsetwin.store.database import Store

PASSWORD = "test-password-{role}"


@dataclass(frozen=True)
class Fixture:
    """What :func:`build_store` made."""

    db: Path
    documents: Path
    run_id: str
    passwords: dict[str, str]


def build_store(directory: Path, *, seed: int = 3, years: int = 2) -> Fixture:
    """Write ``pulsetwin.duckdb`` and ``documents/`` into ``directory``; users ``<role>-user`` per role.

    The twin is the ``heerlen`` preset; the forecast run uses the naive baselines only (fast), weekly, two
    periods ahead, so the whole build takes a few seconds.
    """
    from pulsetwin.evaluation.runs import run_forecast
    from pulsetwin.twin.generate import generate_twin

    twin = generate_twin("heerlen", seed=seed, years=years)
    incidents = twin.tables["incidents"]
    db = directory / "pulsetwin.duckdb"
    passwords = {f"{role.value}-user": PASSWORD.format(role=role.value) for role in Role}
    with Store(db) as store:
        frames = {name: twin.tables[name] for name in ("areas", "covariates", "protected")}
        store.import_frames(
            {**frames, "incidents": incidents[incidents["freq"] == "W"]}, source=f"twin:{seed}"
        )
        run = run_forecast(
            store, model="naive_mean_k", freq="W", horizon=2, folds=2, candidates=[], scheduler="serial",
            naive=["naive_last", "naive_mean_k"], n_boot=100, seed=seed,
        )  # fmt: skip
        store.save_run("audit", metrics={"disparity": {"ratio": 1.2, "lo": 0.9, "hi": 1.6}}, status="done")
        store.save_run("scenario", metrics={"name": "patrol", "summary": ["no effect is invented"]})
        backend = Backend(store)
        for name, password in passwords.items():
            add_user(backend, name, name.removesuffix("-user"), password)
    documents = directory / "documents"
    documents.mkdir(exist_ok=True)
    (documents / "report.html").write_text(
        "<!doctype html><title>report</title><p>report</p>", encoding="utf-8"
    )
    payload = {"name": "more patrols", "summary": ["no effect is invented"], "metrics": [], "areas": []}
    (documents / "scenario.json").write_text(json.dumps(payload), encoding="utf-8")
    return Fixture(db, documents, run.run_id, passwords)
