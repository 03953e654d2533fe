"""Plain names for models and backtest measures, in Dutch and English: the one vocabulary pages use.

Code names (``naive_last``, ``glm``, ``coverage90``) stay the keys in stored runs, the API and files; a council
member reads these words instead. The dashboard gets them from the API, the report and the status sentences
from here. A name missing from the vocabulary is shown as its code, so a new model is never hidden.
"""

from __future__ import annotations

from typing import Final

MODEL_LABELS: Final[dict[str, tuple[str, str]]] = {
    "naive_last": ("het aantal van de vorige periode", "last period's count"),
    "naive_seasonal": ("het aantal van dezelfde periode een jaar eerder", "the same period a year earlier"),
    "naive_mean_k": ("het gemiddelde van de laatste perioden", "the mean of the last few periods"),
    "naive_mean_year": ("het gemiddelde van het afgelopen jaar", "the mean of the past year"),
    "naive_hist": ("het langjarig gemiddelde van de buurt", "the buurt's long-run mean"),
    "glm": ("Poisson-regressie", "Poisson regression"),
    "lgbm": ("beslisbomen (gradient boosting)", "decision trees (gradient boosting)"),
    "kde_area": ("dichtheidskaart van meldingen", "density map of incidents"),
    "prospective_area": ("vooruitkijkende hotspotkaart", "prospective hotspot map"),
    "etas_area": ("zelfversterkend puntproces", "self-exciting point process"),
    "stack": (
        "gewogen mix van modellen (gewichten uit eerdere perioden)",
        "weighted mix of models (weights from earlier periods)",
    ),
    "oracle": (
        "plafond: de ware verwachting (alleen tweelingstad)",
        "ceiling: the true expectation (twin only)",
    ),
    "origin_oracle": (
        "plafond: de ware verwachting vanaf het startmoment",
        "ceiling: the true expectation from the origin",
    ),
}
"""Model code name -> (Dutch, English) display name."""

MEASURE_LABELS: Final[dict[str, tuple[str, str]]] = {
    "model": ("model", "model"),
    "naive": ("naïeve vuistregel", "naive rule"),
    "n": ("aantal cellen", "cells"),
    "deviance": ("afwijking", "deviance"),
    "mae": ("gemiddelde fout", "mean absolute error"),
    "rmse": ("wortel van de kwadratische fout", "root mean squared error"),
    "wis": ("intervalscore", "interval score"),
    "log_score": ("logscore", "log score"),
    "coverage90": ("aandeel binnen de 90%-band", "share inside the 90 % band"),
    "pai_03": ("PAI bij 3 % van het gebied", "PAI at 3 % of the area"),
    "pei_03": ("PEI bij 3 % van het gebied", "PEI at 3 % of the area"),
    "skill": ("vaardigheid", "skill"),
    "skill_lo": ("vaardigheid, ondergrens", "skill, lower bound"),
    "skill_hi": ("vaardigheid, bovengrens", "skill, upper bound"),
    "gap_share": ("deel van de kloof tot het plafond", "share of the gap to the ceiling"),
}
"""Backtest measure code name -> (Dutch, English) display name."""


def model_label(name: str | None, lang: str) -> str:
    """Plain name of model ``name`` in ``lang`` (``nl`` or ``en``); its code when not in the vocabulary."""
    if name is None:
        return "–"
    words = MODEL_LABELS.get(name)
    return name if words is None else words[0 if lang == "nl" else 1]


def measure_label(name: str, lang: str) -> str:
    """Plain name of backtest measure ``name`` in ``lang``; its code when not in the vocabulary."""
    words = MEASURE_LABELS.get(name)
    return name if words is None else words[0 if lang == "nl" else 1]
