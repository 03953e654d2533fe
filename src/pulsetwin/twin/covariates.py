"""Neighbourhood covariates named like CBS Kerncijfers measures, drawn from a smooth latent deprivation field.

The latent deprivation ``D`` (standardised) drives WOZ value and income down, low-income and social-rent
shares up; density and nightlife (horeca) fall off with distance to the gemeente centre. The audit-only
migration background share depends on ``D`` only, so it is confounded with the incident process as in real
cities but never feeds it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit, softmax

from pulsetwin.twin.geography import Geography
from pulsetwin.twin.parameters import (
    MIGRATION_ATTRIBUTE,
    MIGRATION_DEPRIVATION,
    MIGRATION_MEAN,
    MIGRATION_NOISE,
    Preset,
)

AGE_GROUPS = ("k_0Tot15Jaar", "k_15Tot25Jaar", "k_25Tot45Jaar", "k_45Tot65Jaar", "k_65JaarOfOuder")
_AGE_BASE = np.log(np.array([0.14, 0.11, 0.23, 0.28, 0.24]))
_AGE_DEPRIVATION = np.array([0.15, 0.10, 0.05, -0.05, -0.10])
_AGE_CENTRALITY = np.array([-0.30, 0.40, 0.30, -0.10, -0.10])
COUNT_VARIABLES = ("AantalInwoners", *AGE_GROUPS, "AantalHorecavestigingen")
MEAN_VARIABLES = (
    "GemiddeldeWOZWaardeVanWoningen",
    "GemiddeldInkomenPerInwoner",
    "HuishOnderOfRondSociaalMinimum",
    "PercentageSocialeHuurwoningen",
    "AfstandTotCentrum",
)
VARIABLES = (*COUNT_VARIABLES, "Bevolkingsdichtheid", *MEAN_VARIABLES)


@dataclass(frozen=True)
class Covariates:
    """Covariate tables and the latent per-buurt arrays the process uses (buurt order of the geography).

    Attributes
    ----------
    table, protected
        Canonical ``covariates`` and ``protected`` tables for buurten, wijken and gemeenten.
    deprivation
        Standardised latent deprivation per buurt (never published).
    centrality
        ``exp(-distance to centre / scale)`` per buurt.
    population
        Inhabitants per buurt in the first year (before disclosure rounding).
    horeca
        Nightlife establishments per buurt.
    density
        Inhabitants per km2 in the first year.
    """

    table: pd.DataFrame
    protected: pd.DataFrame
    deprivation: np.ndarray
    centrality: np.ndarray
    population: np.ndarray
    horeca: np.ndarray
    density: np.ndarray


def smooth_field(x: np.ndarray, y: np.ndarray, scale_m: float, rng: np.random.Generator) -> np.ndarray:
    """A stationary Gaussian field with squared-exponential covariance of length ``scale_m``, unit variance.

    Notes
    -----
    Random Fourier features (Rahimi & Recht 2007): O(n) for any number of points, unlike a Cholesky factor.
    """
    n_features = 256
    omega = rng.normal(0.0, 1.0 / scale_m, size=(n_features, 2))
    phase = rng.uniform(0.0, 2 * np.pi, n_features)
    field = np.zeros(x.size)
    for start in range(0, n_features, 32):  # blocks keep memory at 32 x n
        block = slice(start, start + 32)
        field += np.cos(np.outer(x, omega[block, 0]) + np.outer(y, omega[block, 1]) + phase[block]).sum(
            axis=1
        )
    return field * np.sqrt(2.0 / n_features)


def _standardise(values: np.ndarray) -> np.ndarray:
    """Centre to mean zero and scale to standard deviation one."""
    return (values - values.mean()) / values.std()


def build_covariates(
    geo: Geography, preset: Preset, years: list[int], rng: np.random.Generator
) -> Covariates:
    """Draw the latent fields and covariates per buurt and year, then aggregate to wijken and gemeenten."""
    n = geo.n_buurten
    field = smooth_field(geo.cx, geo.cy, preset.deprivation_scale_m, rng)
    if preset.name == "nl":
        field = field + 0.7 * smooth_field(geo.cx, geo.cy, 40_000.0, rng)
    deprivation = _standardise(field + 0.35 * rng.normal(size=n))
    centrality = np.exp(-geo.dist_centre_km / preset.centrality_scale_km)
    weight = geo.land_km2 * np.exp(1.5 * centrality + 0.25 * deprivation + 0.4 * rng.normal(size=n))
    share_in_gemeente = weight / np.bincount(geo.gemeente_index, weight)[geo.gemeente_index]
    population = share_in_gemeente * geo.gemeente_population[geo.gemeente_index]
    growth = rng.normal(0.0, 0.005, n)
    step = np.arange(len(years))[:, None]
    pop = population[None, :] * (1.0 + growth[None, :]) ** step
    ages = softmax(
        _AGE_BASE[:, None]
        + np.outer(_AGE_DEPRIVATION, deprivation)
        + np.outer(_AGE_CENTRALITY, centrality)
        + 0.1 * rng.normal(size=(len(AGE_GROUPS), n)),
        axis=0,
    )
    horeca = rng.poisson(np.exp(-0.5 + 3.2 * centrality + 0.5 * rng.normal(size=n))).astype(np.float64)
    values: dict[str, np.ndarray] = {"AantalInwoners": pop}
    values.update({name: pop * ages[k][None, :] for k, name in enumerate(AGE_GROUPS)})
    values["AantalHorecavestigingen"] = np.broadcast_to(horeca, pop.shape)
    woz = 205.0 * np.exp(-0.22 * deprivation + 0.1 * centrality + 0.15 * rng.normal(size=n))
    values["GemiddeldeWOZWaardeVanWoningen"] = woz[None, :] * 1.07**step
    income = 26.0 * np.exp(-0.15 * deprivation + 0.1 * rng.normal(size=n))
    values["GemiddeldInkomenPerInwoner"] = income[None, :] * 1.035**step
    low_income = 100 * expit(-2.0 + 0.75 * deprivation + 0.35 * rng.normal(size=n))
    values["HuishOnderOfRondSociaalMinimum"] = np.broadcast_to(low_income, pop.shape)
    social = 100 * expit(-0.9 + 0.9 * deprivation + 0.6 * rng.normal(size=n))
    values["PercentageSocialeHuurwoningen"] = np.broadcast_to(social, pop.shape)
    values["AfstandTotCentrum"] = np.broadcast_to(geo.dist_centre_km, pop.shape)
    migration = expit(
        logit(MIGRATION_MEAN) + MIGRATION_DEPRIVATION * deprivation + MIGRATION_NOISE * rng.normal(size=n)
    )
    levels = _levels(geo)
    return Covariates(
        table=_publish(values, levels, geo, years),
        protected=_long(
            {MIGRATION_ATTRIBUTE: np.clip(migration[None, :] + 0.003 * step, 0.0, 1.0)}, levels, pop, years
        ).rename(columns={"variable": "attribute"}),
        deprivation=deprivation,
        centrality=centrality,
        population=population,
        horeca=horeca,
        density=population / geo.land_km2,
    )


def _levels(geo: Geography) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per level (buurt, wijk, gemeente): area codes and, per buurt, the index of its area at that level."""
    out = []
    for parent in (geo.codes, geo.wijk_codes, geo.gemeente_codes):
        index, uniques = pd.factorize(parent, sort=True)
        out.append((np.asarray(uniques, dtype=object), index))
    return out


