"""Forecast runs: backtest first, then forecast, and record what ran on which data with which evidence.

A run is marked ``ok`` when the model that forecasts beats the best naive baseline with the lower end of
its skill interval above zero, and ``no_skill`` otherwise. With ``model="best"`` and no such model, the
forecast is the best naive baseline's and the run says so. The forecasting model's drivers of its first
forecast period (for models that have them: glm, lgbm) are stored with the run, in the same transaction
(:mod:`pulsetwin.evaluation.explanations`), and so are its forecasts at the last backtest fold, which the
audit judges a forecast of the future on (:mod:`pulsetwin.evaluation.fold_forecasts`).
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pulsetwin.evaluation.backtest import BacktestResult, backtest, check_settings, records
from pulsetwin.evaluation.explanations import model_explanations
from pulsetwin.evaluation.fold_forecasts import last_fold_forecasts
from pulsetwin.evaluation.lineup import Lineup, resolve_models
from pulsetwin.evaluation.oracle import ORACLE_NAME
from pulsetwin.evaluation.selection import selection_folds
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin, period_grid
from pulsetwin.exceptions import ParameterError, SchemaError, bad_parameter
from pulsetwin.models.base import History, Model, future_periods
from pulsetwin.schema.tables import FORECASTS, INCIDENTS
from pulsetwin.store.explanations import save_explanations
from pulsetwin.store.fold_forecasts import save_fold_forecasts
from pulsetwin.store.frames import load_frames
from pulsetwin.store.log import canonical_detail
from pulsetwin.store.runs import RunKind, RunStatus, new_run_id

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

BEST = "best"


@dataclass(frozen=True)
class ForecastRun:
    """The outcome of :func:`run_forecast`."""

    run_id: str
    requested: str
    model: str
    status: str
    baseline: str
    skill: dict[str, Any]
    forecasts: pd.DataFrame
    backtest: BacktestResult
    data_hash: str
    code_version: str
    choice: dict[str, Any] = field(default_factory=dict)
    """Which model forecasts and why (:func:`choice_record`), also stored in the run's metrics."""


def data_hash(incidents: pd.DataFrame) -> str:
    """SHA-256 over the canonical incidents (canonical columns, key order, ISO dates, CSV)."""
    frame = incidents[list(INCIDENTS.column_names)].sort_values(list(INCIDENTS.key)).reset_index(drop=True)
    text = frame.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def code_version() -> str:
    """``pulsetwin.__version__``, plus ``+g<sha>`` of the git checkout the code runs from, if any."""
    from pulsetwin import __version__

    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return __version__
    sha = done.stdout.strip()
    return f"{__version__}+g{sha}" if done.returncode == 0 and sha else __version__


