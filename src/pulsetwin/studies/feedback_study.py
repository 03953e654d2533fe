"""The runaway feedback loop on the heerlen twin, with the project's own forecasting model in the loop.

The twin's true weekly offence rates of a police-initiated category (default ``drugs``) drive the closed loop
of :mod:`pulsetwin.studies.loop` over the last ``weeks`` weeks of the truth table. The incidents recorded in the
weeks before are the history every learner starts from: they were recorded under the twin's own patrol
pattern, which favours deprived and central buurten. Every ``refit_every`` weeks a registered model (default
``glm``) is refitted on that history plus what the loop has recorded; the policy turns its forecast into a
patrol budget of ``k`` units (proportional, or top-k); the record gains citizen reports everywhere and
discoveries where patrols went. Three arms run on the same random numbers:

* ``naive``: the model learns from every recorded incident (the runaway loop);
* ``ipw``: discovered incidents are weighted by 1 / propensity (the correction; under ``top_k`` with
  ε-exploration so every buurt keeps a positive propensity);
* ``reported_only``: the model learns from citizen reports alone.

Per week (mean and 5-95 % band over runs): ``misallocation`` (total-variation distance between patrol shares
and true-crime shares of that week), ``patrol_gini`` (concentration of the patrol accumulated so far),
``lock_in`` (Jaccard of consecutive flagged sets), ``exposure_disparity`` (patrol exposure of residents of
the audited group against everyone else; the protected attribute is audit-only and never reaches the model)
and ``forecast_gap`` (total-variation distance between forecast shares and true shares). The ``oracle`` arm,
the policy applied to the true rates, is the reference.

Notes
-----
Ensign et al. (2018), Runaway feedback loops in predictive policing; Lum & Isaac (2016), To predict and serve?
"""

from __future__ import annotations

import inspect
import math
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from pulsetwin.exceptions import Location, SchemaError, bad_parameter
from pulsetwin.executor import map_tasks
from pulsetwin.metrics.allocation import exposure_disparity, gini, lock_in, misallocation
from pulsetwin.models.registry import MODELS, make_model
from pulsetwin.schema.params import Integer, Number, check_param
from pulsetwin.schema.variables import RESIDENTS
from pulsetwin.store.runs import RunKind
from pulsetwin.studies.loop import Learner, ModelForecaster, simulate_loop
from pulsetwin.studies.policies import Policy, flag_top, proportional_capped
from pulsetwin.twin.parameters import MIGRATION_ATTRIBUTE

if TYPE_CHECKING:
    from pulsetwin.store.database import Store
    from pulsetwin.store.runs import RunRecord

ARMS: Final[dict[str, Learner]] = {"naive": "naive", "ipw": "ipw", "reported_only": "reported_only"}
POLICIES: Final = ("proportional", "top_k")
SERIES: Final = ("misallocation", "patrol_gini", "lock_in", "exposure_disparity", "forecast_gap")
POPULATION_VARIABLE: Final = RESIDENTS.default
MIN_HISTORY: Final = 13
"""Weeks of recorded history the learners need before the loop starts (the model's longest own-count
window)."""


@dataclass(frozen=True)
class StudySettings:
    """What the study simulates.

    Parameters
    ----------
    category
        Category of the truth and incidents tables; a police-initiated one shows the loop most clearly.
    weeks
        Length of the loop: the last ``weeks`` weeks of the truth table.
    runs, seed
        Monte-Carlo runs per arm (paired over arms) and the root seed.
    k
        Patrol budget: buurten patrolled per week.
    epsilon
        Exploration probability of the ``ipw`` arm.
    report_rate, discovery_rate
        Recorded citizen reports per offence, and recorded discoveries per offence in a patrolled buurt. The
        defaults record about 9 % of drug offences under a 10 % patrol, the twin's mean detection probability.
    model
        Registered model name refitted in the loop (``glm``, ``lgbm``, ``naive_hist``, ...); models with a
        ``spatial`` option run without it (the loop has no geometry).
    refit_every
        Weeks between refits (default 4, a monthly patrol plan; weekly refits quadruple the runtime); the
        forecast of the last fit steers the weeks in between.
    policy
        ``proportional`` (default): patrol spread in proportion to the forecast, capped at 1 per buurt (the
        policy of Ensign's urn: patrol shares can match crime shares, so misallocation measures the loop);
        ``top_k``: the ``k`` highest forecasts, with ε-exploration in the ``ipw`` arm.
    """

    category: str = "drugs"
    weeks: int = 52
    runs: int = 4
    seed: int = 0
    k: int = 9
    epsilon: float = 0.2
    report_rate: float = 0.03
    discovery_rate: float = 0.3
    model: str = "glm"
    refit_every: int = 4
    policy: str = "proportional"

    def __post_init__(self) -> None:
        for name in ("weeks", "runs", "k", "refit_every"):
            check_param(name, "StudySettings", Integer(low=1, say="a positive integer"), getattr(self, name))
        check_param("seed", "StudySettings", Integer(low=0), self.seed)
        if self.policy not in POLICIES:
            raise bad_parameter("policy", "StudySettings", f"one of {', '.join(POLICIES)}", self.policy)
        check_param("epsilon", "StudySettings", Number(low=0.0, high=1.0, closed="right"), self.epsilon)
        for name in ("report_rate", "discovery_rate"):
            check_param(name, "StudySettings", Number(), getattr(self, name))
        if not (0 <= self.report_rate <= 1 and 0 < self.discovery_rate <= 1):
            raise bad_parameter(
                "report_rate", "StudySettings", "report_rate in [0, 1] and discovery_rate in (0, 1]",
                (self.report_rate, self.discovery_rate),
            )  # fmt: skip
        if self.model not in MODELS:
            raise bad_parameter("model", "StudySettings", f"one of {', '.join(sorted(MODELS))}", self.model)