def _publish(
    values: dict[str, np.ndarray],
    levels: list[tuple[np.ndarray, np.ndarray]],
    geo: Geography,
    years: list[int],
) -> pd.DataFrame:
    """Aggregate to every level, add density, apply CBS rounding (counts to multiples of 5), go long."""
    pop = values["AantalInwoners"]
    frames = []
    for codes, index in levels:
        land = np.bincount(index, geo.land_km2, minlength=codes.size)
        agg = {name: _sum(values[name], index, codes.size) for name in COUNT_VARIABLES}
        level_pop = agg["AantalInwoners"]
        agg.update({name: _sum(values[name] * pop, index, codes.size) / level_pop for name in MEAN_VARIABLES})
        agg["Bevolkingsdichtheid"] = np.round(level_pop / land[None, :])
        for name in ("AantalInwoners", *AGE_GROUPS):
            agg[name] = 5.0 * np.round(agg[name] / 5.0)
        agg["GemiddeldeWOZWaardeVanWoningen"] = np.round(agg["GemiddeldeWOZWaardeVanWoningen"])
        for name in (
            "GemiddeldInkomenPerInwoner",
            "HuishOnderOfRondSociaalMinimum",
            "PercentageSocialeHuurwoningen",
            "AfstandTotCentrum",
        ):
            agg[name] = np.round(agg[name], 1)
        frames.append(_frame(agg, codes, years))
    return pd.concat(frames, ignore_index=True)


def _long(
    values: dict[str, np.ndarray],
    levels: list[tuple[np.ndarray, np.ndarray]],
    pop: np.ndarray,
    years: list[int],
) -> pd.DataFrame:
    """Population-weighted means of ``values`` at every level, long format."""
    frames = []
    for codes, index in levels:
        level_pop = _sum(pop, index, codes.size)
        agg = {name: np.round(_sum(v * pop, index, codes.size) / level_pop, 4) for name, v in values.items()}
        frames.append(_frame(agg, codes, years))
    return pd.concat(frames, ignore_index=True)


def _sum(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """Sum a (years, buurten) array into (years, areas) by ``index``."""
    return np.stack([np.bincount(index, row, minlength=size) for row in values])


def _frame(agg: dict[str, np.ndarray], codes: np.ndarray, years: list[int]) -> pd.DataFrame:
    """Long frame ``area_code, year, variable, value`` from (years, areas) arrays, sorted by code, year."""
    names = sorted(agg)
    n_years, n_areas = len(years), codes.size
    value = np.stack([agg[name] for name in names], axis=2)  # years x areas x variables
    value = value.transpose(1, 0, 2).ravel()
    frame = pd.DataFrame(
        {
            "area_code": pd.array(np.repeat(codes, n_years * len(names)), dtype="str"),
            "year": np.tile(np.repeat(np.asarray(years, dtype=np.int64), len(names)), n_areas),
            "variable": pd.array(np.tile(np.asarray(names, dtype=object), n_areas * n_years), dtype="str"),
            "value": value.astype(np.float64),
        }
    )
    return frame
