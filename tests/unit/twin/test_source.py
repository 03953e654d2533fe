"""The twin's provenance label: written and read by one typed value, round trip exact, foreign labels refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulsetwin.exceptions import ParameterError
from pulsetwin.twin.source import TwinSource

PRESETS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1)


@given(preset=PRESETS, seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_the_label_round_trips(preset: str, seed: int) -> None:
    source = TwinSource(preset, seed)
    assert TwinSource.parse(str(source)) == source


def test_the_label_is_the_documented_text() -> None:
    assert str(TwinSource("heerlen", 2026)) == "twin:heerlen:seed2026"


@pytest.mark.parametrize(
    "label",
    ["twin:3", "twin:test", "twin:heerlen:seed", "twin:heerlen:seed-1", "file:twin:heerlen:seed1", ""],
)
def test_a_label_not_written_by_the_twin_is_no_twin(label: str) -> None:
    assert TwinSource.parse(label) is None


@pytest.mark.parametrize(("preset", "seed"), [("heer len", 1), ("", 1), ("heerlen", -1), ("heerlen", True)])
def test_a_bad_preset_or_seed_is_refused(preset: str, seed: int) -> None:
    with pytest.raises(ParameterError):
        TwinSource(preset, seed)
