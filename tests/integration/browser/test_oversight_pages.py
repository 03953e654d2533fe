"""What oversight reads, read as a person reads it: visible text of the evidence, fairness and map pages.

Two stores: one like the demo (a model that beats the best naive rule, blocked by the fairness audit on
exposure) and one where nothing beats the rule. The audit stored in the first is computed by the real
disparity code on twin areas with a flagging that singles out the high-share groups.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_dashboard_browser import CHROMIUM, assert_not_blank, free_port

from pulsetwin.audit.disparity import audit_disparity
from pulsetwin.evaluation.labels import model_label
from pulsetwin.models.registry import naive_names
from pulsetwin.store.database import Store
from pulsetwin.store.runs import RunKind, RunStatus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (scripts/install-browser.sh)"
    ),
]
SNAKE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


def _blocked_by_fairness(db: Path, naive_run: str) -> tuple[str, dict[str, float]]:
    """Add a forecast run whose model beats the rule (skill 0.058 [0.033, 0.085]) and an audit that blocks it
    on exposure; returns the new run's id and the out-of-band exposure ratios per group."""
    with Store(db) as store:
        base = store.get_run(naive_run)
        forecasts = store.read("forecasts", where={"run_id": naive_run})
        areas = store.read("areas")
        store.runs()
        backtest = dict(base.metrics["backtest"])
        glm = {**backtest["summary"][0], "model": "glm", "naive": False, "skill": 0.058, "skill_lo": 0.033,
               "skill_hi": 0.085}  # fmt: skip
        backtest["summary"] = [*backtest["summary"], glm]
        metrics = {"baseline": base.metrics["baseline"], "level": 0.95, "backtest": backtest,
                   "skill": {"skill": 0.058, "skill_lo": 0.033, "skill_hi": 0.085, "gap_share": None}}  # fmt: skip
        run = store.save_run(
            "forecast", model="glm", metrics=metrics, status="blocked", origin=base.origin, freq=base.freq,
            horizon=base.horizon, params={"requested": "best"},
        )  # fmt: skip
        store.import_frames({"forecasts": forecasts.assign(run_id=run.run_id, model="glm")}, source="test")
        codes = sorted(areas.loc[areas["level"] == "buurt", "area_code"])
        share = pd.Series(np.linspace(0.01, 0.6, len(codes)), index=codes)
        rank, every = share.rank(pct=True).to_numpy(), np.arange(len(codes))
        flagged = ((rank > 0.75) & (every % 2 == 0)) | ((rank <= 0.25) & (every % 6 == 0))
        outcomes = pd.DataFrame({"area_code": codes, "forecast": 1.0, "observed": 1.0, "residents": 1000.0,
                                 "flagged": flagged, "positive": flagged})  # fmt: skip
        result = audit_disparity(
            outcomes, share, grouping="protected", attribute="migration_background_share"
        )
        out = result.out_of_band["exposure"]
        ratios = {g: round(result.judged_ratio("exposure", g), 3) for g in out}
        finding = {"code": "protected_exposure_out_of_band", "message": "exposure", "blocking": True,
                   "detail": {"attribute": "migration_background_share", "ratios": ratios}}  # fmt: skip
        payload = {"status": "blocked", "blocked": True, "findings": [finding], "disparity": [result.to_dict()],
                   "proxies": [{"attribute": "migration_background_share", "r2": 0.36,
                                "top_features": ["GemiddeldeWOZWaardeVanWoningen"]}],
                   "policy": {"proxy": {"r2_warn": 0.3, "r2_block": 0.6}}}  # fmt: skip
        store.save_run(
            RunKind.AUDIT, params={"forecast_run": run.run_id}, metrics=payload, status=RunStatus.BLOCKED
        )
    return run.run_id, ratios


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str, dict[str, Any]]]]:
    """Two uvicorn servers: ``blocked`` (demo-like) and ``noskill`` (nothing beats the rule)."""
    import uvicorn

    from pulsetwin.api import Settings, create_app
    from pulsetwin.testing.fixture_store import build_store

    out: dict[str, tuple[str, str, dict[str, Any]]] = {}
    running = []
    fixture = build_store(tmp_path_factory.mktemp("stores"))
    copy = tmp_path_factory.mktemp("noskill") / "pulsetwin.duckdb"
    shutil.copyfile(fixture.db, copy)  # the naive run only: nothing beats the rule
    info: dict[str, Any] = {}
    info["run"], info["ratios"] = _blocked_by_fairness(fixture.db, fixture.run_id)
    info["db"], info["documents"] = fixture.db, fixture.documents
    for name, db in (("blocked", fixture.db), ("noskill", copy)):
        app = create_app(Settings(db=db, documents=fixture.documents))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        running.append((server, thread))
        out[name] = (
            f"http://127.0.0.1:{port}",
            fixture.passwords["auditor-user"],
            info if name == "blocked" else {},
        )
    yield out
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


