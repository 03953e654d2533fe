"""The covariate variables the code reads by role, not by name: one table, each role overridable.

Models read every covariate generically. A few places need to know what a variable *means*: the audit weighs
exposure by residents and groups areas by income; the twin's studies and calibration count inhabitants. Their
default names are CBS Kerncijfers wijken en buurten measures (what ``pulsetwin fetch cbs`` and the twin write);
a store built from a city's own files names them in its own words, so each role can be renamed (the audit
policy's ``variables`` key). A role whose variable is absent gets a message naming the role, the variables the
store does hold, and how to name another.

| role | default (CBS) | needed by | when absent |
|---|---|---|---|
| residents | ``AantalInwoners`` | audit exposure and rates per resident; twin studies | refused (required) |
| income | ``GemiddeldInkomenPerInwoner`` | audit income grouping | that grouping cannot be assessed |

``income_direction``: ``higher`` when a higher value means a more affluent area (mean income), ``lower`` when
it means a poorer one (e.g. a share of low-income households); the income reference group ``affluent`` follows
it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pandas as pd

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.params import refuse_unknown_keys


@dataclass(frozen=True)
class VariableRole:
    """One role a covariate plays for the code: its default (CBS) name, what needs it, and whether it may be
    absent."""

    role: str
    default: str
    meaning: str
    needed_by: str
    required: bool


RESIDENTS: Final = VariableRole(
    "residents",
    "AantalInwoners",
    "number of residents of the area",
    "the audit (exposure, rates per resident) and the twin's studies",
    required=True,
)
INCOME: Final = VariableRole(
    "income",
    "GemiddeldInkomenPerInwoner",
    "income level of the area (see income_direction)",
    "the audit's income grouping",
    required=False,
)
ROLES: Final[dict[str, VariableRole]] = {role.role: role for role in (RESIDENTS, INCOME)}
DIRECTIONS: Final = ("higher", "lower")
"""Income direction: a higher value means a more affluent area (``higher``) or a poorer one (``lower``)."""
KEYS: Final = (*ROLES, "income_direction")
VARIABLES_FIX: Final = "see the variables block of src/pulsetwin/audit/default_policy.yaml"


@dataclass(frozen=True)
class VariableNames:
    """The covariate name of each role in one store (the CBS defaults unless overridden).

    ``income`` may be ``None``: the store has no income variable, and the income grouping cannot be assessed.
    """

    residents: str = RESIDENTS.default
    income: str | None = INCOME.default
    income_direction: str = "higher"

    @classmethod
    def from_mapping(cls, raw: object, *, source: str) -> VariableNames:
        """Read the ``variables`` block of a policy file; unknown keys, empty names and directions refused."""

        def fail(what: str, value: object) -> SchemaError:
            return SchemaError(
                what,
                where=Location(file=source, column="variables", value=value),
                fix=VARIABLES_FIX,
            )

        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise fail(f"variables must map roles to covariate names ({', '.join(KEYS)})", raw)
        refuse_unknown_keys(raw, set(KEYS), file=source, fix=VARIABLES_FIX, path="variables", word="roles")
        residents = raw.get("residents", RESIDENTS.default)
        if not isinstance(residents, str) or not residents.strip():
            raise fail(
                "variables.residents must name the covariate holding the residents per area", residents
            )
        income = raw.get("income", INCOME.default)
        if income is not None and (not isinstance(income, str) or not income.strip()):
            raise fail("variables.income must name a covariate, or be null when the store has none", income)
        direction = raw.get("income_direction", "higher")
        if direction not in DIRECTIONS:
            raise fail(f"variables.income_direction must be one of {list(DIRECTIONS)}", direction)
        return cls(residents.strip(), None if income is None else income.strip(), str(direction))

    def to_dict(self) -> dict[str, str | None]:
        """Plain form for the audit record."""
        return {"residents": self.residents, "income": self.income, "income_direction": self.income_direction}


def has_variable(covariates: pd.DataFrame | None, name: str | None) -> bool:
    """Whether ``covariates`` (long canonical) hold any row of variable ``name``."""
    return name is not None and covariates is not None and bool((covariates["variable"] == name).any())


def missing_variable(covariates: pd.DataFrame | None, role: VariableRole, name: str) -> SchemaError:
    """The error for a role whose variable the covariates lack: the role, what is present, how to fix."""
    present = [] if covariates is None else sorted(map(str, covariates["variable"].unique()))
    shown = ", ".join(present[:12]) + (f" and {len(present) - 12} more" if len(present) > 12 else "")
    return SchemaError(
        f"the covariates hold no '{name}', the {role.role} variable ({role.meaning}) needed by {role.needed_by}; "
        f"they hold: {shown or 'no variables'}",
        where=Location(file="covariates", column="variable", value=name),
        fix=f"import {name} for the areas, or name the covariate that holds the {role.role} in the audit "
        f"policy (variables: {role.role}: NAME) and pass it with --policy",
    )


ORIGIN_ATTRIBUTES: Final[dict[str, str]] = {
    "WestersTotaal": "migration_western_share_2019def",
    "NietWestersTotaal": "migration_non_western_share_2019def",
    "Nederland": "origin_netherlands_share_2023def",
    "EuropaExclusiefNederland": "migration_europe_share_2023def",
    "BuitenEuropa": "migration_outside_europe_share_2023def",
}
"""CBS origin measures (audit-only, stored in ``protected``) by exact CBS key stem, and the attribute name the
CBS connector stores each under; the suffix names the definition it follows (``2019def`` up to 2022,
``2023def`` from 2023). The audit reads these names to guard the 2022/2023 definition break."""
