"""Fixtures for store tests: a fresh store file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pulsetwin.store import Store


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Path of a fresh store file."""
    return tmp_path / "test.duckdb"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    """An open fresh store (closed after the test)."""
    with Store(store_path) as opened:
        yield opened
