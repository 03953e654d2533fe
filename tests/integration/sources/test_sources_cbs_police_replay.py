"""CBS Kerncijfers and police connectors against the loopback replay server (no internet).

The replay answers in the real shapes (see replay_server.py); each test of issue 20 names the failure it
guards against: nuisance summed with its own total, repeated 2024 origin stems, the renamed 2023 boundary
column, a concept gone in 2024, and the HTTP 500 of the ODataApi endpoint above 10,000 cells."""

from __future__ import annotations

import pandas as pd
import pytest
from replay_server import Replay

from pulsetwin.exceptions import SourceError
from pulsetwin.sources.cbs import fetch_kerncijfers
from pulsetwin.sources.http import HttpClient
from pulsetwin.sources.police import fetch_police
from pulsetwin.sources.settings import feed_root


def _value(frame: pd.DataFrame, code: str, year: int, name: str, column: str = "variable") -> float | None:
    hit = frame[(frame["area_code"] == code) & (frame["year"] == year) & (frame[column] == name)]
    return None if hit.empty else float(hit["value"].iloc[0])


def test_kerncijfers_2024_resolves_repeated_origin_stems_by_their_group(client: HttpClient) -> None:
    data = fetch_kerncijfers(client, "GM0917", [2023, 2024])
    prot = data.frames["protected"]
    # Nederland_17/_20, EuropaExclusiefNederland_18/_21/_23, BuitenEuropa_19/_22/_24: the Herkomstland group
    share = _value(prot, "BU09170101", 2024, "migration_outside_europe_share_2023def", "attribute")
    assert share == pytest.approx(230 / 2100)  # counts in 2024, divided by inhabitants
    assert _value(prot, "BU09170101", 2024, "origin_netherlands_share_2023def", "attribute") == pytest.approx(
        1680 / 2100
    )
    assert _value(data.frames["covariates"], "GM0917", 2024, "GemiddeldeWOZWaardeVanWoningen") == 190.0


def test_a_concept_gone_in_2024_is_reported_not_fatal(client: HttpClient) -> None:
    data = fetch_kerncijfers(client, "GM0917", [2023, 2024])
    cov = data.frames["covariates"]
    assert _value(cov, "BU09170101", 2023, "HuishOnderOfRondSociaalMinimum") == 7.4
    assert _value(cov, "BU09170101", 2024, "HuishOnderOfRondSociaalMinimum") is None
    missing = data.provenance["details"]["missing_measures"]
    assert missing[2024]["HuishOnderOfRondSociaalMinimum"] == "not published in this table"
    assert any(
        m.startswith("2024 (85984NED): not stored:") and "HuishOnderOfRond" in m for m in data.messages
    )


def test_an_unresolvable_audit_only_column_never_aborts_the_covariates(
    client: HttpClient, replay: Replay
) -> None:
    for prop in replay.cbs["85984NED"]["DataProperties"]:
        if prop["Title"] == "Herkomstland":
            prop["Title"] = "Herkomst (nieuwe indeling)"
    data = fetch_kerncijfers(client, "GM0917", [2024])
    assert _value(data.frames["covariates"], "BU09170101", 2024, "AantalInwoners") == 2100.0
    assert data.frames["protected"].empty
    reasons = data.provenance["details"]["missing_measures"][2024]
    assert "ambiguous" in reasons["migration_outside_europe_share_2023def"]
    assert (
        "BuitenEuropa_19 (group 'Herkomst (nieuwe indeling)')"
        in reasons["migration_outside_europe_share_2023def"]
    )


def test_an_unreadable_audit_only_value_is_reported_and_the_covariates_stay(
    client: HttpClient, replay: Replay
) -> None:
    replay.cbs["85984NED"]["TypedDataSet"][2]["BuitenEuropa_19"] = "n.v.t."
    data = fetch_kerncijfers(client, "GM0917", [2024])
    reason = data.provenance["details"]["missing_measures"][2024]["migration_outside_europe_share_2023def"]
    assert reason.startswith("audit-only origin column unreadable") and "'BU09170101'" in reason
    assert _value(data.frames["covariates"], "BU09170101", 2024, "AantalInwoners") == 2100.0
    assert set(data.frames["protected"]["attribute"]) == {
        "origin_netherlands_share_2023def",
        "migration_europe_share_2023def",
    }


def test_boundary_changes_are_read_from_the_column_renamed_in_2023(client: HttpClient) -> None:
    data = fetch_kerncijfers(client, "GM0917", [2022, 2023, 2024])
    changed = data.provenance["details"]["boundary_changed_codes"]
    assert changed == {2022: [], 2023: ["BU09170102"], 2024: ["BU09170101"]}
    assert any("2024 (85984NED): 1 area(s) changed" in m for m in data.messages)


