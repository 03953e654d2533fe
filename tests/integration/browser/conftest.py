"""The one headless Chromium the browser tests share (Debian's chromium, never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_dashboard_browser import ARGS, CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for one test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()
