"""Every parameter of the twin city in one place, with the real-world figure or range it was set from.

Rates are per 1,000 inhabitants per year. ``offence_rate`` counts offences that happen (recorded or not),
including the near-repeat offspring of the self-exciting part; the recorded rate is ``offence_rate`` times the
reporting rate (citizen and municipal categories) or the mean detection probability (police-initiated ones).

Sources of the figures (ballpark, rounded; the twin is synthetic and must only be plausible):

* CBS StatLine 47018NED / 47022NED (Politie open data, registered crime per gemeente, wijk, buurt): total
  registered crime in the Netherlands about 45 per 1,000 inhabitants per year (2021-2023); mid-sized cities
  with a regional centre function, such as Heerlen, 50-75 per 1,000. Residential burglary 1-2 per 1,000
  nationally since 2020, higher in South-Limburg; bicycle and moped theft 4-5 per 1,000 nationally, lower in
  hilly Limburg; violence (threat, assault, public violence) about 5 per 1,000 nationally, 6-10 in cities with
  a nightlife centre; vandalism 4-6 per 1,000.
* CBS Veiligheidsmonitor (victimisation survey, 2021-2023): about a quarter to 30 % of offences reach the
  police; burglary 80-90 %, bicycle theft 20-30 %, vandalism about 20 %, violence 30-40 %.
* Registered nuisance (47024NED): youth nuisance is the most frequent nuisance type, 3-8 per 1,000.
* CBS Kerncijfers wijken en buurten (84583NED ... 85984NED): Heerlen about 87,000 inhabitants in about 90
  buurten and 11 wijken; mean WOZ value about 190-230 thousand euro (2021-2023); income per inhabitant about
  25-27 thousand euro; the Netherlands 17.9 million inhabitants, about 14,500 buurten in about 340 gemeenten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Observation = Literal["report", "detect"]


@dataclass(frozen=True)
class CategoryParams:
    """The true process and the observation of one category.

    Attributes
    ----------
    slug
        Category slug of :mod:`pulsetwin.schema.categories`.
    offence_rate
        Offences per 1,000 inhabitants per year in the first year, offspring included.
    deprivation, horeca, density
        Log-rate effects of the standardised latent deprivation, log nightlife count and log density.
    area_sd
        Standard deviation of the unobserved normal area effect on the log-rate.
    season_amplitude, season_peak_day
        Annual cycle ``exp(a cos(2 pi (day - peak) / 365.25))``, normalised to mean one.
    weekday
        Relative rate Monday ... Sunday (normalised to mean one).
    hour_amplitude, hour_peak
        Daily cycle ``exp(a cos(2 pi (hour - peak) / 24))`` of event timestamps (normalised).
    trend
        Log-rate change per year (a slow trend).
    branching
        Expected direct offspring per offence (near-repeat branching ratio, < 1).
    decay_days
        Mean delay of an offspring after its parent (exponential kernel).
    spread_m
        Standard deviation of the offspring's offset from its parent (Gaussian, truncated to the buurt).
    observation
        ``report``: recorded with probability ``record_prob``; ``detect``: police-initiated, recorded with a
        detection probability that rises with patrol presence and equals ``record_prob`` at mean patrol.
    record_prob
        Reporting rate or mean detection probability.
    source
        ``source`` value of the recorded incidents.
    """

    slug: str
    offence_rate: float
    deprivation: float
    horeca: float
    density: float
    area_sd: float
    season_amplitude: float
    season_peak_day: float
    weekday: tuple[float, float, float, float, float, float, float]
    hour_amplitude: float
    hour_peak: float
    trend: float
    branching: float
    decay_days: float
    spread_m: float
    observation: Observation
    record_prob: float
    source: str

    @property
    def recorded_rate(self) -> float:
        """Expected recorded offences per 1,000 inhabitants per year at mean patrol presence."""
        return self.offence_rate * self.record_prob


_FLAT: Final = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
_WEEKEND: Final = (0.9, 0.85, 0.85, 0.95, 1.15, 1.5, 1.3)
_WORKDAY: Final = (1.1, 1.1, 1.1, 1.1, 1.05, 0.8, 0.75)

# fmt: off
CATEGORIES: Final[tuple[CategoryParams, ...]] = (
    # Burglary: reported 80-90 % (insurance), strong near-repeat (Bowers & Johnson 2004: ~2 weeks, ~200 m).
    CategoryParams("burglary_residential", 3.0, 0.30, 0.0, 0.10, 0.30, 0.25, 350.0, _WORKDAY, 0.6, 19.0,
                   -0.03, 0.30, 7.0, 150.0, "report", 0.85, "twin-police"),
    CategoryParams("theft_bicycle", 22.0, 0.10, 0.30, 0.40, 0.35, 0.20, 200.0, _WORKDAY, 0.8, 14.0,
                   0.0, 0.10, 5.0, 200.0, "report", 0.25, "twin-police"),
    CategoryParams("theft_from_vehicle", 10.0, 0.25, 0.10, 0.20, 0.30, 0.10, 20.0, _FLAT, 0.9, 2.0,
                   -0.02, 0.20, 5.0, 200.0, "report", 0.40, "twin-police"),
    CategoryParams("violence", 20.0, 0.35, 0.45, 0.10, 0.25, 0.10, 180.0, _WEEKEND, 1.0, 0.5,
                   0.01, 0.10, 2.0, 100.0, "report", 0.35, "twin-police"),
    CategoryParams("vandalism", 30.0, 0.30, 0.20, 0.10, 0.30, 0.15, 1.0, _WEEKEND, 1.0, 23.0,
                   0.0, 0.10, 5.0, 150.0, "report", 0.20, "twin-police"),
    CategoryParams("nuisance_drugs_alcohol", 6.0, 0.45, 0.40, 0.10, 0.35, 0.15, 190.0, _WEEKEND, 1.0, 22.0,
                   0.0, 0.15, 3.0, 150.0, "report", 0.25, "twin-police"),
    # Police-initiated: true offences happen widely; records follow where police look (Lum & Isaac 2016).
    CategoryParams("drugs", 25.0, 0.30, 0.30, 0.10, 0.30, 0.05, 150.0, _WEEKEND, 0.7, 21.0,
                   0.0, 0.10, 7.0, 150.0, "detect", 0.09, "twin-police"),
    CategoryParams("public_order", 8.0, 0.20, 0.50, 0.10, 0.25, 0.10, 180.0, _WEEKEND, 1.0, 1.0,
                   0.0, 0.10, 2.0, 100.0, "detect", 0.12, "twin-police"),
    CategoryParams("youth_nuisance", 16.0, 0.30, 0.10, 0.20, 0.35, 0.30, 190.0, _WEEKEND, 1.0, 20.0,
                   0.0, 0.20, 3.0, 150.0, "report", 0.30, "twin-municipal"),
)
# fmt: on
"""The categories the twin simulates, in output order."""


@dataclass(frozen=True)
class PatrolParams:
    """Patrol presence ``exp(deprivation * D + centrality * C)``, normalised to population-weighted mean one.

    Higher in deprived and central areas, so police-initiated records are biased towards them.
    """

    deprivation: float = 0.5
    centrality: float = 1.2


PATROL: Final = PatrolParams()


@dataclass(frozen=True)
class Preset:
    """Geography and covariate settings of one preset.

    Attributes
    ----------
    name
        ``heerlen`` (one municipality, Voronoi buurten) or ``nl`` (the country, rectangular buurten).
    population
        Inhabitants in the first year.
    n_gemeenten, n_buurten, n_wijken
        Target counts (``n_wijken`` only for a single municipality; for ``nl`` a wijk is a row of buurten).
    centre_x, centre_y, width_m, height_m
        RD New centre and size of the city outline (single municipality).
    deprivation_scale_m
        Length scale of the smooth latent deprivation field.
    centrality_scale_km
        Decay length of centrality ``exp(-distance / scale)`` around a gemeente centre.
    bbox
        RD New bounding box (xmin, ymin, xmax, ymax) of the country preset.
    gemeente_side_m
        Side of a gemeente square in the country preset.
    """

    name: str
    population: int
    n_gemeenten: int
    n_buurten: int
    n_wijken: int
    centre_x: float
    centre_y: float
    width_m: float
    height_m: float
    deprivation_scale_m: float
    centrality_scale_km: float
    bbox: tuple[float, float, float, float]
    gemeente_side_m: float


# fmt: off
PRESETS: Final[dict[str, Preset]] = {
    "heerlen": Preset("heerlen", 87_000, 1, 90, 11, 196_000.0, 321_500.0, 8_000.0, 10_000.0, 1_500.0, 1.5,
                      (192_000.0, 316_500.0, 200_000.0, 326_500.0), 0.0),
    "nl": Preset("nl", 17_900_000, 342, 14_500, 0, 0.0, 0.0, 0.0, 0.0, 6_000.0, 1.5,
                 (13_000.0, 306_000.0, 278_000.0, 619_000.0), 8_000.0),
}
# fmt: on

HEERLEN_CODE: Final = "0917"
BURN_IN_DAYS: Final = 56
"""Days simulated before the first recorded day so the self-exciting part starts near stationarity."""
MIGRATION_ATTRIBUTE: Final = "migration_background_share"
MIGRATION_MEAN: Final = 0.08
"""Share of residents with a migration background outside Europe (CBS 2023+ BuitenEuropa) in a buurt of
average deprivation; the buurt mean comes out near 0.12, Heerlen-like."""
MIGRATION_DEPRIVATION: Final = 0.75
MIGRATION_NOISE: Final = 0.8
"""Logit-scale effect of deprivation and noise: gives a buurt-level correlation of about 0.6 with deprivation,
as between non-western migration share and low income in Dutch cities (Kerncijfers 2022)."""


@dataclass(frozen=True)
class CalibrationRange:
    """A documented plausible range of a recorded yearly rate per 1,000 inhabitants."""

    low: float
    high: float
    source: str


CALIBRATION: Final[dict[str, CalibrationRange]] = {
    "burglary_residential": CalibrationRange(
        1.0, 6.0, "CBS 47018NED 1.1.1; national ~1.3 (2022), S-Limburg higher"
    ),
    "theft_bicycle": CalibrationRange(2.0, 12.0, "CBS 47018NED 1.2.3; national ~4.5, lower in hilly Limburg"),
    "theft_from_vehicle": CalibrationRange(2.0, 8.0, "CBS 47018NED 1.2.1; national ~3"),
    "violence": CalibrationRange(
        5.0, 10.0, "CBS 47018NED 1.4.3-1.4.5; national ~5, cities with nightlife 6-10"
    ),
    "vandalism": CalibrationRange(3.0, 10.0, "CBS 47018NED 2.2.1; national 4-6"),
    "nuisance_drugs_alcohol": CalibrationRange(0.3, 4.0, "CBS 47018NED 2.1.1"),
    "drugs": CalibrationRange(
        0.5, 5.0, "CBS 47018NED 3.1.1; national ~1, border cities higher (drug tourism)"
    ),
    "public_order": CalibrationRange(0.3, 3.0, "CBS 47018NED 3.6.4; national ~0.7"),
    "youth_nuisance": CalibrationRange(2.0, 10.0, "CBS 47024NED registered youth nuisance"),
    "police_subtotal": CalibrationRange(
        20.0,
        45.0,
        "CBS 47018NED: total registered crime 50-75 per 1,000 in Heerlen-type cities; the eight police "
        "categories modelled here are 40-60 % of it (shoplifting, fraud, cybercrime, traffic: not modelled)",
    ),
    "reporting_share": CalibrationRange(
        0.20, 0.35, "Veiligheidsmonitor: a quarter to 30 % of offences reported"
    ),
}
"""Ranges the heerlen preset must meet; ``reporting_share`` is recorded / offences over citizen categories."""
