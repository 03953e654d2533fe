"""What the API answers: explicit models, so the OpenAPI document states every field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, Field

T = TypeVar("T")


def _as_utc(value: datetime) -> datetime:
    """Stored timestamps are UTC without an offset (DuckDB TIMESTAMP): attach it, so clients read them right."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Timestamp = Annotated[datetime, AfterValidator(_as_utc)]
"""A moment, always sent with its offset (UTC, ``Z``), as RFC 3339 ``date-time`` requires."""


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    """The one error body."""

    error: ErrorDetail


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total count."""

    items: list[T]
    total: int
    limit: int
    offset: int


class HealthOut(BaseModel):
    """Server status (no login needed)."""

    status: Literal["ok"]
    version: str
    demo: bool
    background_url: str | None = Field(
        None, description="WMS URL template of an optional background map (RD New); None: nothing fetched."
    )


class UserOut(BaseModel):
    """A user (never the password hash)."""

    username: str
    role: str
    created_at: Timestamp


class TokenOut(BaseModel):
    """A bearer token."""

    access_token: str
    token_type: Literal["bearer"]
    expires_at: Timestamp
    user: UserOut


class Geometry(BaseModel):
    """A GeoJSON geometry."""

    type: str
    coordinates: Any


class AreaProperties(BaseModel):
    """Attributes of an area."""

    area_code: str
    name: str | None
    level: str
    parent_code: str


class AreaFeature(BaseModel):
    """A GeoJSON feature for one area."""

    type: Literal["Feature"]
    id: str
    properties: AreaProperties
    geometry: Geometry | None


class AreaCollection(BaseModel):
    """A GeoJSON FeatureCollection with pagination members and its coordinate system."""

    type: Literal["FeatureCollection"]
    crs: str
    bbox: list[float] | None
    features: list[AreaFeature]
    total: int
    limit: int
    offset: int


class HistoryPoint(BaseModel):
    """Recorded count in one period (``count`` missing when withheld)."""

    period_start: date
    count: int | None


class HistoryOut(BaseModel):
    """Recorded counts of one area."""

    area_code: str
    freq: str
    category: str | None
    points: list[HistoryPoint]


class ProtectedValue(BaseModel):
    """One protected attribute (auditors only)."""

    year: int
    attribute: str
    value: float


class ProtectedOut(BaseModel):
    """Protected attributes of one area."""

    area_code: str
    values: list[ProtectedValue]


class RunOut(BaseModel):
    """A run (forecast, backtest, audit, scenario)."""

    run_id: str
    created_at: Timestamp
    kind: str
    model: str | None
    status: str
    origin: date | None
    freq: str | None
    horizon: int | None
    data_hash: str | None
    code_version: str | None
    withdrawn: bool


class Vintage(BaseModel):
    """How old the data behind a forecast is."""

    data_until: date | None = Field(description="Last period of data the run could use.")
    imported_at: Timestamp | None = Field(description="Latest import into the store.")
    run_created_at: Timestamp


class SkillStatusOut(BaseModel):
    """Whether the run's model beats the best naive rule (``beats`` / ``does_not`` / ``cannot_assess``)."""

    state: Literal["beats", "does_not", "cannot_assess"]
    model: str | None
    baseline: str | None
    skill: float | None
    skill_lo: float | None
    skill_hi: float | None
    level: float | None
    sentence: str = Field(description="One sentence in the requested language.")


class ReleaseStatusOut(BaseModel):
    """Whether the audit lets the forecast out (``released`` / ``blocked`` / ``cannot_assess`` /
    ``not_audited``), with the blocking finding and the audit run that found it."""

    state: Literal["released", "blocked", "cannot_assess", "not_audited"]
    audit_run: str | None
    finding_code: str | None
    finding_nl: str | None
    finding_en: str | None
    sentence: str = Field(description="One sentence in the requested language.")


class RunStatuses(BaseModel):
    """The two statuses of a forecast run, each with its own sentence."""

    skill: SkillStatusOut
    release: ReleaseStatusOut


class CategoryLabel(BaseModel):
    """A category slug with its vocabulary names."""

    slug: str
    nl: str
    en: str


class RunDetail(RunOut):
    """A run with what it forecasts."""

    categories: list[str]
    periods: list[date]
    vintage: Vintage
    metrics: dict[str, Any]
    statuses: RunStatuses | None = Field(None, description="Skill and release status (forecast runs).")
    category_labels: list[CategoryLabel] = Field(default_factory=list)


