"""Model explanations as rows of the store's ``explanations`` table (:mod:`pulsetwin.store.explanations`).

For the first forecast period of a run: the forecast mean, the area's usual level, one count contribution per
driver group of :data:`pulsetwin.models.explain.DRIVERS` (which add up to ``mean - usual``) and the sentence in
English and Dutch (the change from the usual level in percent and the drivers that each move it by at least
10 % of it). Only models that split their forecast into drivers (``log_contributions``: glm, lgbm) are
explained.
"""

from __future__ import annotations

from typing import TypeGuard

import pandas as pd

from pulsetwin.models.base import Model
from pulsetwin.models.common import PanelModel
from pulsetwin.models.explain import Explainable, explain
from pulsetwin.store.explanations import COLUMNS


def explainable(model: Model) -> TypeGuard[PanelModel]:
    """Whether ``model`` splits its forecast into driver groups (glm, lgbm; not the naive baselines)."""
    return isinstance(model, Explainable) and isinstance(model, PanelModel)


def model_explanations(model: Model, run_id: str) -> pd.DataFrame | None:
    """The fitted ``model``'s drivers for its first forecast period as rows of ``explanations``; ``None``
    when the model cannot explain itself."""
    if not explainable(model):
        return None
    frame = explain(model, horizon=1)
    return frame.assign(run_id=run_id)[list(COLUMNS)]