def test_kerncijfers_resolves_shifting_suffixes_and_pads(client: HttpClient, replay: Replay) -> None:
    data = fetch_kerncijfers(client, "GM0917", [2022, 2023])
    cov = data.frames["covariates"]
    # density is column _33 in 2022 and _34 in 2023: both resolve to one variable name
    assert _value(cov, "BU09170101", 2022, "Bevolkingsdichtheid") == 2000.0
    assert _value(cov, "BU09170101", 2023, "Bevolkingsdichtheid") == 2050.0
    assert _value(cov, "GM0917", 2023, "GemiddeldeWOZWaardeVanWoningen") == 185.0
    # padded keys are stripped; the neighbouring municipality is not fetched
    assert set(cov["area_code"]) == {"GM0917", "WK091701", "BU09170101", "BU09170102", "BU09179997"}
    # the TypedDataSet pages were followed through odata.nextLink
    assert any("$skiptoken" in query for _, query in replay.log)


def test_kerncijfers_secrets_and_sentinels_are_missing_never_zero(client: HttpClient) -> None:
    cov = fetch_kerncijfers(client, "GM0917", [2022, 2023]).frames["covariates"]
    assert _value(cov, "BU09170101", 2022, "GemiddeldeWOZWaardeVanWoningen") is None  # null
    assert _value(cov, "BU09170102", 2022, "Bevolkingsdichtheid") is None  # -99997
    assert _value(cov, "BU09179997", 2022, "GemiddeldeWOZWaardeVanWoningen") is None  # -99995
    assert _value(cov, "BU09170102", 2023, "Bevolkingsdichtheid") is None  # -99991
    assert _value(cov, "BU09179997", 2022, "AantalInwoners") == 0.0  # a real zero stays zero
    assert (cov["value"] >= 0).all()


def test_origin_shares_go_to_protected_only_and_keep_their_definition(client: HttpClient) -> None:
    data = fetch_kerncijfers(client, "GM0917", [2022, 2023])
    cov, prot = data.frames["covariates"], data.frames["protected"]
    assert not cov["variable"].str.contains("Westers|Europa|Nederland|migration|origin").any()
    by_year = prot.groupby("year")["attribute"].agg(set).to_dict()
    assert by_year[2022] == {"migration_western_share_2019def", "migration_non_western_share_2019def"}
    assert "migration_outside_europe_share_2023def" in by_year[2023]
    assert not any(a.endswith("2019def") for a in by_year[2023])
    # counts divided by inhabitants (2022) and percentages divided by 100 (2023)
    assert _value(prot, "BU09170101", 2022, "migration_western_share_2019def", "attribute") == pytest.approx(
        0.125
    )
    assert _value(prot, "BU09170101", 2023, "migration_outside_europe_share_2023def", "attribute") == 0.12
    assert _value(prot, "BU09170102", 2023, "migration_outside_europe_share_2023def", "attribute") is None
    assert data.provenance["details"]["origin_definitions"] == {2022: "2019def", 2023: "2023def"}
    assert data.provenance["details"]["boundary_changed_codes"][2023] == ["BU09170102"]
    assert data.provenance["licence"] == "CC BY 4.0"
    assert data.provenance["tables"] == ["85318NED", "85618NED"]


def test_retry_after_500_then_success_gives_the_same_data(client: HttpClient, replay: Replay) -> None:
    replay.fail("85318NED/TypedDataSet", "500", "500")
    replay.fail("85618NED/DataProperties", "drop")
    data = fetch_kerncijfers(client, "GM0917", [2022, 2023])
    assert _value(data.frames["covariates"], "BU09170101", 2022, "AantalInwoners") == 2000.0
    attempts = [p for p, q in replay.log if p.endswith("85318NED/TypedDataSet") and "$skiptoken" not in q]
    assert all("/ODataFeed/" in p for p in attempts)
    assert len(attempts) == 3


def test_police_maps_categories_sums_codes_and_drops_rollups(client: HttpClient) -> None:
    data = fetch_police(client, "GM0917", "2024-01", "2024-06")
    inc = data.frames["incidents"]
    jan = inc[(inc["area_code"] == "BU09170101") & (inc["period_start"] == pd.Timestamp("2024-01-01"))]
    counts = dict(zip(jan["category"], jan["count"], strict=True))
    assert counts == {"burglary_residential": 3, "violence": 3, "police_3_7_4": 3, "nuisance_registered": 4}
    assert set(inc["freq"]) == {"M"}
    assert set(inc["source"]) == {"politie:47022NED", "politie:47024NED"}
    assert not inc["area_code"].str.startswith("BU0918").any()