class ForecastRow(BaseModel):
    """One forecast with its 90 % interval."""

    area_code: str
    area_name: str | None
    category: str
    period_start: date
    mean: float
    q05: float
    q50: float
    q95: float
    flagged: bool = Field(
        description="Among the top tenth of areas by forecast mean in its category and period."
    )


class ForecastPage(Page[ForecastRow]):
    """Forecast rows of a run, with the model, run status and data vintage."""

    run_id: str
    model: str | None
    status: str
    vintage: Vintage


class ModelExplanation(BaseModel):
    """The forecasting model's own reasons for the first forecast period: how far the forecast ``mean`` lies
    from the area's ``usual`` level, split into count contributions per driver (they add up to
    ``mean - usual``), and one sentence naming the main drivers in ``lang``."""

    period_start: date
    mean: float
    usual: float
    drivers: dict[str, float]
    text: str
    lang: Literal["nl", "en"]


class Explanation(BaseModel):
    """Numbers for a one-sentence explanation. ``source`` ``model``: ``model`` holds the model's drivers.
    ``recent_history``: the model has none (naive baselines), so only the comparison of the forecast with the
    mean of the recent record is given; it is based on recent history, not on the model's drivers."""

    source: Literal["model", "recent_history"]
    direction: Literal["up", "down", "flat"]
    forecast_mean: float
    recent_mean: float | None
    recent_periods: int
    first_period: date
    model: ModelExplanation | None


class DecisionOut(BaseModel):
    """A recorded human decision."""

    decision_id: int
    at: Timestamp
    actor: str
    run_id: str
    area_code: str
    action: str
    reason: str
    log_seq: int


class AreaForecastOut(BaseModel):
    """One area in one run: the forecast band, the record before it, the explanation and decisions."""

    run_id: str
    model: str | None
    status: str
    area_code: str
    area_name: str | None
    category: str
    flagged: bool
    vintage: Vintage
    forecast: list[ForecastRow]
    history: list[HistoryPoint]
    explanation: Explanation
    decisions: list[DecisionOut]
    statuses: RunStatuses | None = None


class ModelEvidence(BaseModel):
    """Backtest scores of one model (pooled over folds) with skill against the best naive baseline."""

    model: str
    label: str = Field("", description="Plain name of the model in the requested language (code in `model`).")
    naive: bool
    skill: float | None
    skill_lo: float | None
    skill_hi: float | None
    deviance: float | None
    mae: float | None
    wis: float | None
    coverage90: float | None
    below_q05: float | None
    below_q50: float | None
    below_q95: float | None
    pai: dict[str, float | None] = Field(description="PAI by area fraction in percent, e.g. {'3': 2.1}.")
    gap_share: float | None
    below_q05_strict: float | None = Field(None, description="Share of outcomes strictly below q05.")
    below_q50_strict: float | None = None
    below_q95_strict: float | None = None
    pit_match: float | None = Field(
        None, description="Share of cells whose quantiles the PIT's NB reproduces."
    )
    pit: list[float | None] = Field(
        default_factory=list, description="Mean PIT mass per tenth of [0, 1] (flat at 0.1 when calibrated)."
    )


class EvidenceOut(BaseModel):
    """The evidence behind a run."""

    run_id: str
    status: str
    baseline: str | None
    baseline_label: str = Field(
        "–", description="Plain name of the best naive rule in the requested language."
    )
    level: float | None
    folds: list[str]
    models: list[ModelEvidence]
    skill_by_category: list[dict[str, Any]]
    statuses: RunStatuses | None = None


class ResultOut(BaseModel):
    """A stored result (audit, feedback loop, scenario): its source and its JSON payload."""

    result_id: str
    kind: str
    source: Literal["run", "document"]
    created_at: Timestamp | None
    status: str | None
    payload: dict[str, Any]


class LogRecordOut(BaseModel):
    """One record of the hash-chained log."""

    seq: int
    at: Timestamp
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    digests: dict[str, Any] = {}
    prev_hash: str
    hash: str