def run_forecast(
    store: Store,
    design: RollingOrigin,
    *,
    model: str | Model = BEST,
    origin: str | pd.Timestamp | None = None,
    categories: Sequence[str] | None = None,
    lineup: Lineup | None = None,
    skill: SkillSettings | None = None,
    scheduler: str | None = None,
    actor: str = "cli",
) -> ForecastRun:
    """Backtest, pick the model, forecast ``horizon`` periods from ``origin`` and store the run and forecasts.

    Parameters
    ----------
    store
        An open, writable store.
    design
        The backtest's rolling-origin design; its freq and horizon are the forecast's too. Its folds end at the
        last period before ``origin``, so it takes no explicit origins.
    model
        A registered model name (or instance), or ``"best"``: the model with the highest skill whose interval
        lies above zero among ``lineup.models`` (default every registered model). At monthly frequency ``best``
        chooses on origins one month apart over the span of the design's folds
        (:func:`pulsetwin.evaluation.selection.selection_folds`).
    origin
        First period to forecast; default the period after the last recorded one. Only data before it is used,
        for the backtest as well as the fit.
    lineup
        The candidates (with ``"best"``) and naive baselines of the backtest; a named ``model`` is the only
        candidate.
    skill, scheduler
        As in :func:`~pulsetwin.evaluation.backtest.backtest`.
    """
    check_settings("run_forecast", design, lineup, skill)
    if design.origins is not None:
        raise bad_parameter(
            "design", "run_forecast", "a design without explicit origins (its folds end before the forecast origin)",
            design.settings()["origins"],
        )  # fmt: skip
    lineup = lineup or Lineup()
    freq, horizon = design.freq, design.horizon
    if isinstance(model, str) and model == ORACLE_NAME:
        raise ParameterError(
            "The oracle reads the true intensity of a twin: it exists to grade models in backtests and "
            "cannot forecast. Fix: choose a model or 'best'."
        )
    frames = load_frames(store, freq)
    incidents = frames["incidents"]
    if categories is not None:
        incidents = incidents[incidents["category"].isin(list(categories))]
    if incidents.empty:
        raise SchemaError(f"no incidents at freq {freq} to forecast from", fix="import incidents first")
    grid = period_grid(incidents["period_start"], freq)
    next_period = future_periods(grid[-1], freq, 2)[-1]
    start = next_period if origin is None else pd.Timestamp(origin)
    if start not in grid and start != next_period:
        raise bad_parameter(
            "origin", "run_forecast",
            f"a period start from {grid[1].date()} to {next_period.date()} (the period after the last one)",
            str(start.date()),
        )  # fmt: skip
    used = incidents[incidents["period_start"] < start]
    frames["incidents"] = used
    requested = model if isinstance(model, str) else model.name
    if model != BEST:
        lineup = replace(lineup, models=(model,))
    else:
        folds, step = selection_folds(freq, horizon, design.folds, design.step)
        design = replace(design, folds=folds, step=step)
    result = backtest(frames, design, lineup, categories=categories, skill=skill, scheduler=scheduler)
    chosen, status = choose_model(result, requested)
    fitted = _instance(chosen, [*(lineup.naive or ()), *(lineup.models or ())])
    history = History.from_frames(frames, origin=start, freq=freq, categories=categories)
    hashed = data_hash(used)
    version = code_version()
    created = datetime.now(UTC).replace(tzinfo=None)
    params = {"requested": requested, "model_params": _plain(fitted.get_params()), **result.settings}
    run_id = new_run_id(RunKind.FORECAST, chosen, canonical_detail(params), hashed, created)
    final = type(fitted)(**fitted.get_params()).fit(history)
    forecasts = final.predict(horizon, run_id=run_id)
    explanations = model_explanations(final, run_id)
    fold_forecasts = last_fold_forecasts(fitted, frames, result, categories=categories, run_id=run_id)
    forecasts = forecasts[list(FORECASTS.column_names)].assign(run_id=run_id, model=chosen)
    skill_row = result.summary.set_index("model").loc[chosen]
    measured = {k: _plain_value(skill_row[k]) for k in ("skill", "skill_lo", "skill_hi", "gap_share")}
    choice = choice_record(result, chosen, requested)
    metrics: dict[str, Any] = {
        "chosen": chosen,
        "choice": choice,
        "baseline": result.baseline,
        "level": result.level,
        "skill": measured,
        "backtest": {
            "folds": [f.origin.date().isoformat() for f in result.folds],
            "summary": records(result.summary),
            "skill": records(result.skill),
        },
    }
    with store.transaction():
        store.save_run(
            RunKind.FORECAST, model=chosen, params=params, data_hash=hashed, code_version=version, metrics=metrics,
            status=status, origin=start, freq=freq, horizon=horizon, run_id=run_id, actor=actor,
        )  # fmt: skip
        store.import_frames({"forecasts": forecasts}, source=f"run:{run_id}", actor=actor)
        if explanations is not None:
            save_explanations(store, explanations, actor=actor)
        save_fold_forecasts(store, fold_forecasts, actor=actor)
    return ForecastRun(
        run_id=run_id, requested=requested, model=chosen, status=status, baseline=result.baseline,
        skill=measured, forecasts=forecasts, backtest=result, data_hash=hashed, code_version=version,
        choice=choice,
    )  # fmt: skip