def test_police_drops_incomplete_months_unless_kept(client: HttpClient) -> None:
    data = fetch_police(client, "GM0917", "2024-01", "2024-06")
    assert data.frames["incidents"]["period_start"].max() == pd.Timestamp("2024-04-01")
    assert any("2024-05, 2024-06" in m and "--keep-latest" in m for m in data.messages)
    kept = fetch_police(client, "GM0917", "2024-01", "2024-06", keep_latest=True).frames["incidents"]
    may = kept[(kept["area_code"] == "BU09170101") & (kept["period_start"] == pd.Timestamp("2024-05-01"))]
    violence = may.loc[may["category"] == "violence", "count"].iloc[0]
    assert violence is pd.NA  # 1.4.3 withheld (null): the sum is unknown, not 2
    nuisance = kept[
        (kept["category"] == "nuisance_registered") & (kept["period_start"] == pd.Timestamp("2024-04-01"))
    ]
    assert nuisance.set_index("area_code")["count"].isna().to_dict() == {
        "BU09170101": True,
        "BU09170102": False,
    }


def test_police_enumerates_month_codes_and_pages_through_the_feed(client: HttpClient, replay: Replay) -> None:
    fetch_police(client, "GM0917", "2024-01", "2024-04", keep_latest=True)
    data_queries = [(p, q) for p, q in replay.log if p.endswith("TypedDataSet")]
    assert data_queries and all("/ODataFeed/odata/" in p for p, _ in data_queries)
    filters = [q.get("$filter", "") for _, q in data_queries]
    assert all("JJ" not in f and " ge " not in f and " le " not in f for f in filters)
    assert any("$skiptoken" in q for _, q in data_queries)  # 47022NED needs more than one feed page


def test_nuisance_keeps_the_total_row_and_never_adds_its_subtypes(client: HttpClient, replay: Replay) -> None:
    inc = fetch_police(client, "GM0917", "2024-01", "2024-04", keep_latest=True).frames["incidents"]
    nuisance = inc[inc["category"] == "nuisance_registered"].set_index(["area_code", "period_start"])["count"]
    total = replay.police["47024NED"]["counts"]["BU09170101"]["A045370"]
    assert nuisance[("BU09170101", pd.Timestamp("2024-01-01"))] == total[0] == 4  # not 4 + 3 + 1
    assert nuisance[("BU09170101", pd.Timestamp("2024-02-01"))] == 6
    assert nuisance.xs("BU09170101").isna().tolist() == [
        False,
        False,
        False,
        True,
    ]  # withheld total stays missing
    filters = [q["$filter"] for p, q in replay.log if "47024NED/TypedDataSet" in p]
    assert all(f.endswith("and Overlast eq 'A045370'") for f in filters)


def test_an_unexpected_dimension_stops_rather_than_summing_over_it(
    client: HttpClient, replay: Replay
) -> None:
    replay.police["47024NED"]["dimension"]["name"] = "Soort"
    for series in replay.police["47024NED"]["counts"].values():
        series.pop("A045371")
    with pytest.raises(SourceError, match=r"unexpected dimension\(s\) Soort.*twice"):
        fetch_police(client, "GM0917", "2024-01", "2024-04")


def test_above_the_cell_limit_the_feed_is_read_instead_of_the_refusing_api(
    client: HttpClient, replay: Replay, settings: object
) -> None:
    replay.cell_limit = 20
    root = client.settings.cbs_url
    with pytest.raises(SourceError, match=r"HTTP 500"):  # the real ODataApi answer above the limit
        client.get(f"{root}/85318NED/TypedDataSet", {"$format": "json"})
    replay.log.clear()
    cov = fetch_kerncijfers(client, "GM0917", [2022]).frames["covariates"]
    police = fetch_police(client, "GM0917", "2024-01", "2024-04").frames["incidents"]
    assert _value(cov, "BU09170101", 2022, "AantalInwoners") == 2000.0
    assert len(police) > 20
    data_paths = [p for p, _ in replay.log if p.endswith("TypedDataSet")]
    assert data_paths and all(p.startswith(("/cbs/ODataFeed/", "/police/ODataFeed/")) for p in data_paths)
    assert feed_root(root) == root.replace("/ODataApi/", "/ODataFeed/")


def test_dropped_connection_mid_page_is_retried(client: HttpClient, replay: Replay) -> None:
    replay.fail("47022NED/TypedDataSet", "drop", "500")
    data = fetch_police(client, "GM0917", "2024-01", "2024-04", nuisance=False)
    assert len(data.frames["incidents"]) == 2 * 3 * 4


def test_a_page_that_stays_malformed_raises_source_error(client: HttpClient, replay: Replay) -> None:
    replay.always["47024NED/TypedDataSet"] = "malformed"
    with pytest.raises(SourceError, match=r"failed after 4 attempts.*malformed JSON"):
        fetch_police(client, "GM0917", "2024-01", "2024-04")


def test_bad_arguments_are_refused_before_any_request(client: HttpClient, replay: Replay) -> None:
    with pytest.raises(ValueError, match="municipality code"):
        fetch_police(client, "0917", "2024-01", "2024-04")
    with pytest.raises(ValueError, match="YYYY-MM"):
        fetch_police(client, "GM0917", "2024-1", "2024-04")
    with pytest.raises(ValueError, match="Kerncijfers table"):
        fetch_kerncijfers(client, "GM0917", [2011])
    assert replay.log == []
