"""Acceptance of the own-data issue: a store built only from a city's plain files that use none of the twin's
names (monthly counts under its own categories, covariates in its own words, no income figure, neighbourhoods
by name without boundaries, its own area codes mapped to CBS-style codes) runs import -> backtest -> forecast ->
audit -> docs -> report -> serve, every command exiting as documented and none with a traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from pulsetwin.api import Settings, create_app
from pulsetwin.audit.findings import EXIT_CODES
from pulsetwin.cli.main import app
from pulsetwin.exceptions import PulsetwinError
from pulsetwin.schema.variables import INCOME, RESIDENTS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from independent_city import generate_city

pytestmark = pytest.mark.slow

CATEGORIES = {"vandalism": "Vernieling", "nuisance_drugs_alcohol": "Overlast drugs/alcohol"}
"""The simulated categories kept, under the city's own Dutch labels."""
MAPPING = """
source: gemeente:meldingen
freq: M
area: {column: buurtcode}
date: {column: maand, format: "%Y-%m"}
category: {column: soort, map: {"Vernieling": graffiti_damage, "Overlast drugs/alcohol": drug_nuisance}}
count: {column: aantal}
"""
POLICY = """
variables:
  residents: inhabitants
  income: pct_low_income
  income_direction: lower
proxy: {folds: 3, repeats: 1, trees: 25}
block: [no_skill, protected_exposure_out_of_band, income_exposure_out_of_band]
"""


def cli(*args: str) -> tuple[int, Result]:
    """Run the real app; a PulsetwinError is what the console entry point prints as one line with exit code
    2, anything else escaping is a traceback and fails the test."""
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, PulsetwinError):
        return 2, result
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result


def city_files(directory: Path) -> dict[str, Path]:
    """The city's own files: neighbourhoods by name with its codes, a code lookup, monthly reports per
    neighbourhood, statistics and an origin share in its own words. No CBS variable, no income, no geometry."""
    directory.mkdir(parents=True, exist_ok=True)
    city = generate_city(n_areas=24, years=3, freq="M", seed=15)
    tables = city.tables
    areas = tables["areas"]
    cbs_codes = areas["area_code"].tolist()
    own = {code: f"NBH-{i:03d}" for i, code in enumerate(cbs_codes)}  # the city's own neighbourhood ids
    lookup = pd.DataFrame({"own_code": list(own.values()), "area_code": cbs_codes})
    incidents = tables["incidents"]
    incidents = incidents[incidents["category"].isin(list(CATEGORIES))]
    reports = pd.DataFrame(
        {
            "buurt_id": incidents["area_code"].map(own),
            "maand": incidents["period_start"].dt.strftime("%Y-%m"),
            "soort": incidents["category"].map(CATEGORIES),
            "aantal": incidents["count"],
        }
    )
    cov = tables["covariates"]
    households = cov[cov["variable"] == "households"]
    statistics = pd.concat(
        [
            cov.replace({"variable": {"deprivation": "deprivation_index"}}),
            households.assign(variable="inhabitants", value=np.round(households["value"] * 2.2)),
        ],
        ignore_index=True,
    )
    deprivation = cov[(cov["variable"] == "deprivation") & (cov["year"] <= 2022)]
    origin = deprivation.rename(columns={"variable": "attribute"}).assign(
        attribute="share_non_dutch", value=np.round(1.0 / (1.0 + np.exp(-deprivation["value"])), 3)
    )
    # the analyst's one preparation step: the city's own codes to CBS-style codes, by the lookup
    to_cbs = lookup.set_index("own_code")["area_code"]
    paths = {
        "areas": directory / "buurten.csv",
        "lookup": directory / "codes.csv",
        "reports": directory / "meldingen.csv",
        "covariates": directory / "statistiek.csv",
        "protected": directory / "herkomst.csv",
        "mapping": directory / "meldingen.yaml",
        "policy": directory / "policy.yaml",
    }
    areas.assign(geometry="").to_csv(paths["areas"], index=False)
    lookup.to_csv(paths["lookup"], index=False)
    reports.assign(buurtcode=reports.pop("buurt_id").map(to_cbs)).to_csv(paths["reports"], index=False)
    statistics.to_csv(paths["covariates"], index=False)
    origin.to_csv(paths["protected"], index=False)
    paths["mapping"].write_text(MAPPING, encoding="utf-8")
    paths["policy"].write_text(POLICY, encoding="utf-8")
    return paths