@dataclass(frozen=True)
class StudyData:
    """The arrays the study runs on, one column per buurt in ``codes`` order.

    ``true_rates`` ``(weeks, areas)`` are expected offences per week of the loop weeks ``weeks``; ``history``
    ``(history weeks, areas)`` the recorded counts of the weeks before, from ``history_start``;
    ``population`` the residents and ``group_share`` the audited group's share per buurt (audit-only).
    """

    codes: tuple[str, ...]
    weeks: pd.DatetimeIndex
    true_rates: np.ndarray
    history: np.ndarray
    history_start: pd.Timestamp
    population: np.ndarray
    group_share: np.ndarray


@dataclass(frozen=True)
class FeedbackStudy:
    """The result: weekly series per arm and metric, and end-of-loop values.

    Attributes
    ----------
    series
        ``arm, week, metric, mean, q05, q95`` (for ``oracle`` the band is the mean: it is not random).
    summary
        ``arm, metric, value``: the mean over runs and over the last quarter of the loop.
    """

    settings: StudySettings
    attribute: str
    series: pd.DataFrame
    summary: pd.DataFrame

    def final(self, arm: str, metric: str) -> float:
        """The end-of-loop value of ``metric`` for ``arm``."""
        rows = self.summary[(self.summary["arm"] == arm) & (self.summary["metric"] == metric)]
        if rows.empty:
            raise bad_parameter("arm", "FeedbackStudy.final", "an arm and metric of the study", (arm, metric))
        return float(rows["value"].iloc[0])

    def payload(self) -> dict[str, Any]:
        """JSON-ready form (the ``metrics`` of the stored run): weeks, and per arm and metric the series."""
        weeks = sorted(self.series["week"].unique())
        arms: dict[str, dict[str, dict[str, list[float | None]]]] = {}
        for (arm, metric), rows in self.series.groupby(["arm", "metric"], sort=False):
            rows = rows.set_index("week").reindex(weeks)
            arms.setdefault(str(arm), {})[str(metric)] = {
                column: [_plain(v) for v in rows[column]] for column in ("mean", "q05", "q95")
            }
        return {
            "category": self.settings.category,
            "attribute": self.attribute,
            "weeks": [pd.Timestamp(w).date().isoformat() for w in weeks],
            "arms": arms,
            "summary": {
                str(arm): {str(r.metric): _plain(r.value) for r in rows.itertuples()}
                for arm, rows in self.summary.groupby("arm", sort=False)
            },
            "settings": asdict(self.settings),
        }


