"""Pre-registration in the log: a changed allocation is refused and logged; a reasoned new version is not."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pulsetwin.exceptions import ConflictError, ParameterError, SchemaError
from pulsetwin.store.database import Store
from pulsetwin.trials.design import TrialDesign
from pulsetwin.trials.power import Power
from pulsetwin.trials.registration import digest, latest_registration, register
from pulsetwin.trials.spec import parse_spec

SPEC = {
    "name": "lights", "hypothesis": "Repaired street lighting lowers burglary.",
    "intervention": {"description": "repair every broken street light"},
    "eligible": {"top_share": 0.3}, "outcome": {"category": "burglary_residential", "periods": 4},
}  # fmt: skip


def design(store: Store, treated: list[bool], power: float = 0.9) -> TrialDesign:
    run = store.get_run("fc") if "fc" in set(store.runs()["run_id"]) else store.save_run(
        "forecast", run_id="fc", origin=pd.Timestamp("2024-01-01"), freq="M", horizon=4)  # fmt: skip
    units = pd.DataFrame({"area_code": ["BU1", "BU2", "BU3", "BU4"], "wijk": ["WK1"] * 4,
                          "expected": [4.0, 3.0, 2.0, 1.0], "block": ["WK1"] * 4, "treated": treated})  # fmt: skip
    periods = tuple(pd.date_range("2024-01-01", periods=4, freq="MS"))
    return TrialDesign(parse_spec(SPEC), run, periods, units, Power(0.7, power, 0.8, 0.6, 100, 5.0), 0)


def test_changed_allocation_is_refused_and_logged(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        first = register(store, design(store, [True, False, True, False]), tmp_path / "v1")
        written = (tmp_path / "v1" / "preregistration.json").read_bytes()
        assert json.loads(written)["allocation_sha256"] == first.document["allocation_sha256"]
        assert first.sha256 == digest(first.document) and first.version == 1
        again = register(store, design(store, [True, False, True, False]), tmp_path / "v1")
        assert (again.seq, again.sha256) == (first.seq, first.sha256), "the same design registers once"
        with pytest.raises(ConflictError, match="another allocation; the attempt was refused and logged"):
            register(store, design(store, [False, True, True, False]), tmp_path / "v1b")
        assert not (tmp_path / "v1b").exists()
        refused = [r for r in store.log.records() if r.action == "trial_refused"]
        assert len(refused) == 1 and refused[0].detail["allocation_changed"] is True
        assert refused[0].detail["registered_sha256"] == first.sha256
        second = register(store, design(store, [False, True, True, False]), tmp_path / "v2",
                          new_version="two buurten were merged by the municipality")  # fmt: skip
        assert second.version == 2 and latest_registration(store, "lights").sha256 == second.sha256
        record = store.log.records()[-1]
        assert record.detail["replaces"]["sha256"] == first.sha256
        assert store.log.verify().ok


def test_underpowered_design_is_refused_unless_allowed(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        weak = design(store, [True, False, True, False], power=0.5)
        with pytest.raises(ParameterError, match=r"50% power .* --allow-underpowered"):
            register(store, weak, tmp_path / "out")
        assert store.log.records()[-1].detail["reason"] == "underpowered"
        accepted = register(store, weak, tmp_path / "out", allow_underpowered=True)
        assert accepted.document["power"]["underpowered_accepted"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"intervention": {"description": "stop and search", "kind": "enforcement"}}, "ethics_reference"),
        (
            {"design": {"type": "stepped_wedge", "treated_share": 0.5}},
            "column 'design.treated_share'.*stepped wedge",
        ),
        ({"design": {"type": "lottery"}}, "column 'design.type'"),
        (
            {"design": {"type": "crossover", "blocks": ["wijk"]}},
            "column 'design.blocks'.*every buurt its own block",
        ),
        ({"eligible": {"top_share": 1.5}}, "column 'eligible.top_share'.*number in \\(0, 1\\)"),
        ({"colour": "red"}, "column 'colour'"),
        ({"outcome": {"category": "theft", "periods": 0}}, "column 'outcome.periods'.*integer >= 1"),
    ],
)
def test_spec_refusals_name_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        parse_spec({**SPEC, **change}, file="trial.yaml")


def test_enforcement_with_an_ethics_reference_is_accepted() -> None:
    spec = parse_spec({**SPEC, "intervention": {"description": "patrols", "kind": "enforcement",
                                                 "ethics_reference": "EC-2027-014"}})  # fmt: skip
    assert spec.intervention.ethics_reference == "EC-2027-014"
    assert replace(spec, seed=3).seed == 3 and np.isclose(spec.alpha, 0.05)
