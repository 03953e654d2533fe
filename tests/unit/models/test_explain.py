"""Explanations: count contributions add up, the change is stated relative to the usual level with the drivers
that move it, in English and Dutch, every driver group is worded, naive models are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pulsetwin.models.explain as explain_module
from pulsetwin.exceptions import ParameterError, ParameterTypeError
from pulsetwin.models.design import GROUPS
from pulsetwin.models.explain import DRIVERS, LABELS, PHRASES, check_wording, explain, sentence
from pulsetwin.models.registry import make_model
from pulsetwin.schema.language import LANGS
from pulsetwin.testing.panels import simulate_panel


@pytest.fixture(scope="module")
def glm_frame() -> pd.DataFrame:
    sim = simulate_panel(seed=9, side=5, periods=80, seasonal=(0.6, 0.0), excitation=0.2)
    return explain(make_model("glm").fit(sim.history(76)), 3)


@pytest.mark.parametrize("name", ["glm", "lgbm"])
def test_contributions_add_up_and_sentences_render(name: str) -> None:
    sim = simulate_panel(seed=9, side=5, periods=80, seasonal=(0.6, 0.0), excitation=0.2)
    params = {"n_estimators": 20, "min_data_in_leaf": 10} if name == "lgbm" else {}
    model = make_model(name, **params).fit(sim.history(76))
    frame = explain(model, 3)
    forecasts = model.predict(3)
    np.testing.assert_allclose(frame["mean"], forecasts["mean"], rtol=1e-9)
    np.testing.assert_allclose(frame[list(DRIVERS)].sum(axis=1), frame["mean"] - frame["usual"], atol=1e-9)
    np.testing.assert_allclose(frame["change"], frame["mean"] / frame["usual"] - 1.0, rtol=1e-12)
    up = frame[frame["change"] >= 0.1]
    assert len(up) > 0
    assert up["text_en"].str.match(r"^About \d+ % above its usual level").all()
    assert up["text_nl"].str.match(r"^Ongeveer \d+ % boven het gebruikelijke niveau").all()


def test_the_stated_change_and_drivers_match_the_numbers(glm_frame: pd.DataFrame) -> None:
    moved = glm_frame[glm_frame["change"].abs() >= 0.1]
    stated = moved["text_en"].str.extract(r"^About (\d+) % (above|below)")
    sign = np.where(stated[1] == "above", 1.0, -1.0)
    np.testing.assert_allclose(sign * stated[0].astype(float) / 100, moved["change"], atol=0.005)
    season = glm_frame["season"] / glm_frame["usual"]
    named = glm_frame["text_en"].str.extract(r"the season \(([+-]\d+) %\)")[0].dropna().astype(float)
    assert len(named) > 0
    np.testing.assert_allclose(named / 100, season[named.index], atol=0.005)
    assert (season[named.index].abs() >= 0.1).all()
    assert glm_frame.loc[glm_frame["change"].abs() < 0.1, "text_en"].str.startswith("About as usual").all()


@pytest.mark.parametrize(
    ("ratio", "drivers", "english", "dutch"),
    [
        (
            1.3,
            [("recent", 0.25), ("season", 0.12)],
            "About 30 % above its usual level, mainly because of recent counts in this area (+25 %) and the "
            "season (+12 %).",
            "Ongeveer 30 % boven het gebruikelijke niveau, vooral door recente aantallen in deze buurt (+25 %) "
            "en het seizoen (+12 %).",
        ),
        (
            0.75,
            [("season", -0.2)],
            "About 25 % below its usual level, mainly because of the season (-20 %).",
            "Ongeveer 25 % onder het gebruikelijke niveau, vooral door het seizoen (-20 %).",
        ),
        (
            2.5,
            [("neighbours", 0.9)],
            "About 2.5 times its usual level, mainly because of recent counts in neighbouring areas (+90 %).",
            "Ongeveer 2,5 keer het gebruikelijke niveau, vooral door recente aantallen in aangrenzende buurten "
            "(+90 %).",
        ),
        (
            1.15,
            [],
            "About 15 % above its usual level, through several small effects together.",
            "Ongeveer 15 % boven het gebruikelijke niveau, door meerdere kleine effecten samen.",
        ),
        (1.04, [], "About as usual (within 10 %).", "Ongeveer als gebruikelijk (binnen 10 %)."),
        (
            0.97,
            [("season", 0.3), ("recent", -0.25)],
            "About as usual (within 10 %): the season (+30 %) and recent counts in this area (-25 %) roughly "
            "cancel out.",
            "Ongeveer als gebruikelijk (binnen 10 %): het seizoen (+30 %) en recente aantallen in deze buurt "
            "(-25 %) heffen elkaar ongeveer op.",
        ),
        (
            1.02,
            [("trend", 0.12)],
            "About as usual (within 10 %): the long-term trend (+12 %) is offset by smaller effects.",
            "Ongeveer als gebruikelijk (binnen 10 %): de langetermijntrend (+12 %) wordt opgeheven door "
            "kleinere effecten.",
        ),
    ],
)
def test_sentences_in_english_and_dutch(
    ratio: float, drivers: list[tuple[str, float]], english: str, dutch: str
) -> None:
    assert sentence(ratio, drivers, "en") == english
    assert sentence(ratio, drivers, "nl") == dutch


def test_every_driver_group_is_worded_in_every_language() -> None:
    check_wording(GROUPS)
    for lang in LANGS:
        assert set(LABELS[lang]) == set(DRIVERS)
        assert set(PHRASES[lang]) == set(PHRASES["en"])


def test_a_group_without_wording_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ParameterError, match=r"'others' \(nl\), 'others' \(en\).*add the group to LABELS"):
        check_wording([*GROUPS, "others"])
    with pytest.raises(ParameterError, match="'others' "):
        sentence(1.5, [("others", 0.5)], "nl")
    monkeypatch.setattr(explain_module, "GROUPS", (*GROUPS, "others"))
    sim = simulate_panel(seed=9, side=3, periods=30)
    with pytest.raises(ParameterError, match="'others' \\(en\\)"):
        explain(make_model("glm").fit(sim.history(28)))


def test_bad_thresholds_and_models_are_refused() -> None:
    sim = simulate_panel(seed=9, side=3, periods=30)
    with pytest.raises(ParameterTypeError, match="log_contributions"):
        explain(make_model("naive_last").fit(sim.history(28)))  # type: ignore[arg-type]
    model = make_model("glm").fit(sim.history(28))
    with pytest.raises(ParameterError, match="'threshold' parameter of explain"):
        explain(model, threshold=1.5)
    with pytest.raises(ParameterError, match="'tolerance' parameter of explain"):
        explain(model, tolerance=-1.0)


def test_a_count_floor_silences_small_drivers(glm_frame: pd.DataFrame) -> None:
    assert glm_frame["text_en"].str.contains("mainly because of").any()
    sim = simulate_panel(seed=9, side=5, periods=80, seasonal=(0.6, 0.0), excitation=0.2)
    quiet = explain(make_model("glm").fit(sim.history(76)), 3, tolerance=100.0)
    assert not quiet["text_en"].str.contains("mainly because of").any()
    np.testing.assert_allclose(quiet["change"], glm_frame["change"])
