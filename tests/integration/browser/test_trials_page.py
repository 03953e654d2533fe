"""The trial page read as a person reads it: design, power, allocation and the logged result in one sentence."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_dashboard_browser import CHROMIUM, assert_not_blank, free_port

from pulsetwin.store.database import Store

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (scripts/install-browser.sh)"
    ),
]


def dutch(value: float, digits: int) -> str:
    """``value`` as the dashboard writes it in Dutch (at most ``digits`` decimals, decimal comma)."""
    text = f"{value:.{digits}f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text).replace(".", ",")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], dict[str, Any]]]:
    """A uvicorn server on a store with one analysed and one registered-only trial; the logged analysis."""
    import uvicorn

    from pulsetwin.api import Settings, create_app
    from pulsetwin.testing.fixture_store import add_trials, build_store

    fixture = build_store(tmp_path_factory.mktemp("trial-page"))
    add_trials(fixture)
    with Store(fixture.db, read_only=True) as store:
        (analysis,) = [r.detail for r in store.log.records() if r.action == "trial_analyse"]
    app = create_app(Settings(db=fixture.db, documents=fixture.documents))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", fixture.passwords, analysis
    server.should_exit = True
    thread.join(timeout=10)


def open_trials(browser: Any, base: str, user: str, password: str) -> Any:
    """A fresh page signed in as ``user``, on the trial page."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(base + "/")
    page.wait_for_selector("main[data-ready=login]")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_selector("main[data-ready=map]")
    page.click("nav a[href='#/trials']")
    page.wait_for_selector("main[data-ready=trials]")
    return page


def test_auditor_reads_design_power_status_and_the_logged_result_in_words(
    browser: Any, server: tuple[str, dict[str, str], dict[str, Any]], tmp_path: Path
) -> None:
    base, passwords, analysis = server
    page = open_trials(browser, base, "auditor-user", passwords["auditor-user"])
    text = str(page.inner_text("main"))
    assert text.startswith("Veldproeven: helpt handelen op de kaart?")
    assert "{" not in text and "rate_ratio" not in text, "no JSON on the page"
    card = page.inner_text("#trial-youth-work")
    assert card.startswith("Veldproef youth-work (versie 1)")
    assert "buurten in" in card and "blokken geloot" in card and "Onderscheidend vermogen:" in card
    rr = analysis["rate_ratio"]
    verb = "verlaagde" if rr["estimate"] <= 1 else "verhoogde"
    result = page.inner_text("#trial-youth-work .trial-result")
    assert f"De interventie {verb} " in result, result
    assert f"met {dutch(abs(rr['estimate'] - 1) * 100, 0)} %" in result, result
    assert (
        f"{dutch(rr['level'] * 100, 0)}%-interval" in result
        and f"p = {dutch(analysis['p_value'], 3)}" in result
    )
    assert ("niet aangetoond" in result) == (analysis["p_value"] > analysis["alpha"])
    assert "Afwijkingen van de preregistratie: geen." in card and not analysis["deviations"]
    lights = page.inner_text("#trial-lights")
    assert "nog niet geanalyseerd" in lights and "Nog geen resultaat" in lights
    assert "Geregistreerd, nog niet geanalyseerd" in page.inner_text("main table")
    chart = page.locator("#trial-chart-youth-work .main-svg").first
    assert chart.is_visible() and page.locator("#trial-chart-youth-work .bars .point").count() == 4
    assert_not_blank(page.screenshot(path=str(tmp_path / "trials.png"), full_page=True))


def test_viewer_is_told_who_may_read_trials(
    browser: Any, server: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    base, passwords, _ = server
    page = open_trials(browser, base, "viewer-user", passwords["viewer-user"])
    assert "zichtbaar voor analisten, auditors en beheerders" in page.inner_text("main")
    assert page.locator("#trial-youth-work").count() == 0
