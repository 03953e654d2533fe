"""What clients send: bodies and query filters, validated before any service runs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

REASON_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]*$"
"""No control characters but tab and newlines, and no bidirectional overrides or isolates: a reason is shown
and logged as written, and such characters could hide or reorder what a reader sees (Trojan Source)."""
Reason = Annotated[
    str,
    Field(
        min_length=5,
        max_length=2000,
        pattern=REASON_PATTERN,
        description="Why: at least 5 characters; no control characters (but tab and newline), no bidi overrides.",
    ),
]


class Paging(BaseModel):
    """Pagination of a list: ``limit`` items from ``offset``."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, ge=1, le=1000, description="Items per page.")
    offset: int = Field(0, ge=0, le=10_000_000, description="Items to skip.")


class LoginIn(BaseModel):
    """A login."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class AreaFilter(Paging):
    """Which areas to list, and in which coordinates."""

    level: Literal["gemeente", "wijk", "buurt", "cell"] | None = Field(None, description="Area level.")
    crs: Literal["EPSG:28992", "EPSG:4326"] = Field(
        "EPSG:28992", description="Coordinates in RD New (as stored) or WGS84 (lon, lat) for web maps."
    )
    limit: int = Field(1000, ge=1, le=20000, description="Items per page.")


class HistoryFilter(BaseModel):
    """Which recorded counts of one area to show (``freq`` left out: the store's only frequency)."""

    model_config = ConfigDict(extra="forbid")

    freq: Literal["W", "M"] | None = None
    category: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")


class RunFilter(Paging):
    """Which runs to list."""

    kind: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[a-z_]+$")


class ForecastFilter(Paging):
    """Which forecast rows to show: one run, optionally one category, period and area."""

    run_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    category: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    period_start: date | None = None
    area_code: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")


class AreaForecastFilter(BaseModel):
    """One area's forecast within a run, for one category."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")


class LogFilter(Paging):
    """Which log records to list (newest first)."""

    action: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[a-z_]+$")


class DecisionFilter(Paging):
    """Which decisions to list."""

    run_id: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    area_code: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")


class DecisionIn(BaseModel):
    """A human decision on a flagged area of a run; the reason is mandatory."""

    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    area_code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    action: Literal["accept", "reject", "annotate"]
    reason: Reason


class KillSwitchIn(BaseModel):
    """Stop serving the forecasts of a run."""

    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    reason: Reason


class LiftIn(BaseModel):
    """Serve a run's forecasts again."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
