"""A run's freq is stored as its letter and read back as a Freq; an unknown value is refused, never coerced."""

from __future__ import annotations

import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.schema.periods import Freq
from pulsetwin.store import Store


def test_a_run_freq_round_trips_as_the_enum(store: Store) -> None:
    saved = store.save_run("forecast", freq="M", horizon=3)
    assert saved.freq is Freq.M
    assert store.get_run(saved.run_id).freq is Freq.M
    assert store.get_run(store.save_run("audit").run_id).freq is None


def test_an_unknown_freq_is_refused_on_write_and_on_read(store: Store) -> None:
    with pytest.raises(ParameterError, match=r"'freq' parameter of Store\.save_run .*'Q'"):
        store.save_run("forecast", freq="Q")
    assert store.runs().empty  # nothing was written
    run_id = store.save_run("forecast", freq=Freq.W).run_id
    store._con.execute("UPDATE runs SET freq = 'Q' WHERE run_id = ?", [run_id])  # a forger edits the table
    with pytest.raises(ParameterError, match=rf"stored run '{run_id}' must be 'W' .*'Q'"):
        store.get_run(run_id)