def fold_deviance(result: BacktestResult) -> dict[str, list[float]]:
    """Each model's mean Poisson deviance per fold (folds in origin order): the fold scores a choice rests
    on."""
    scores = result.scores.assign(total=result.scores["deviance"] * result.scores["n"])
    sums = scores.groupby(["model", "fold"], sort=True, observed=True)[["total", "n"]].sum()
    mean = (sums["total"] / sums["n"]).rename("deviance").reset_index()
    return {str(m): [float(v) for v in g["deviance"]] for m, g in mean.groupby("model", sort=False)}


def choice_record(result: BacktestResult, chosen: str, requested: str) -> dict[str, Any]:
    """Which model forecasts and why: the rule, the folds (all before the forecast origin), each model's
    deviance per fold and its skill with interval, and one sentence."""
    summary = result.summary.set_index("model")
    row = summary.loc[chosen]
    skill = f"skill {row['skill']:.3f} [{row['skill_lo']:.3f}, {row['skill_hi']:.3f}]"
    origins = ", ".join(f.origin.date().isoformat() for f in result.folds)
    if requested != BEST:
        reason = f"{chosen} was named; on the folds at {origins} it has {skill} against {result.baseline}"
    elif chosen in result.naive:
        reason = (
            f"no model beat the best naive baseline {chosen} with its skill interval above zero on the folds "
            f"at {origins}, so the baseline forecasts"
        )
    else:
        reason = (
            f"{chosen} has the highest skill among models whose interval lies above zero on the folds at "
            f"{origins}: {skill} against {result.baseline}"
        )
    return {
        "rule": "highest skill with lower interval bound > 0 on earlier folds, else the best naive baseline",
        "folds": [f.origin.date().isoformat() for f in result.folds],
        "fold_deviance": fold_deviance(result),
        "skill": {
            str(m): [_plain_value(r["skill"]), _plain_value(r["skill_lo"]), _plain_value(r["skill_hi"])]
            for m, r in summary.iterrows()
        },
        "reason": reason,
    }


def choose_model(result: BacktestResult, requested: str) -> tuple[str, RunStatus]:
    """The model to forecast with and the run status (``ok`` / ``no_skill``).

    ``"best"``: the non-naive, non-oracle model with the highest skill among those whose interval lower bound
    is above zero; when none, the best naive baseline with ``no_skill``. A named model is kept either way.
    """
    summary = result.summary
    real = summary[~summary["naive"] & (summary["model"] != ORACLE_NAME)]
    winners = real[real["skill_lo"] > 0]
    if requested != BEST:
        return requested, RunStatus.OK if requested in set(winners["model"]) else RunStatus.NO_SKILL
    if winners.empty:
        return result.baseline, RunStatus.NO_SKILL
    return str(
        winners.sort_values(["skill", "model"], ascending=[False, True])["model"].iloc[0]
    ), RunStatus.OK


def _instance(name: str, pool: Sequence[str | Model]) -> Model:
    """The Model instance called ``name`` in ``pool``, else a new one from the registry."""
    for spec in pool:
        if isinstance(spec, Model) and spec.name == name:
            return spec
    return resolve_models([name])[0]


def _plain(params: dict[str, object]) -> dict[str, object]:
    """Parameters as JSON-ready values (frames and other objects by type name)."""
    return {k: _plain_value(v) for k, v in params.items()}


def _plain_value(value: object) -> object:
    """A JSON-ready scalar: numbers and strings as they are, NaN as None, other objects by type name."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain_value(v) for v in value]
    if isinstance(value, float) or hasattr(value, "item"):
        number = float(value)  # type: ignore[arg-type]
        return None if number != number else number
    return type(value).__name__
