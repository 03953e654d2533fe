"""The canonical tables: column order, logical types, keys. Every other module imports names from here.

Logical types: ``str``, ``date`` (ISO ``YYYY-MM-DD``), ``timestamp`` (ISO ``YYYY-MM-DDTHH:MM:SS``),
``int`` (non-negative unless noted), ``float``, ``wkt`` (geometry as WKT in EPSG:28992), ``json``.
In pandas frames ``date``/``timestamp`` are ``datetime64[ns]``, ``int`` is ``int64``, ``str``/``wkt``/``json``
are Python strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pulsetwin.schema.periods import Freq

CRS_EPSG: Final = 28992
CRS_NAME: Final = "EPSG:28992"
FREQS: Final = tuple(freq.value for freq in Freq)
"""The canonical freq letters, as stored (see :class:`~pulsetwin.schema.periods.Freq`)."""
AREA_LEVELS: Final = ("gemeente", "wijk", "buurt", "cell")


@dataclass(frozen=True)
class TableSpec:
    """One canonical table: ordered columns with logical types, the key, and whether models may read it."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    model_readable: bool = True
    optional: tuple[str, ...] = ()

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns an imported file must carry (optional ones get their documented default)."""
        return tuple(c for c in self.column_names if c not in self.optional)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in canonical order."""
        return tuple(name for name, _ in self.columns)

    @property
    def types(self) -> dict[str, str]:
        """Map column name to logical type."""
        return dict(self.columns)

    @property
    def value_columns(self) -> tuple[str, ...]:
        """Columns outside the key: a re-import with the same key but other values here is a conflict."""
        return tuple(c for c in self.column_names if c not in self.key)


AREAS: Final = TableSpec(
    "areas",
    (("area_code", "str"), ("name", "str"), ("level", "str"), ("parent_code", "str"), ("geometry", "wkt")),
    key=("area_code",),
)
COVARIATES: Final = TableSpec(
    "covariates",
    (("area_code", "str"), ("year", "int"), ("variable", "str"), ("value", "float")),
    key=("area_code", "year", "variable"),
)
INCIDENTS: Final = TableSpec(
    "incidents",
    (
        ("area_code", "str"),
        ("period_start", "date"),
        ("freq", "str"),
        ("category", "str"),
        ("count", "int"),
        ("source", "str"),
    ),
    key=("area_code", "period_start", "freq", "category", "source"),
)
EVENTS: Final = TableSpec(
    "events",
    (
        ("event_id", "str"),
        ("category", "str"),
        ("occurred_at", "timestamp"),
        ("x", "float"),
        ("y", "float"),
        ("source", "str"),
    ),
    key=("event_id",),
)
PROTECTED: Final = TableSpec(
    "protected",
    (("area_code", "str"), ("year", "int"), ("attribute", "str"), ("value", "float")),
    key=("area_code", "year", "attribute"),
    model_readable=False,
)
FORECASTS: Final = TableSpec(
    "forecasts",
    (
        ("run_id", "str"),
        ("model", "str"),
        ("area_code", "str"),
        ("category", "str"),
        ("period_start", "date"),
        ("mean", "float"),
        ("q05", "float"),
        ("q50", "float"),
        ("q95", "float"),
    ),
    key=("run_id", "model", "area_code", "category", "period_start"),
)
TRUTH: Final = TableSpec(
    "truth",
    (
        ("area_code", "str"),
        ("category", "str"),
        ("period_start", "date"),
        ("intensity", "float"),
        ("freq", "str"),
        ("offence_intensity", "float"),
    ),
    key=("area_code", "category", "period_start", "freq"),
    optional=("freq", "offence_intensity"),
)
"""Twin only. ``intensity`` is the expected *recorded* count in the period (the oracle for forecasts of
incidents); ``offence_intensity`` the expected count of offences that happened, recorded or not. ``freq`` is
inferred on import when absent (all Mondays: W; all month starts: M)."""
LOG: Final = TableSpec(
    "log",
    (
        ("seq", "int"),
        ("at", "timestamp"),
        ("actor", "str"),
        ("action", "str"),
        ("subject", "str"),
        ("detail_json", "json"),
        ("prev_hash", "str"),
        ("hash", "str"),
    ),
    key=("seq",),
)

TABLES: Final[dict[str, TableSpec]] = {
    spec.name: spec for spec in (AREAS, COVARIATES, INCIDENTS, EVENTS, PROTECTED, FORECASTS, TRUTH, LOG)
}
IMPORTABLE: Final = ("areas", "covariates", "incidents", "events", "protected", "forecasts", "truth")
FORECAST_LABELS: Final = ("area_name", "category_label", "skill_status", "release_status")
DRIVER_GROUPS: Final = ("season", "trend", "recent", "neighbours")
"""Why a forecast differs from the area's usual level: the driver groups a model splits its change into, one
count column each in the stored explanations."""
"""Columns a forecast export adds after the canonical ones for its readers. They are derived from the store, so
an import of an exported forecast file accepts and drops them (the round trip needs no ``--canonical``)."""


def table_spec(name: str) -> TableSpec:
    """Return the spec of a canonical table, or raise a SchemaError that lists the known tables."""
    from pulsetwin.exceptions import SchemaError

    try:
        return TABLES[name]
    except KeyError:
        raise SchemaError(
            f"unknown table '{name}'; expected one of {', '.join(TABLES)}",
            fix="use a canonical table name",
        ) from None
