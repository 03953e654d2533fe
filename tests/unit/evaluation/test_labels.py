"""The plain-name vocabulary covers every model a backtest can score, in words, in both languages."""

from __future__ import annotations

import re

import pytest

from pulsetwin.evaluation.labels import MODEL_LABELS, measure_label, model_label
from pulsetwin.evaluation.oracle import ORACLE_NAME
from pulsetwin.evaluation.origin_oracle import ORIGIN_ORACLE_NAME
from pulsetwin.models.registry import MODELS

SNAKE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_scored_model_has_a_plain_name_without_codes(lang: str) -> None:
    scored = [*MODELS, ORACLE_NAME, ORIGIN_ORACLE_NAME]
    names = {m: model_label(m, lang) for m in scored}
    assert not [m for m, n in names.items() if n == m or SNAKE.search(n)], names
    assert len(set(names.values())) == len(names)  # no two models read the same


def test_unknown_names_stay_visible_as_their_code() -> None:
    assert model_label("new_model", "nl") == "new_model" and model_label(None, "en") == "–"
    assert measure_label("coverage90", "nl") != "coverage90" and measure_label("other", "en") == "other"
    assert model_label("naive_last", "nl") != model_label("naive_last", "en") == MODEL_LABELS["naive_last"][1]
