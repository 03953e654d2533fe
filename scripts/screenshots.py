"""Screenshots of every dashboard page in Dutch and English, so a reviewer can look without running a server.

Serves the store on a free loopback port (demo users with random passwords, nothing fetched from outside),
signs in as the auditor in headless Chromium (Debian's /usr/bin/chromium) and writes ``<page>-<lang>.png``
for the map, an area, the evidence, fairness, scenario, trial, log and documents pages into ``--out``.

    python scripts/screenshots.py --db demo/pulsetwin.duckdb --documents demo/documents --out demo/screenshots
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

PAGES = ("map", "area", "evidence", "fairness", "scenarios", "trials", "log", "documents")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    """Serve, sign in, visit each page in both languages and write the PNGs."""
    import uvicorn
    from playwright.sync_api import sync_playwright

    from pulsetwin.api import Settings, create_app

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, default=Path("demo/pulsetwin.duckdb"))
    parser.add_argument("--documents", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("demo/screenshots"))
    args = parser.parse_args()
    documents = args.documents if args.documents is not None and args.documents.is_dir() else None
    app = create_app(Settings(db=args.db, demo=True, documents=documents))
    user = "demo-auditor"
    password = app.state.demo_passwords[user]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(base + "/")
            page.wait_for_selector("main[data-ready=login]")
            page.fill("#username", user)
            page.fill("#password", password)
            page.click("#login-submit")
            page.wait_for_selector("main[data-ready=map]")
            area = page.locator("svg.map path[tabindex='0']").first.get_attribute("data-area")
            for lang in ("nl", "en"):
                if page.evaluate("document.documentElement.lang") != lang:
                    page.click("#lang")
                    page.wait_for_function(f"document.documentElement.lang === '{lang}'")
                for name in PAGES:
                    target = f"#/area/{area}" if name == "area" else f"#/{name}"
                    page.evaluate(f"location.hash = '{target}'")
                    page.wait_for_selector(f"main[data-ready={name}]")
                    page.wait_for_timeout(400)  # plotly draws after the page is ready
                    path = args.out / f"{name}-{lang}.png"
                    page.screenshot(path=str(path), full_page=True)
                    print(f"wrote {path}")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
