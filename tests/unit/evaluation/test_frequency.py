"""Frequency, horizon and folds: as given, or read from the store's incidents with per-frequency defaults."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pulsetwin.evaluation.frequency import choose_freq, resolve_periods
from pulsetwin.exceptions import ParameterError, StoreError
from pulsetwin.schema.periods import Freq
from pulsetwin.store import Store


def _incidents(freq: str, starts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": "BU09170101", "period_start": pd.to_datetime(starts), "freq": freq,
            "category": "vandalism", "count": 1, "source": "test",
        }
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "s.duckdb")


def test_the_only_stored_frequency_is_used_with_its_defaults(store: Store) -> None:
    with store:
        store.import_frames({"incidents": _incidents("M", ["2024-01-01", "2024-02-01"])}, source="test")
        settings = resolve_periods(store, freq=None)
        assert (settings.freq, settings.horizon, settings.folds) == ("M", 3, 4)  # a quarter ahead, 4 origins
        assert settings.freq is Freq.M
        assert settings.note is not None and "the only frequency" in settings.note
        explicit = resolve_periods(store, freq="M", horizon=6, folds=2)  # explicit options are kept as given
        assert (explicit.freq, explicit.horizon, explicit.folds, explicit.note) == ("M", 6, 2, None)
        with pytest.raises(ParameterError, match=r"no incidents at freq W \(weeks\); it holds M \(months\)"):
            resolve_periods(store, freq="W")


def test_both_frequencies_without_freq_are_refused_listing_them(store: Store) -> None:
    with store:
        frames = pd.concat(
            [_incidents("M", ["2024-01-01"]), _incidents("W", ["2024-01-01"])], ignore_index=True
        )
        store.import_frames({"incidents": frames}, source="test")
        with pytest.raises(ParameterError, match=r"M \(months\), W \(weeks\).*--freq"):
            resolve_periods(store, freq=None, command="pulsetwin forecast")
        assert resolve_periods(store, freq="W").horizon == 4  # about a month of weeks


def test_an_empty_store_and_a_bad_freq_are_refused(store: Store) -> None:
    with store, pytest.raises(StoreError, match="import incidents first"):
        resolve_periods(store, freq=None)
    with pytest.raises(ParameterError, match=r"'freq' parameter of pulsetwin must be 'W' .* or 'M'.*'D'"):
        choose_freq("D", ("W",))
