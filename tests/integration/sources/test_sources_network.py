"""Checks against the live services, run before a release: ``PULSETWIN_LIVE=1 pytest -m network
tests/integration/sources`` (skipped otherwise, see conftest.py). Each one pins a fact the connectors and the
replay fixtures rely on, so a change at CBS, the police or PDOK shows up here first."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsetwin.sources.http import HttpClient
from pulsetwin.sources.odata import AmbiguousKey, data_properties, fetch_rows, resolve_key
from pulsetwin.sources.police import NUISANCE_KIND, TOTAL_TITLE
from pulsetwin.sources.settings import KERNCIJFERS_TABLES, POLICE_NUISANCE_TABLE, SourceSettings, feed_root

pytestmark = pytest.mark.network


def test_live_kerncijfers_2024_repeats_origin_stems_and_drops_the_social_minimum(tmp_path: Path) -> None:
    with HttpClient(SourceSettings(cache_dir=tmp_path)) as client:
        properties, _ = data_properties(client, client.settings.cbs_url, KERNCIJFERS_TABLES[2024])
    assert resolve_key(properties, "AantalInwoners") == "AantalInwoners_5"
    with pytest.raises(AmbiguousKey):  # Nederland_17/_20, BuitenEuropa_19/_22/_24 …
        resolve_key(properties, "BuitenEuropa", prefix=False)
    assert resolve_key(properties, "BuitenEuropa", prefix=False, group="Herkomstland") == "BuitenEuropa_19"
    assert resolve_key(properties, "IndelingswijzigingGemeenteWijkBuurt", prefix=False) is not None
    assert resolve_key(properties, "HuishOnderOfRondSociaalMinimum") is None


def test_live_feed_pages_a_kerncijfers_table_above_the_cell_limit(tmp_path: Path) -> None:
    with HttpClient(SourceSettings(cache_dir=tmp_path)) as client:
        root = feed_root(client.settings.cbs_url)
        result = fetch_rows(
            client,
            f"{root}/{KERNCIJFERS_TABLES[2024]}/TypedDataSet",
            {"$select": "WijkenEnBuurten,AantalInwoners_5"},
        )
    assert len(result.rows) * 2 > 10000 and len(result.responses) > 1  # paged by odata.nextLink


def test_live_nuisance_has_one_total_in_its_overlast_dimension(tmp_path: Path) -> None:
    with HttpClient(SourceSettings(cache_dir=tmp_path)) as client:
        rows = fetch_rows(
            client, f"{client.settings.police_url}/{POLICE_NUISANCE_TABLE}/{NUISANCE_KIND}"
        ).rows
    totals = [r for r in rows if str(r["Title"]).strip().casefold().startswith(TOTAL_TITLE)]
    assert len(totals) == 1 and len(rows) > 1


def test_live_pdok_lists_queryables_and_pages_with_number_returned(tmp_path: Path) -> None:
    with HttpClient(SourceSettings(cache_dir=tmp_path)) as client:
        root = client.settings.pdok_root(2024)
        queryables, _ = client.get_json(f"{root}/collections/buurten/queryables", {"f": "json"})
        page, _ = client.get_json(f"{root}/collections/gemeenten/items", {"f": "json", "limit": "2"})
    assert isinstance(queryables.get("properties"), dict)
    assert page["numberReturned"] == 2 and any(link["rel"] == "next" for link in page["links"])
