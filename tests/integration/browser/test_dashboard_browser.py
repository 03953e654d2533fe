"""The dashboard in headless Chromium against a real uvicorn server: map, area, language, decision, log."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="/usr/bin/chromium is missing (run scripts/install-browser.sh); browser tests always run in CI",
    ),
]


def png_rows(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the (filtered) scanlines of a PNG, decoded with zlib from the standard library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, _, colour = struct.unpack(">IIBB", chunk[:10])
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * channels
    return width, height, [raw[i * stride : (i + 1) * stride] for i in range(height)]


def assert_not_blank(png: bytes) -> None:
    """A blank page has (nearly) identical scanlines; a drawn page has many distinct ones."""
    width, height, rows = png_rows(png)
    assert width > 300 and height > 300
    assert len(set(rows)) > 30, f"only {len(set(rows))} distinct scanlines: the screenshot looks blank"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A real uvicorn server on a free loopback port serving a populated store."""
    import uvicorn

    from pulsetwin.api import Settings, create_app
    from pulsetwin.testing.fixture_store import build_store

    fixture = build_store(tmp_path_factory.mktemp("browser-store"))
    app = create_app(Settings(db=fixture.db, documents=fixture.documents))
    port = free_port()
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", fixture.passwords
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(server: tuple[str, dict[str, str]], browser: Any) -> Iterator[Any]:
    """A Chromium page of the shared headless browser (see conftest.py)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_map_area_language_decision_and_log(
    page: Any, server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, passwords = server
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(base) else None)
    page.goto(base + "/")
    page.wait_for_selector("main[data-ready=login]")
    page.fill("#username", "analyst-user")
    page.fill("#password", passwords["analyst-user"])
    page.click("#login-submit")
    page.wait_for_selector("main[data-ready=map]")
    assert page.locator("svg.map path[data-area]").count() == 90
    assert page.locator("svg.map path.wijk").count() > 0  # wijk borders drawn over the buurten
    assert page.locator("svg.map path[tabindex='0']").count() == 90
    assert "Gegevens tot en met" in page.inner_text("#vintage")
    map_png = page.screenshot(path=str(tmp_path / "map.png"))
    assert_not_blank(map_png)

    area = page.locator("svg.map path[tabindex='0']").first
    code = area.get_attribute("data-area")
    assert "90%-interval" in (area.get_attribute("aria-label") or "")
    area.click()
    page.wait_for_selector("main[data-ready=area]")
    assert code in page.inner_text("#area-title")
    forecast = page.inner_text("#forecast-table")
    assert "–" in forecast and forecast.count("\n") >= 2
    assert page.inner_text("#explanation").startswith("Voor de periode vanaf")

    page.click("#lang")
    page.wait_for_selector("main[data-ready=area]")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.inner_text("#explanation").startswith("For the period from")
    assert page.inner_text("nav").splitlines()[0] == "Map"

    page.select_option("#decision-action", "reject")
    page.fill("#decision-reason", "road works explain the rise")
    page.click("#decision-submit")
    page.wait_for_function("document.querySelector('#decision-status')?.textContent.includes('log record')")
    area_png = page.screenshot(path=str(tmp_path / "area.png"), full_page=True)
    assert_not_blank(area_png)

    page.click("nav a[href='#/log']")
    page.wait_for_selector("main[data-ready=log]")
    log_text = page.inner_text("#log-table")
    assert "decision" in log_text and "road works explain the rise" in log_text
    assert "Log intact" in page.inner_text("#log-verify")
    assert_not_blank(page.screenshot(path=str(tmp_path / "log.png"), full_page=True))

    page.keyboard.press(
        "Tab"
    )  # keyboard reachability of the map: focus lands on a polygon with Enter opening it
    page.click("nav a[href='#/map']")
    page.wait_for_selector("main[data-ready=map]")
    page.focus("svg.map path[tabindex='0']")
    page.keyboard.press("Enter")
    page.wait_for_selector("main[data-ready=area]")
    assert external == [], f"the dashboard fetched from outside: {external[:3]}"
