"""Checks against the live services: skipped unless PULSETWIN_NETWORK_TESTS=1 (see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsetwin.sources.http import HttpClient
from pulsetwin.sources.odata import data_properties, resolve_key
from pulsetwin.sources.settings import KERNCIJFERS_TABLES, SourceSettings


@pytest.mark.network
def test_live_kerncijfers_2024_has_the_measures_the_connector_resolves(tmp_path: Path) -> None:
    with HttpClient(SourceSettings(cache_dir=tmp_path)) as client:
        properties, _ = data_properties(client, client.settings.cbs_url, KERNCIJFERS_TABLES[2024])
    assert resolve_key(properties, "AantalInwoners") is not None
    assert resolve_key(properties, "BuitenEuropa", prefix=False) is not None
