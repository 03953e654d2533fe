"""Explanations: count contributions add up, sentences in English and Dutch, naive models refused."""

from __future__ import annotations

import numpy as np
import pytest

from pulsetwin.exceptions import ParameterTypeError
from pulsetwin.models.explain import DRIVERS, explain
from pulsetwin.models.registry import make_model
from pulsetwin.models.testing import simulate_panel


@pytest.mark.parametrize("name", ["glm", "lgbm"])
def test_contributions_add_up_and_sentences_render(name: str) -> None:
    sim = simulate_panel(seed=9, side=5, periods=80, seasonal=(0.6, 0.0), excitation=0.2)
    params = {"n_estimators": 20, "min_data_in_leaf": 10} if name == "lgbm" else {}
    model = make_model(name, **params).fit(sim.history(76))
    frame = explain(model, 3)
    forecasts = model.predict(3)
    np.testing.assert_allclose(frame["mean"], forecasts["mean"], rtol=1e-9)
    np.testing.assert_allclose(frame[list(DRIVERS)].sum(axis=1), frame["mean"] - frame["usual"], atol=1e-9)
    up = frame[frame["mean"] > frame["usual"] + 0.05]
    assert up["text_en"].str.startswith("Higher than usual").all()
    assert up["text_nl"].str.startswith("Hoger dan gebruikelijk").all()
    assert frame["text_en"].str.contains(r"\([+-]\d+\.\d\)").any()


def test_models_without_contributions_are_refused() -> None:
    sim = simulate_panel(seed=9, side=3, periods=20)
    with pytest.raises(ParameterTypeError, match="log_contributions"):
        explain(make_model("naive_last").fit(sim.history(18)))  # type: ignore[arg-type]
