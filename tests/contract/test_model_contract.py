"""Every registered model honours the same contract: :func:`pulsetwin.testing.check_model` over the area and
hotspot registries (scikit-learn's shared estimator checks), plus the registries' own rules."""

from __future__ import annotations

import pytest

from pulsetwin.exceptions import ParameterError
from pulsetwin.hotspots import registry as hotspots
from pulsetwin.models.registry import MODELS, make_model, naive_names
from pulsetwin.testing import check_model

FAST = {
    "lgbm": {"n_estimators": 20, "min_data_in_leaf": 10},
    "stack": {"members": ("glm", "naive_mean_year"), "inner_origins": 3},
}


def test_names_are_unique_short_slugs() -> None:
    names = [cls.name for cls in MODELS.values()] + list(hotspots.model_names())
    assert len(set(names)) == len(names) == len(MODELS) + len(hotspots.model_names())
    assert all(n == k for k, n in zip(MODELS, names, strict=False))
    assert all(len(n) <= 16 and n.replace("_", "").isalnum() and n.islower() for n in names)
    assert set(naive_names()) <= set(MODELS)


@pytest.mark.parametrize("freq", ["W", "M"])
@pytest.mark.parametrize("name", list(MODELS))
def test_area_model_passes_the_contract(name: str, freq: str) -> None:
    check_model(make_model(name, **FAST.get(name, {})), freq=freq)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", hotspots.model_names())
def test_hotspot_model_passes_the_contract(name: str) -> None:
    check_model(hotspots.make_model(name, seed=7))


def test_unknown_model_refused() -> None:
    with pytest.raises(ParameterError, match="'name' parameter of make_model"):
        make_model("nope")
    with pytest.raises(ParameterError, match="'model'"):
        hotspots.make_model("nope")