class LogVerificationOut(BaseModel):
    """Result of checking the chain and the anchors kept outside the store.

    Records up to ``anchored_seq`` are verified against an anchor; the ``unanchored`` ones after it are
    covered by the in-store chain only. ``late`` lists the records ``[first, last]`` an anchor names as
    committed without an anchor (a forgery, or a crash between commit and anchoring): covered by an anchor,
    but not verified; inspect them. ``verified_from`` is the record this check started after (checks are
    incremental).
    """

    ok: bool
    n_records: int
    first_bad_seq: int | None
    reason: str
    anchored_seq: int = 0
    unanchored: int = 0
    verified_from: int = 0
    anchor_file: str | None = None
    late: list[list[int]] = []


class LogHeadOut(BaseModel):
    """The newest record of the chain: what an oversight body keeps outside the store to detect rewrites."""

    seq: int
    hash: str


class DocumentOut(BaseModel):
    """A generated document."""

    name: str
    size: int
    modified: Timestamp
    media_type: str


class KillSwitchOut(BaseModel):
    """A withdrawn run."""

    run_id: str
    at: Timestamp
    actor: str
    reason: str
    log_seq: int


class AuditSummaryOut(BaseModel):
    """The latest audit of a forecast run in words (``lang``) and the exposure numbers for a chart."""

    audit_run: str
    forecast_run: str | None
    created_at: datetime
    lang: Literal["nl", "en"]
    verdict: str
    headline: str
    blocking: list[str]
    unassessed: list[str]
    disparity: list[str]
    proxies: list[str]
    measurement: list[str]
    mitigation: list[str]
    exposure: list[dict[str, Any]]


class HotspotCell(BaseModel):
    """One grid cell of a hotspot map: code, lower-left corner (RD metres), expected events and rank."""

    cell_code: str
    x_min: float
    y_min: float
    mean: float
    rank: int


class HotspotsOut(BaseModel):
    """The latest hotspot map: window, model and its highest-ranked cells."""

    run_id: str
    model: str | None
    origin: str
    window_days: int | None
    cell_m: float | None
    categories: list[str]
    category_labels: list[CategoryLabel]
    n_cells: int | None
    cells: list[HotspotCell]


class TrialSummaryOut(BaseModel):
    """A registered field trial (its latest pre-registered version) and whether that version was analysed."""

    trial_id: str
    version: int
    registered_at: Timestamp
    registration_seq: int = Field(description="Log record of the pre-registration.")
    design_type: Literal["cluster", "stepped_wedge", "crossover"]
    units: int = Field(description="Eligible buurten.")
    power: float = Field(description="Simulated power for the rate ratio ``effect``.")
    power_target: float
    effect: float = Field(description="The rate ratio the trial is powered for.")
    status: Literal["registered", "analysed"]


class TrialAllocationOut(BaseModel):
    """How many randomised units (buurten, or buurt-periods in a crossover) are in each arm."""

    units: int
    treated: int
    control: int
    treated_buurten: int
    control_buurten: int


class RateRatioOut(BaseModel):
    """Treated-vs-control rate ratio relative to the forecast, with its ``level`` interval."""

    estimate: float
    lower: float
    upper: float
    level: float
    units_used: int


class ArmTotals(BaseModel):
    """A count per arm, summed over the analysed periods."""

    treated: float
    control: float


class TrialResultOut(BaseModel):
    """The latest logged analysis of the registered version: effect, test, displacement and deviations."""

    analysed_at: Timestamp
    analysis_seq: int = Field(description="Log record of the analysis.")
    outcome: str
    rate_ratio: RateRatioOut
    p_value: float = Field(description="Randomisation-inference p-value (two-sided).")
    alpha: float
    observed: ArmTotals
    expected: ArmTotals
    wdq: float | None = Field(description="Weighted Displacement Quotient; None when not interpretable.")
    displacement_p_value: float | None
    displacement_reading: str
    deviations: list[str] = Field(description="Every deviation from the pre-registration, none hidden.")
    sentence: str


class TrialOut(TrialSummaryOut):
    """A trial's pre-registration summary, its allocation counts and its latest analysis (None before one)."""

    registration_sha256: str
    allocation_sha256: str
    hypothesis: str
    intervention: str
    intervention_kind: Literal["benefit", "enforcement"]
    run_id: str
    freq: str
    periods: list[date]
    primary_outcome: str
    secondary_outcomes: list[str]
    alpha: float
    mde: float | None = Field(description="Minimum detectable rate ratio at the target power.")
    blocks: int
    allocation: TrialAllocationOut
    result: TrialResultOut | None
