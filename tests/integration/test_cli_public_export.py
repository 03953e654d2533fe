"""``pulsetwin export incidents --public``: no published cell below the threshold, budget refusal, logged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from pulsetwin.cli import data
from pulsetwin.exceptions import PrivacyBudgetError
from pulsetwin.store.database import Store
from pulsetwin.twin.generate import generate_twin


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("public") / "city.duckdb"
    city = generate_twin("heerlen", seed=5, years=2)
    with Store(path) as store:
        store.import_frames(city.tables, source="twin:test")
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    data.register(app)
    return app


def test_public_release_suppresses_small_cells_and_rounds(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "public.csv"
    args = ["export", "incidents", "--out", str(out), "--db", str(store_path), "--public", "--freq", "M"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    published = pd.read_csv(out)
    counts = published.select_dtypes("number").to_numpy().ravel()
    shown = counts[~pd.isna(counts)]
    assert len(shown) > 0
    assert (shown >= 10).all()
    assert (shown % 5 == 0).all()
    with Store(store_path, read_only=True) as store:
        assert store.log.verify().ok


def test_dp_release_beyond_budget_is_refused(store_path: Path, tmp_path: Path) -> None:
    base = ["export", "incidents", "--db", str(store_path), "--public", "--freq", "M"]
    first = CliRunner().invoke(
        _app(), [*base, "--out", str(tmp_path / "a.csv"), "--dp-epsilon", "0.6", "--epsilon-total", "1.0"]
    )
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(_app(), [*base, "--out", str(tmp_path / "b.csv"), "--dp-epsilon", "0.6"])
    assert second.exit_code != 0 and isinstance(second.exception, PrivacyBudgetError)
    assert "would bring the spent budget to 1.2 > total 1 (spent so far 0.6 in 1 releases)" in str(
        second.exception
    )
    assert not (tmp_path / "b.csv").exists()