@dataclass(eq=False)
class RefittingForecaster:
    """A loop forecaster that prepends a fixed recorded history and refits a model every ``refit_every`` weeks.

    The loop's first history row is the last week of ``history``; ``prefix`` holds the weeks before it.
    Between refits the forecast of the last fit is held (a patrol plan for ``refit_every`` weeks).
    """

    inner: ModelForecaster
    prefix: np.ndarray
    refit_every: int = 1
    _held: np.ndarray | None = field(default=None, init=False, repr=False)

    def __call__(self, history_counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The forecast ``(runs, areas)`` for the week after ``history_counts`` ``(runs, periods, areas)``."""
        if self._held is None or (history_counts.shape[1] - 1) % self.refit_every == 0:
            prefix = np.broadcast_to(self.prefix, (history_counts.shape[0], *self.prefix.shape))
            self._held = self.inner(
                np.concatenate([prefix, history_counts], axis=1),
                np.concatenate([np.ones(prefix.shape), weights], axis=1),
            )
        return self._held


@dataclass(frozen=True)
class ArmTask:
    """One arm and one run: a picklable task for :func:`pulsetwin.executor.map_tasks`."""

    data: StudyData
    settings: StudySettings
    arm: str
    seed: np.random.SeedSequence


def study_data(
    truth: pd.DataFrame,
    incidents: pd.DataFrame,
    covariates: pd.DataFrame,
    protected: pd.DataFrame,
    *,
    category: str,
    weeks: int,
    attribute: str = MIGRATION_ATTRIBUTE,
    population: str = POPULATION_VARIABLE,
) -> StudyData:
    """Gather the study's arrays from canonical frames (a twin's truth, incidents, covariates, protected).

    The loop runs over the last ``weeks`` weekly truth periods (``offence_intensity``); the recorded weekly
    counts of the category before them (sources summed, a missing row is no recorded incident) are the history.
    ``protected`` is read for the exposure audit only.
    """
    rows = truth[(truth["category"] == category) & (truth["freq"] == "W")]
    if rows.empty or rows["offence_intensity"].isna().all():
        raise SchemaError(
            f"weekly truth rows with offence_intensity for category '{category}' (a twin store)",
            where=Location(column="truth.category", value=category),
            fix="generate a twin with `pulsetwin twin generate`, or choose a category the truth holds",
        )
    rates = rows.pivot_table(index="period_start", columns="area_code", values="offence_intensity")
    if rates.isna().any().any():
        week, area = np.argwhere(rates.isna().to_numpy())[0]
        raise SchemaError(
            "an offence_intensity for every buurt and week",
            where=Location(
                column="truth.offence_intensity",
                value=f"{rates.columns[area]} {pd.Timestamp(rates.index[week]).date()}",
            ),
        )
    if weeks + MIN_HISTORY > len(rates):
        raise bad_parameter(
            "weeks", "study_data",
            f"at most {len(rates) - MIN_HISTORY} (the truth holds {len(rates)} weeks and the learners need "
            f"{MIN_HISTORY} weeks of history)", weeks,
        )  # fmt: skip
    codes = rates.columns.astype(str).tolist()
    loop_weeks = pd.DatetimeIndex(rates.index[-weeks:])
    past = rates.index[:-weeks]
    chosen = incidents[
        (incidents["category"] == category)
        & (incidents["freq"] == "W")
        & incidents["period_start"].isin(past)
    ]
    if chosen["count"].isna().any():
        bad = chosen[chosen["count"].isna()].iloc[0]
        raise SchemaError(
            "known recorded counts in the history weeks",
            where=Location(column="incidents.count", value=f"{bad['area_code']} {bad['period_start']}"),
            fix="use a store without withheld counts (a twin store)",
        )
    history = (
        chosen.groupby(["period_start", "area_code"])["count"].sum().unstack(fill_value=0)
        .reindex(index=past, columns=codes, fill_value=0)
    )  # fmt: skip
    return StudyData(
        codes=tuple(codes),
        weeks=loop_weeks,
        true_rates=rates.to_numpy(dtype=float)[-weeks:],
        history=history.to_numpy(dtype=float),
        history_start=pd.Timestamp(past[0]),
        population=_latest(covariates, "variable", population, codes, "covariates"),
        group_share=_latest(protected, "attribute", attribute, codes, "protected"),
    )


def run_study(
    data: StudyData,
    settings: StudySettings,
    *,
    attribute: str = MIGRATION_ATTRIBUTE,
    scheduler: str = "serial",
) -> FeedbackStudy:
    """Run every arm ``settings.runs`` times (paired seeds over arms) through :func:`map_tasks`.

    The result depends on ``data`` and ``settings`` only, not on ``scheduler``.
    """
    if settings.k >= len(data.codes):
        raise bad_parameter("k", "run_study", f"fewer than the {len(data.codes)} buurten", settings.k)
    if settings.weeks != len(data.weeks):
        raise bad_parameter("weeks", "run_study", f"the {len(data.weeks)} weeks of the data", settings.weeks)
    seeds = np.random.SeedSequence(settings.seed).spawn(settings.runs)
    tasks = [ArmTask(data, settings, arm, seed) for arm in ARMS for seed in seeds]
    parts = map_tasks(simulate_arm, tasks, scheduler=scheduler)
    runs = settings.runs
    frames = [
        _series(
            arm,
            data.weeks,
            {m: np.concatenate([p[m] for p in parts[j * runs : (j + 1) * runs]]) for m in SERIES},
        )
        for j, arm in enumerate(ARMS)
    ]
    oracle = {m: v[None] for m, v in oracle_metrics(data, settings).items()}
    frames.append(_series("oracle", data.weeks, oracle))
    series = pd.concat(frames, ignore_index=True)
    tail = data.weeks[-max(1, len(data.weeks) // 4) :]
    summary = (
        series[series["week"].isin(tail)].groupby(["arm", "metric"], sort=False)["mean"].mean()
        .rename("value").reset_index()
    )  # fmt: skip
    return FeedbackStudy(settings=settings, attribute=attribute, series=series, summary=summary)


def simulate_arm(task: ArmTask) -> dict[str, np.ndarray]:
    """Run one arm for one run and return its weekly metrics, each ``(1, weeks)``."""
    data, settings = task.data, task.settings
    learner = ARMS[task.arm]
    if settings.policy == "proportional":
        policy = Policy("proportional", settings.k)
    elif learner == "ipw":
        policy = Policy("top_k_explore", settings.k, settings.epsilon)
    else:
        policy = Policy("top_k", settings.k)
    model_class = MODELS[settings.model]
    params = {"spatial": False} if "spatial" in inspect.signature(model_class.__init__).parameters else {}
    forecaster = RefittingForecaster(
        ModelForecaster(
            make_model=partial(make_model, settings.model, **params),
            area_codes=data.codes,
            start=data.history_start,
            category=settings.category,
        ),
        prefix=data.history[:-1],
        refit_every=settings.refit_every,
    )
    result = simulate_loop(
        data.true_rates[None],
        periods=settings.weeks,
        policy=policy,
        learner=learner,
        report_rate=settings.report_rate,
        discovery_rate=settings.discovery_rate,
        prior_counts=data.history[-1],
        forecaster=forecaster,
        seed=task.seed,
    )
    rates = result.offence_rate
    return {
        "misallocation": misallocation(result.allocation, rates),
        "patrol_gini": gini(np.cumsum(result.allocation, axis=1)),
        "lock_in": np.pad(lock_in(result.flagged), ((0, 0), (1, 0)), constant_values=np.nan),
        "exposure_disparity": exposure_disparity(result.allocation, data.population, data.group_share),
        "forecast_gap": misallocation(result.forecasts, rates),
    }


def oracle_metrics(data: StudyData, settings: StudySettings) -> dict[str, np.ndarray]:
    """The reference: each week the policy applied to the true rates (top-k ties broken by a fixed seed)."""
    if settings.policy == "proportional":
        patrol = proportional_capped(data.true_rates, float(settings.k))
    else:
        patrol = flag_top(data.true_rates, settings.k, np.random.default_rng(settings.seed))
    return {
        "misallocation": misallocation(patrol, data.true_rates),
        "patrol_gini": gini(np.cumsum(patrol, axis=0)),
        "exposure_disparity": exposure_disparity(patrol, data.population, data.group_share),
    }


def save_study(store: Store, study: FeedbackStudy, *, actor: str = "cli") -> RunRecord:
    """Record the study as a run of kind ``feedback_loop`` whose metrics hold the weekly series."""
    payload = study.payload()
    return store.save_run(
        RunKind.FEEDBACK_LOOP,
        model=study.settings.model,
        params=asdict(study.settings),
        metrics=payload,
        origin=pd.Timestamp(payload["weeks"][0]),
        freq="W",
        horizon=study.settings.weeks,
        actor=actor,
    )


def _series(arm: str, weeks: pd.DatetimeIndex, metrics: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long frame of the per-week mean and 5-95 % band over runs; weeks without a value are left out."""
    frames = []
    for metric, values in metrics.items():
        known = ~np.isnan(values).all(axis=0)
        kept = values[:, known]
        q05, q95 = np.nanquantile(kept, [0.05, 0.95], axis=0)
        frames.append(
            pd.DataFrame(
                {"arm": arm, "week": weeks[known], "metric": metric, "mean": np.nanmean(kept, axis=0),
                 "q05": q05, "q95": q95}
            )
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _latest(frame: pd.DataFrame, key: str, name: str, codes: list[str], table: str) -> np.ndarray:
    """The latest-year ``value`` of ``name`` per buurt of a long table, refusing gaps and non-shares."""
    rows = frame[frame[key] == name].dropna(subset=["value"])
    latest = rows.sort_values("year").groupby("area_code")["value"].last().reindex(codes)
    if latest.isna().any():
        raise SchemaError(
            f"a value of '{name}' in the {table} table for every buurt of the truth",
            where=Location(
                column=f"{table}.{key}", value=f"{name} missing for {latest.index[latest.isna()][0]}"
            ),
            fix=f"import the {table} table of the twin",
        )
    values = latest.to_numpy(dtype=float)
    if table == "protected" and (np.any(values < 0) or np.any(values > 1)):
        raise SchemaError(
            "a protected attribute that is a share in [0, 1]",
            where=Location(column="protected.attribute", value=name),
        )
    return values


def _plain(value: object) -> float | None:
    """A JSON-ready float rounded to 5 decimals, NaN as None."""
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else round(number, 5)
