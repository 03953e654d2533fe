"""The category vocabulary: documented slugs mapped to police `SoortMisdrijf` codes.

Police codes are the 47022NED/47018NED offence keys (stripped of their padding). ``origin`` says how an
incident reaches the record: ``citizen`` (mostly reported by victims or residents), ``police`` (mostly found
by police activity, so recorded counts follow patrol effort), ``municipal`` (reports and intakes of the
municipality or social organisations), ``sensor`` (anonymous aggregate sensor counts).
Municipalities may add their own lowercase slugs (e.g. ``overlast_jeugd``); they are registered, never
refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Origin = Literal["citizen", "police", "municipal", "sensor"]
SLUG_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]{1,47}$")


@dataclass(frozen=True)
class Category:
    """One vocabulary entry."""

    slug: str
    label_nl: str
    label_en: str
    police_codes: tuple[str, ...]
    origin: Origin


VOCABULARY: Final[tuple[Category, ...]] = (
    Category("burglary_residential", "Woninginbraak", "Residential burglary", ("1.1.1",), "citizen"),
    Category("burglary_shed", "Inbraak box/garage/schuur", "Shed or garage burglary", ("1.1.2",), "citizen"),
    Category(
        "theft_from_vehicle", "Diefstal uit/vanaf motorvoertuig", "Theft from vehicle", ("1.2.1",), "citizen"
    ),
    Category("theft_of_vehicle", "Diefstal van motorvoertuig", "Theft of vehicle", ("1.2.2",), "citizen"),
    Category("theft_bicycle", "Diefstal van (brom)fiets", "Bicycle and moped theft", ("1.2.3",), "citizen"),
    Category("pickpocketing", "Zakkenrollerij", "Pickpocketing", ("1.2.4",), "citizen"),
    Category("violence", "Geweld", "Violence", ("1.4.3", "1.4.4", "1.4.5"), "citizen"),
    Category("robbery", "Straatroof en overval", "Robbery", ("1.4.6", "1.4.7"), "citizen"),
    Category("arson", "Brand/ontploffing", "Arson and explosions", ("1.6.1",), "citizen"),
    Category(
        "nuisance_drugs_alcohol", "Drugs-/drankoverlast", "Drug and alcohol nuisance", ("2.1.1",), "citizen"
    ),
    Category("vandalism", "Vernieling en zaakbeschadiging", "Vandalism", ("2.2.1",), "citizen"),
    Category("neighbour_disputes", "Burengerucht", "Neighbour disputes", ("2.4.1",), "citizen"),
    Category("burglary_business", "Diefstal/inbraak bedrijven", "Business burglary", ("2.5.1",), "citizen"),
    Category("shoplifting", "Winkeldiefstal", "Shoplifting", ("2.5.2",), "police"),
    Category("litter", "Afval", "Litter and dumping", ("2.6.4",), "citizen"),
    Category("fireworks", "Vuurwerk", "Fireworks", ("2.6.9",), "citizen"),
    Category("liveability_other", "Leefbaarheid (overig)", "Liveability (other)", ("2.7.3",), "citizen"),
    Category("drugs", "Drugshandel", "Drug dealing", ("3.1.1",), "police"),
    Category("traffic", "Verkeer", "Traffic offences", ("3.3.5", "3.5.5"), "police"),
    Category("public_order", "Aantasting openbare orde", "Public order offences", ("3.6.4",), "police"),
    Category(
        "nuisance_registered", "Geregistreerde overlast", "Registered nuisance (47024NED)", (), "citizen"
    ),
    Category("youth_nuisance", "Overlast jeugd", "Youth nuisance reports", (), "municipal"),
    Category(
        "public_space_reports",
        "Meldingen openbare ruimte",
        "Litter and public-space reports",
        (),
        "municipal",
    ),
    Category("debt_support_intakes", "Intakes schuldhulp", "Debt-support intakes", (), "municipal"),
    Category("noise_peaks", "Geluidspieken", "Noise peaks (sensor, per hour)", (), "sensor"),
    Category("footfall", "Passanten", "Footfall (sensor, per hour)", (), "sensor"),
)

BY_SLUG: Final[dict[str, Category]] = {c.slug: c for c in VOCABULARY}
BY_POLICE_CODE: Final[dict[str, str]] = {code: c.slug for c in VOCABULARY for code in c.police_codes}
POLICE_TOTAL_CODE: Final = "0.0.0"


def is_valid_slug(value: str) -> bool:
    """True when ``value`` is a lowercase slug acceptable as a (possibly municipal) category."""
    return bool(SLUG_PATTERN.match(value))


def category_for_police_code(code: str) -> str | None:
    """Map a padded or stripped ``SoortMisdrijf`` key to a slug; None for codes outside the vocabulary."""
    return BY_POLICE_CODE.get(code.strip())


POLICE_SLUG_PREFIX: Final = "police_"


def slug_for_police_code(code: str) -> str:
    """The vocabulary slug of a police code, or ``police_<code>`` (dots as underscores) outside it."""
    known = category_for_police_code(code)
    return known if known else POLICE_SLUG_PREFIX + code.strip().replace(".", "_")


def origin_of(slug: str) -> Origin:
    """How incidents of a category reach the record.

    Police codes outside the vocabulary (``police_<code>``) follow the police chapters: chapter 3
    (traffic, drugs, public order, weapons) is mostly found by police activity, the rest is mostly reported.
    Other unknown slugs are a municipality's own categories and count as ``municipal``.
    """
    category = BY_SLUG.get(slug)
    if category is not None:
        return category.origin
    if slug.startswith(POLICE_SLUG_PREFIX):
        return "police" if slug.startswith(POLICE_SLUG_PREFIX + "3_") else "citizen"
    return "municipal"
