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
from pulsetwin.store.runs import RunKind, RunStatus

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

    The twin is the ``heerlen`` preset, stored under its own provenance label with its weekly truth, so a
    backtest of the store adds the oracle and the origin oracle as on any generated twin; the forecast run uses
    the naive baselines only (fast), weekly, two periods ahead, so the whole build takes a few seconds.
    """
    from pulsetwin.evaluation.lineup import Lineup
    from pulsetwin.evaluation.runs import run_forecast
    from pulsetwin.evaluation.skill import SkillSettings
    from pulsetwin.evaluation.splits import RollingOrigin
    from pulsetwin.schema.periods import Freq
    from pulsetwin.twin.generate import generate_twin

    twin = generate_twin("heerlen", seed=seed, years=years)
    incidents, truth = twin.tables["incidents"], twin.tables["truth"]
    db = directory / "pulsetwin.duckdb"
    passwords = {f"{role.value}-user": PASSWORD.format(role=role.value) for role in Role}
    with Store(db) as store:
        frames = {name: twin.tables[name] for name in ("areas", "covariates", "protected")}
        store.import_frames(
            {
                **frames,
                "incidents": incidents[incidents["freq"] == "W"],
                "truth": truth[truth["freq"] == "W"],
            },
            source=str(twin.source),
        )
        run = run_forecast(
            store, RollingOrigin(Freq.W, horizon=2, folds=2), model="naive_mean_k",
            lineup=Lineup(models=(), naive=("naive_last", "naive_mean_k")), skill=SkillSettings(n_boot=100, seed=seed),
            scheduler="serial",
        )  # fmt: skip
        store.save_run(
            RunKind.AUDIT, metrics={"disparity": {"ratio": 1.2, "lo": 0.9, "hi": 1.6}}, status=RunStatus.DONE
        )
        store.save_run(RunKind.SCENARIO, metrics={"name": "patrol", "summary": ["no effect is invented"]})
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


def append_view_records(db: Path, n: int) -> int:
    """Append ``n`` chained ``view`` records to the log of a closed store in one bulk insert; return the head seq.

    Builds a long log fast (about three hours of 50 users' views is 500,000 records) for tests and benchmarks
    of verification. The records are what :class:`~pulsetwin.store.log.Log` would write, hashed with the
    serialisation of :func:`~pulsetwin.store.log.record_hash` spelled out for one fixed actor, action and
    detail (checked against it on the first record); nothing is anchored.
    """
    import hashlib
    from datetime import datetime

    import duckdb
    import pyarrow as pa

    from pulsetwin.store.log import record_hash

    at = datetime(2026, 1, 1, 12, 0, 0, 123456)
    actor, action, subject, detail = "viewer-user", "view", "forecast", '{"area_code":"BU09170001"}'
    fields = [at.isoformat(timespec="microseconds"), actor, action, subject, detail]
    middle = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)[1:-1]
    with duckdb.connect(str(db)) as con:
        start, prev = con.execute("SELECT seq, hash FROM log_head").fetchall()[0]
        seqs = list(range(start + 1, start + n + 1))
        prevs, hashes = [], []
        for seq in seqs:
            prevs.append(prev)
            prev = hashlib.sha256(f'[{seq},{middle},"{prev}"]'.encode()).hexdigest()
            hashes.append(prev)
        if hashes[0] != record_hash(seqs[0], at, actor, action, subject, detail, prevs[0]):
            raise AssertionError("append_view_records no longer hashes as record_hash does")
        fixed = {"at": at, "actor": actor, "action": action, "subject": subject, "detail_json": detail}
        columns = {"seq": seqs, **{k: pa.repeat(pa.scalar(v), n) for k, v in fixed.items()}}
        table = pa.table(columns | {"prev_hash": prevs, "hash": hashes})
        con.register("bulk_views", table)
        con.execute(
            'INSERT INTO log SELECT seq, "at", actor, action, subject, detail_json, prev_hash, hash FROM bulk_views'
        )
        con.execute("UPDATE log_head SET seq = ?, hash = ?", [start + n, prev])
    return int(start + n)


TRIAL_SPEC = {
    "hypothesis": "Extra youth work lowers reported violence relative to the forecast.",
    "intervention": {"description": "extra youth-work hours"}, "eligible": {"top_share": 0.5},
    "design": {"randomisations": 199}, "outcome": {"category": "violence", "periods": 2},
    "power": {"effect": 0.5, "simulations": 100},
}  # fmt: skip


def add_trials(fixture: Fixture, *, effect: float = 0.5, seed: int = 7) -> tuple[str, str]:
    """Register two trials on the fixture's forecast run; simulate and analyse the first; return both ids.

    The first (``youth-work``) has its trial periods drawn as Poisson counts around the run's forecast, times
    ``effect`` in treated buurten; the second (``lights``) stays
    registered only. Pre-registration files go next to the store.
    """
    import numpy as np
    import pandas as pd

    from pulsetwin.trials.analysis import analyse_trial
    from pulsetwin.trials.design import design_trial
    from pulsetwin.trials.registration import register
    from pulsetwin.trials.spec import parse_spec
    from pulsetwin.trials.testbed import SOURCE

    ids = ("youth-work", "lights")
    with Store(fixture.db) as store:
        designs = [
            design_trial(store, fixture.run_id, parse_spec({**TRIAL_SPEC, "name": name, "seed": seed + i}))
            for i, name in enumerate(ids)
        ]
        for design in designs:
            register(
                store,
                design,
                fixture.db.parent / design.trial_id,
                allow_underpowered=True,
                actor="analyst-user",
            )
        first = designs[0]
        forecasts = store.read("forecasts", where={"run_id": fixture.run_id})
        # The forecast periods lie past the twin's years, so the twin's test bed cannot branch there: Poisson
        # counts around the forecast, times ``effect`` in treated buurten, stand in for the trial period.
        rows = forecasts[forecasts["category"] == first.spec.outcome.category]
        rows = rows[pd.to_datetime(rows["period_start"]).isin(first.periods)]
        treated = rows["area_code"].isin(first.units.loc[first.units["treated"], "area_code"])
        counts = np.random.default_rng(seed).poisson(rows["mean"].to_numpy() * np.where(treated, effect, 1.0))
        frame = rows[["area_code", "category", "period_start"]].assign(
            freq=str(first.run.freq), count=counts, source=SOURCE
        )
        store.import_frames({"incidents": frame.assign(period_start=pd.to_datetime(frame["period_start"]).dt.date)},
                            source=SOURCE)  # fmt: skip
        analyse_trial(store, ids[0], actor="auditor-user")
    return ids