def test_a_city_s_own_files_run_end_to_end(tmp_path: Path) -> None:
    files = city_files(tmp_path / "files")
    db = str(tmp_path / "stad.duckdb")
    store = ("--db", db)
    for table in ("areas", "covariates", "protected"):
        code, result = cli("import", table, str(files[table]), *store)
        assert code == 0, result.output
    code, result = cli("import-mapped", str(files["reports"]), "--mapping", str(files["mapping"]), *store)
    assert code == 0, result.output

    # backtest and forecast: the monthly frequency is read from the store, horizon and folds default for it
    backtest_json = tmp_path / "bt.json"
    code, result = cli(
        "backtest", *store, "--models", "glm", "--scheduler", "serial", "--json", str(backtest_json)
    )
    assert code == 0, result.output
    text = " ".join(result.output.split())
    assert "freq M (months): the only frequency" in text and "carry no geometry" in text
    payload = json.loads(backtest_json.read_text(encoding="utf-8"))
    assert (payload["settings"]["freq"], payload["settings"]["horizon"], payload["settings"]["folds"]) == (
        "M",
        3,
        4,
    )
    assert all(row["pai_03"] is None for row in payload["summary"])  # no areas' sizes: no PAI, never a number
    forecast_csv = tmp_path / "fc.csv"
    code, result = cli(
        "forecast", *store, "--model", "glm", "--scheduler", "serial", "--out", str(forecast_csv)
    )
    assert code == 0, result.output
    forecasts = pd.read_csv(forecast_csv, parse_dates=["period_start"])
    assert list(forecasts["period_start"].drop_duplicates()) == list(
        pd.date_range("2024-01-01", periods=3, freq="MS")
    )
    assert len(forecasts) == 24 * len(CATEGORIES) * 3
    assert set(forecasts["category"]) == {"graffiti_damage", "drug_nuisance"}

    # audit: the default policy looks for the CBS residents variable and says what the store holds instead
    code, result = cli("audit", *store)
    message = str(result.exception)
    assert (
        code == 2
        and f"'{RESIDENTS.default}'" in message
        and "inhabitants" in message
        and "--policy" in message
    )
    audit_json = tmp_path / "audit.json"
    code, result = cli("audit", *store, "--policy", str(files["policy"]), "--json", str(audit_json))
    audit = json.loads(audit_json.read_text(encoding="utf-8"))
    assert code == EXIT_CODES[audit["status"]] and audit["status"] in ("blocked", "insufficient")
    assert audit["policy"]["variables"] == {
        "residents": "inhabitants", "income": "pct_low_income", "income_direction": "lower",
    }  # fmt: skip
    income = next(f for f in audit["findings"] if f["code"] == "income_unavailable")
    assert income["cannot_assess"] and "pct_low_income" in income["message"]
    assert INCOME.default not in json.dumps(audit) and [d["grouping"] for d in audit["disparity"]] == [
        "protected"
    ]

    # documents and report on this store
    documents = tmp_path / "documents"
    code, result = cli("docs", *store, "--out", str(documents))
    assert code == 0, result.output
    card = (documents / "model_card.md").read_text(encoding="utf-8")
    assert "share_non_dutch" in card and "graffiti_damage" in card
    code, result = cli("report", *store, "--out", str(tmp_path / "report"))
    assert code == 0, result.output
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "No map: the areas carry no geometry" in page

    # serve: the API app answers over its test client, the map data says there is no geometry to draw
    code, result = cli(
        "user", "add", "analist", "--role", "viewer", "--password", "een-lang-wachtwoord", *store
    )
    assert code == 0, result.output
    with TestClient(create_app(Settings(db=Path(db), documents=documents))) as client:
        token = client.post(
            "/api/v1/auth/token", json={"username": "analist", "password": "een-lang-wachtwoord"}
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        areas = client.get("/api/v1/areas", params={"level": "buurt"}, headers=headers)
        assert areas.status_code == 200 and areas.json()["bbox"] is None
        assert len(areas.json()["features"]) == 24 and all(
            f["geometry"] is None for f in areas.json()["features"]
        )
        run_id = client.get("/api/v1/runs", params={"kind": "forecast"}, headers=headers).json()["items"][0][
            "run_id"
        ]
        page_of = client.get("/api/v1/forecasts", params={"run_id": run_id, "limit": 1000}, headers=headers)
        assert page_of.status_code == 200 and len(page_of.json()["items"]) == len(forecasts)
        assert client.get(f"/api/v1/evidence/{run_id}", headers=headers).status_code == 200
        area = client.get(
            f"/api/v1/forecasts/{run_id}/areas/{forecasts['area_code'].iloc[0]}",
            params={"category": "graffiti_damage"}, headers=headers,
        )  # fmt: skip
        assert area.status_code == 200 and len(area.json()["forecast"]) == 3
        assert (
            area.json()["history"] and area.json()["history"][-1]["period_start"] == "2023-12-01"
        )  # monthly
        assert client.get("/").status_code == 200
        assert "map.nogeometry" in client.get("/static/i18n/nl.json").json()
