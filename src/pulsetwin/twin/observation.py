"""How offences become records: citizen reporting and police detection that follows patrol presence.

Citizen-reported and municipal categories are recorded with a category-specific reporting rate (CBS
Veiligheidsmonitor ballpark). Police-initiated categories (drugs, public order) are recorded with probability
``1 - exp(-kappa * patrol)``, ``kappa`` set so that mean patrol gives ``record_prob``; patrol is higher in
deprived and central buurten, so their records over-represent those buurten (Lum & Isaac 2016).
"""

from __future__ import annotations

import numpy as np

from pulsetwin.twin.covariates import Covariates
from pulsetwin.twin.parameters import CategoryParams, PatrolParams
from pulsetwin.twin.process import Offences


def patrol_presence(cov: Covariates, params: PatrolParams) -> np.ndarray:
    """Relative patrol presence per buurt, population-weighted mean one."""
    raw = np.exp(params.deprivation * cov.deprivation + params.centrality * cov.centrality)
    return raw / (raw @ cov.population / cov.population.sum())


def record_probabilities(cats: tuple[CategoryParams, ...], patrol: np.ndarray) -> np.ndarray:
    """Probability that an offence is recorded, shape (categories, buurten)."""
    rows = []
    for cat in cats:
        if cat.observation == "detect":
            kappa = -np.log1p(-cat.record_prob)
            rows.append(-np.expm1(-kappa * patrol))
        else:
            rows.append(np.full(patrol.size, cat.record_prob))
    return np.stack(rows)


def observe(offences: Offences, probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask: which offences are recorded (independent thinning)."""
    return rng.uniform(size=offences.t.size) < probabilities[offences.category, offences.area]