def _login(browser: Any, base: str, password: str) -> Any:
    """A fresh page signed in as the auditor, on the map."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(base + "/")
    page.wait_for_selector("main[data-ready=login]")
    page.fill("#username", "auditor-user")
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_selector("main[data-ready=map]")
    return page


def _open(page: Any, name: str) -> str:
    """Navigate to a page and return what a person sees in the main area."""
    page.click(f"nav a[href='#/{name}']")
    page.wait_for_selector(f"main[data-ready={name}]")
    return str(page.inner_text("main"))


def test_demo_like_store_says_the_model_beats_the_rule_and_the_audit_blocks_it(
    browser: Any, servers: dict[str, tuple[str, str, dict[str, Any]]], tmp_path: Path
) -> None:
    base, password, _ = servers["blocked"]
    page = _login(browser, base, password)
    evidence = _open(page, "evidence")
    assert "Het model Poisson-regressie doet het beter dan de beste naïeve vuistregel" in evidence
    assert "vaardigheid 0,058, 95%-interval [0,033, 0,085], geheel boven 0" in evidence
    release = page.inner_text("#status-release")
    assert release.startswith("Vrijgave: Niet vrijgegeven: het audit blokkeert deze run.")
    assert "keer zo vaak in een gemarkeerde buurt" in release
    assert "aandeel inwoners met een migratieachtergrond" in release
    assert "niet aantoonbaar beter" not in evidence
    page.click("#status-release a")
    page.wait_for_selector("main[data-ready=fairness]")
    assert page.locator("#fairness-headline").is_visible()
    page.click("#lang")
    page.wait_for_function("document.documentElement.lang === 'en'")
    english = _open(page, "evidence")
    assert "The model Poisson regression beats the best naive rule" in english and "[0.033, 0.085]" in english
    assert "Not released: the audit blocks this run." in page.inner_text("#status-release")
    assert_not_blank(page.screenshot(path=str(tmp_path / "evidence.png"), full_page=True))


def test_fairness_page_shows_every_out_of_band_ratio_and_a_chart_without_opening_anything(
    browser: Any, servers: dict[str, tuple[str, str, dict[str, Any]]], tmp_path: Path
) -> None:
    base, password, info = servers["blocked"]
    page = _login(browser, base, password)
    text = _open(page, "fairness")
    assert text.splitlines()[0].startswith("Eerlijkheid")
    headline = page.inner_text("#fairness-headline")
    assert headline.startswith("Geblokkeerd: Inwoners van buurten in het")
    rows = page.locator("table.exposure-table tbody tr")
    outside = [r for r in rows.all_inner_texts() if "buiten de band" in r]
    shown = {m.group(1) for r in outside for m in [re.search(r"×(\d+(?:,\d+)?) buiten de band", r)] if m}
    expected = {f"{v:.2f}".rstrip("0").rstrip(".").replace(".", ",") for v in info["ratios"].values()}
    assert len(outside) == len(info["ratios"]) >= 1 and shown == expected, (outside, expected)
    chart = page.locator("#exposure-chart-0 .main-svg").first
    assert chart.is_visible() and page.locator("#exposure-chart-0 .bars .point").count() == 4
    assert page.locator("details").count() == 0 and "{" not in text
    assert "R² 0,36" in page.inner_text("#fairness-proxies")
    assert_not_blank(page.screenshot(path=str(tmp_path / "fairness.png"), full_page=True))


def test_store_where_nothing_beats_the_rule_says_so(
    browser: Any, servers: dict[str, tuple[str, str, dict[str, Any]]]
) -> None:
    base, password, _ = servers["noskill"]
    page = _login(browser, base, password)
    evidence = _open(page, "evidence")
    skill = page.inner_text("#status-skill")
    assert "Geen model doet het aantoonbaar beter dan de beste naïeve vuistregel" in skill
    assert "beter dan de beste naïeve vuistregel (" in evidence and "geheel boven 0" not in evidence
    assert "Nog niet geaudit" in page.inner_text("#status-release")


def test_dutch_map_shows_no_snake_case_codes(
    browser: Any, servers: dict[str, tuple[str, str, dict[str, Any]]]
) -> None:
    base, password, _ = servers["blocked"]
    page = _login(browser, base, password)
    visible = str(page.inner_text("main"))
    options = page.locator("#category option").all_inner_texts()
    assert SNAKE.findall(visible) == [], SNAKE.findall(visible)[:5]
    assert options and not any(SNAKE.search(o) for o in options)
    assert "per week" in page.inner_text("#map-legend")
    labels = [lbl for lbl in page.locator("#map-legend > span").all_inner_texts()[1:]]
    assert len(labels) == len(set(labels)), labels


def test_dutch_evidence_page_names_models_in_words_with_the_code_only_as_tooltip(
    browser: Any, servers: dict[str, tuple[str, str, dict[str, Any]]]
) -> None:
    base, password, info = servers["blocked"]
    page = _login(browser, base, password)
    visible = _open(page, "evidence")
    ev = page.evaluate(
        "async (id) => (await fetch('/api/v1/evidence/' + id, {headers: {Authorization: 'Bearer ' + "
        "sessionStorage.getItem('pt.token'), 'Accept-Language': 'nl'}})).json()",
        info["run"],
    )
    codes = {m["model"] for m in ev["models"]}
    assert ev["baseline"] in naive_names() and {"glm", ev["baseline"]} <= codes
    assert SNAKE.findall(visible) == [], SNAKE.findall(visible)[:5]
    assert not [c for c in codes if re.search(rf"\b{re.escape(c)}\b", visible)]
    assert f"Beste naïeve vuistregel: {model_label(ev['baseline'], 'nl')}." in visible
    table = page.inner_text("main table")
    assert (
        f"{model_label(ev['baseline'], 'nl')} (naïeve vuistregel)" in table and "Poisson-regressie" in table
    )
    assert page.locator("main table span[title=glm]").inner_text() == "Poisson-regressie"


def test_scenario_written_where_the_demo_puts_it_shows_on_the_scenario_page_in_words(
    browser: Any, servers: dict[str, tuple[str, str, dict[str, Any]]], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from pulsetwin.cli.main import app

    base, password, info = servers["blocked"]
    spec = Path(__file__).resolve().parents[3] / "examples" / "scenario_patrol_topk.yaml"
    small = tmp_path / "spec.yaml"  # the demo's spec, shortened to keep the test quick
    small.write_text(spec.read_text(encoding="utf-8").replace("periods: 52", "periods: 8"), encoding="utf-8")
    out = info["documents"] / "scenario"  # where `pulsetwin demo` writes it: the served documents folder
    result = CliRunner().invoke(
        app,
        ["scenario", "run", "--spec", str(small), "--db", str(info["db"]), "--out", str(out), "--runs", "4"],
    )
    assert result.exit_code == 0, result.output
    page = _login(browser, base, password)
    text = _open(page, "scenarios")
    assert "Scenario: top-10 patrol" in text and "Een gesimuleerd inzetbeleid" in text
    card = page.locator("section.card", has_text="Scenario: top-10 patrol")
    table = card.locator("table").last.inner_text()
    assert "concentratie patrouilles" in table and "verschil, 95%-grens" in table
    assert SNAKE.findall(table) == [], SNAKE.findall(table)
