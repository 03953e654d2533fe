"""The lineup of a backtest: checked when built, each name once, two different models of one name refused."""

from __future__ import annotations

import pytest

from pulsetwin.evaluation.lineup import Lineup, resolve_models, unique_lineup
from pulsetwin.exceptions import ParameterError
from pulsetwin.models.registry import default_model_names, make_model, naive_names


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"models": "glm"}, "'models' parameter of Lineup must be a sequence"),
        ({"naive": [3]}, "'naive' parameter of Lineup must be model names or Model instances. Got 3"),
        ({"models": ["oracle"]}, "oracle is not a model to choose"),
        ({"oracle": "yes"}, "'oracle' parameter of Lineup must be True, False or None"),
        ({"origin_oracle": 1}, "'origin_oracle' parameter of Lineup must be a Model, True, False or None"),
    ],
)
def test_a_bad_lineup_is_refused_when_built(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        Lineup(**kwargs)  # type: ignore[arg-type]


def test_defaults_resolve_to_the_registry_lineups() -> None:
    naive, candidates = Lineup().resolve()
    assert [m.name for m in naive] == list(naive_names())
    assert [m.name for m in candidates] == list(default_model_names())
    assert Lineup(models=["glm"]).models == ("glm",)  # lists are kept as tuples: the lineup is frozen


def test_the_same_model_twice_is_kept_once_in_order() -> None:
    models = [*resolve_models(["naive_last", "glm", "naive_last"]), make_model("glm")]
    assert [m.name for m in unique_lineup(models)] == ["naive_last", "glm"]


def test_two_models_of_one_name_with_other_parameters_are_refused() -> None:
    with pytest.raises(
        ParameterError, match=r"named 'naive_mean_k' \(MovingMean\(k=4\) and MovingMean\(k=8\)\)"
    ):
        unique_lineup([make_model("naive_mean_k", k=4), make_model("naive_mean_k", k=8)])
