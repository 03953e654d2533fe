"""Rolling-origin backtest: every model and every naive baseline (on twin data also the oracle, and the origin
oracle when the twin can be replayed) on one set of folds.

Each (fold, model) task fits a fresh copy of the model on a History cut strictly before the fold's origin,
forecasts the fold's periods and scores them against the recorded counts of the (area, category) pairs seen in
training. Tasks fan out through :func:`pulsetwin.executor.map_tasks`; scores come back per fold, category and
horizon step, so the result stays small at national scale. Memory at national scale (~13 M incident rows):
the incidents are held once, compact (:func:`compact_incidents`), each fold's history is a slice of them, and
the oracle gets only the truth rows of the test periods. From a store only the backtested freq of incidents
and truth is read, text as categoricals (:func:`load_frames`), and the events only when a model in the lineup
reads them (``Model.uses_events``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import shapely

from pulsetwin.evaluation.fold_scores import (
    HOTSPOT_COLUMNS,
    POINT_METRICS,
    fold_targets,
    join_forecast,
    score_cells,
)
from pulsetwin.evaluation.lineup import Lineup, unique_lineup
from pulsetwin.evaluation.oracle import ORACLE_NAME, Oracle
from pulsetwin.evaluation.origin_oracle import ORIGIN_ORACLE_NAME, OriginOracle, Recovery, recover_process
from pulsetwin.evaluation.skill import SkillSettings, skill_table
from pulsetwin.evaluation.splits import Fold, RollingOrigin
from pulsetwin.exceptions import ParameterError, ParameterTypeError, SchemaError, bad_parameter
from pulsetwin.executor import map_tasks
from pulsetwin.models.base import History, Model
from pulsetwin.schema.geometry import NO_GEOMETRY, geometry_state
from pulsetwin.schema.periods import Freq
from pulsetwin.store.frames import (
    FrameSource,
    ProvenanceSource,
    compact_incidents,
    load_frames,
    text_codes,
)


@dataclass(frozen=True)
class BacktestResult:
    """Scores of a backtest.

    Attributes
    ----------
    scores
        Long frame, one row per ``fold, cutoff, model, category, step``: ``period_start``, ``n`` cells, the
        mean of each point metric (RMSE as the root of the mean squared error; ``mae`` of the mean forecast,
        ``mae_median`` of the median q50, the point a reader of the interval sees) and hotspot metrics
        (``hit_rate_01`` ... ``pei_10``) over the areas of that period.
    summary
        One row per model: pooled metrics over all scored cells, hotspot metrics averaged over the scored
        periods, and skill against the best naive baseline with its interval (and the shares of the gap to
        the oracle and to the origin oracle, ``gap_share`` and ``attainable_share``).
    skill
        Skill rows per ``category`` (``"all"`` pools every category), see :func:`skill_table`.
    folds
        The folds used.
    baseline
        The best naive baseline over all categories.
    notes
        What the backtest decided about the origin oracle (replayed, or why not), one line each.
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    skill: pd.DataFrame
    folds: tuple[Fold, ...]
    baseline: str
    naive: tuple[str, ...]
    freq: Freq
    horizon: int
    level: float
    settings: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready payload: settings, notes, folds, summary, skill and scores (dates as ISO strings)."""
        return {
            "settings": self.settings,
            "notes": list(self.notes),
            "freq": self.freq,
            "horizon": self.horizon,
            "level": self.level,
            "baseline": self.baseline,
            "naive": list(self.naive),
            "folds": [
                {
                    "fold": f.index,
                    "origin": f.origin.date().isoformat(),
                    "n_train": f.n_train,
                    "test_periods": [p.date().isoformat() for p in f.test_periods],
                }
                for f in self.folds
            ],
            "summary": records(self.summary),
            "skill": records(self.skill),
            "scores": records(self.scores),
        }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with ISO dates and NaN as None."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    out = out.astype(object).where(out.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in out.to_dict(orient="records")]


@dataclass(frozen=True)
class _Task:
    """One fold x model: everything a worker needs, picklable."""

    fold: Fold
    model: Model
    history: History
    targets: pd.DataFrame
    sizes: pd.Series


def uses_events(models: Sequence[Model]) -> bool:
    """Whether any of ``models`` reads ``History.events`` (the point-process models); else a backtest need
    not hold the events."""
    return any(model.uses_events for model in models)


def backtest(
    store_or_frames: FrameSource | Mapping[str, pd.DataFrame],
    design: RollingOrigin,
    lineup: Lineup | None = None,
    *,
    categories: Sequence[str] | None = None,
    skill: SkillSettings | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> BacktestResult:
    """Backtest models against every naive baseline (and the oracles on twin data) over rolling origins.

    Parameters
    ----------
    store_or_frames
        A store (read with :func:`load_frames`) or canonical frames ``incidents`` (required), ``areas``
        (required: area sizes for PAI), ``covariates``, ``events``, ``truth``.
    design
        The rolling-origin design: freq, horizon, folds, step, origins, min_train.
    lineup
        The models, naive baselines and oracles (default :class:`Lineup()`: the registry's default lineup).
        Two different models of one name are refused.
    categories
        Restrict to these categories (default: all in the incidents).
    skill
        Interval level, bootstrap replicates and seed of the skill intervals (default :class:`SkillSettings()`).
    scheduler, workers
        Passed to :func:`pulsetwin.executor.map_tasks`.
    """
    check_settings("backtest", design, lineup, skill)
    lineup = lineup or Lineup()
    skill = skill or SkillSettings()
    freq = design.freq
    naive_models, candidates = lineup.resolve()
    with_events = uses_events([*naive_models, *candidates])
    if isinstance(store_or_frames, Mapping):
        frames = dict(store_or_frames)
        if not with_events:
            frames.pop("events", None)
    else:
        frames = load_frames(store_or_frames, freq, events=with_events, compact=True)
    incidents = _incidents(frames, freq, categories)
    del frames["incidents"]  # from a store the only reference: the compact slice above replaces it
    fold_list = design.split(incidents["period_start"])
    truth = frames.pop("truth", None)
    has_truth = truth is not None and len(truth) > 0
    if lineup.oracle and not has_truth:
        raise ParameterError(
            "The oracle needs the twin's truth table; this data has none. Fix: drop --oracle."
        )
    models = unique_lineup([*naive_models, *candidates])
    if (lineup.oracle is None and has_truth) or lineup.oracle:
        assert truth is not None
        models.append(Oracle(truth=_oracle_truth(truth, freq, fold_list)))
    ceiling, notes = _origin_oracle(store_or_frames, truth, lineup.origin_oracle)
    del truth  # the oracle holds the rows it reads
    if ceiling is not None:
        if any(model.name == ceiling.name for model in models):
            raise bad_parameter(
                "origin_oracle", "backtest", "a model named apart from the others", ceiling.name
            )
        models.append(ceiling)
    sizes = area_sizes(frames.get("areas"), incidents["area_code"].cat.categories.to_numpy(dtype=object))
    if sizes.isna().all():
        notes = (*notes, f"Note: {NO_GEOMETRY}.")
    tasks: list[_Task] = []
    for fold in fold_list:
        history = fold_history(frames, incidents, origin=fold.origin, freq=freq)
        targets = fold_targets(incidents, history, fold)
        tasks.extend(_Task(fold, model, history, targets, sizes) for model in models)
    parts = map_tasks(score_task, tasks, scheduler=scheduler, workers=workers)
    scores = pd.concat(parts, ignore_index=True)
    naive_names = tuple(model.name for model in naive_models)
    oracle_name = ORACLE_NAME if any(model.name == ORACLE_NAME for model in models) else None
    skill_rows = _skill(
        scores, naive_names, oracle_name, None if ceiling is None else ceiling.name, level=skill.level,
        n_boot=skill.n_boot, seed=skill.seed,
    )  # fmt: skip
    overall = skill_rows[skill_rows["category"] == "all"]
    summary = _summary(scores, overall, naive_names)
    settings = {
        "freq": freq, "horizon": design.horizon, "folds": len(fold_list), "step": design.step,
        "categories": categories, "models": [model.name for model in models], "level": skill.level,
        "n_boot": skill.n_boot, "seed": skill.seed,
    }  # fmt: skip
    return BacktestResult(
        scores=scores, summary=summary, skill=skill_rows, folds=tuple(fold_list),
        baseline=str(overall["baseline"].iloc[0]),
        naive=naive_names, freq=freq, horizon=design.horizon, level=skill.level, settings=settings, notes=notes,
    )  # fmt: skip


def check_settings(
    owner: str, design: RollingOrigin, lineup: Lineup | None, skill: SkillSettings | None
) -> None:
    """Refuse settings objects of the wrong type (a bare dict or keyword from the old signature, say)."""
    for name, value, kind in (
        ("design", design, RollingOrigin),
        ("lineup", lineup, Lineup),
        ("skill", skill, SkillSettings),
    ):
        if (value is not None or kind is RollingOrigin) and not isinstance(value, kind):
            raise ParameterTypeError(
                f"The '{name}' parameter of {owner} must be a {kind.__name__}. Got {type(value).__name__} instead."
            )


def _origin_oracle(
    source: FrameSource | Mapping[str, pd.DataFrame], truth: pd.DataFrame | None, wanted: Model | bool | None
) -> tuple[Model | None, tuple[str, ...]]:
    """The origin oracle to add (or None) and a note on it; see the ``origin_oracle`` parameter of backtest."""
    if isinstance(wanted, Model):
        return wanted, ()
    automatic = wanted is None and not isinstance(source, Mapping) and truth is not None and not truth.empty
    if not (wanted or automatic):
        return None, ()
    if isinstance(source, ProvenanceSource):
        records = source.provenance()
        sources = records.loc[records["table_name"].isin(["incidents", "truth"]), "source"].astype(str)
        recovery = recover_process(sources, truth)
    else:
        recovery = Recovery(
            None, "no origin oracle: these frames carry no import source to find the twin by."
        )
    if recovery.process is None:
        if wanted:
            raise ParameterError(
                f"{recovery.note} Fix: pass origin_oracle=OriginOracle(process=replay_twin(...).process) "
                "(pulsetwin.twin.replay_twin) for the twin of this data, or leave origin_oracle at None."
            )
        return None, (recovery.note,)
    return OriginOracle(process=recovery.process), (recovery.note,)


def _incidents(
    frames: Mapping[str, pd.DataFrame], freq: Freq, categories: Sequence[str] | None
) -> pd.DataFrame:
    """The incidents of ``freq`` (and ``categories``) as one compact frame (see :func:`compact_incidents`);
    refuse an empty selection with what is there."""
    if "incidents" not in frames:
        raise bad_parameter("store_or_frames", "backtest", "frames with an 'incidents' table", sorted(frames))
    incidents = frames["incidents"]
    keep = (incidents["freq"] == freq).to_numpy(dtype=bool)
    if categories is not None:
        codes, labels = text_codes(incidents["category"])
        present = {str(labels[i]) for i in np.unique(codes[keep & (codes >= 0)])}
        unknown = sorted(set(categories) - present)
        if unknown:
            listed = ", ".join(sorted(present)) or "none"
            raise bad_parameter(
                "categories", "backtest", f"categories present at freq {freq} ({listed})", unknown
            )
        keep = keep & incidents["category"].isin(list(categories)).to_numpy(dtype=bool)
    if not keep.any():
        raise SchemaError(
            f"no incidents at freq {freq}",
            fix=f"import incidents with freq {freq} or choose the other --freq",
        )
    return compact_incidents(incidents, keep)


def fold_history(
    frames: Mapping[str, pd.DataFrame], incidents: pd.DataFrame, *, origin: pd.Timestamp, freq: Freq
) -> History:
    """The History of a fold: :meth:`History.from_frames`'s cut, with the incidents
    a slice of ``incidents`` (one freq, sorted by period, see :func:`compact_incidents`) rather than a copy.

    The cut is checked by :class:`History` itself.
    """
    stop = int(np.searchsorted(incidents["period_start"].to_numpy(), origin.to_datetime64(), side="left"))
    return History.from_frames(frames, origin=origin, freq=freq, incidents=incidents.iloc[:stop])


def area_sizes(areas: pd.DataFrame | None, codes: np.ndarray) -> pd.Series:
    """Area in square metres (from WKT in EPSG:28992) of each code, for area-weighted hotspot metrics.

    Areas listed by name only (no geometry for any of ``codes``) have no size: all NaN, and the area-weighted
    metrics (PAI, PEI) are NaN too. A mix of areas with and without geometry is refused.
    """
    if areas is None or areas.empty:
        raise SchemaError(
            "area sizes are needed for hotspot metrics (PAI, PEI) but no areas table is present",
            fix="import the areas (with geometry) of the incident area codes first",
        )
    known = areas.drop_duplicates("area_code").set_index("area_code")["geometry"]
    missing = sorted(set(codes) - set(known.index))
    if missing:
        raise SchemaError(
            f"{len(missing)} incident area code(s) have no geometry in the areas table, "
            f"e.g. {', '.join(missing[:5])}",
            fix="import the areas for every incident area code",
        )
    wanted = known.loc[sorted(codes)]
    if geometry_state(wanted) == "none":
        return pd.Series(np.nan, index=wanted.index, name="size")
    size = shapely.area(shapely.from_wkt(wanted.to_numpy()))
    bad = ~(np.isfinite(size) & (size > 0))
    if bad.any():
        raise SchemaError(
            f"area geometry must enclose a positive area; {int(bad.sum())} do not, "
            f"e.g. {wanted.index[bad][0]}",
            fix="import polygon geometries in EPSG:28992",
        )
    return pd.Series(size, index=wanted.index, name="size")


def _oracle_truth(truth: pd.DataFrame, freq: Freq, folds: Sequence[Fold]) -> pd.DataFrame:
    """The truth rows the oracle reads in these folds (their test periods at ``freq``): a few periods of the
    table rather than all of it, which every oracle task would otherwise carry."""
    periods = pd.DatetimeIndex(np.unique(np.concatenate([f.test_periods.to_numpy() for f in folds])))
    keep = truth["period_start"].isin(periods).to_numpy(dtype=bool)
    if "freq" in truth.columns:
        keep = keep & (truth["freq"] == freq).to_numpy(dtype=bool)
    return truth[keep].reset_index(drop=True)


def score_task(task: _Task) -> pd.DataFrame:
    """Fit a fresh copy of the task's model on the history, forecast the fold and score it."""
    fold = task.fold
    model = type(task.model)(**task.model.get_params())
    forecast = model.fit(task.history).predict(fold.horizon, run_id=f"backtest-fold{fold.index}")
    cells = join_forecast(task.targets, forecast, model.name)
    return score_cells(cells, fold=fold, model=model.name, sizes=task.sizes)


def _skill(
    scores: pd.DataFrame,
    naive: tuple[str, ...],
    oracle: str | None,
    origin_oracle: str | None,
    *,
    level: float,
    n_boot: int,
    seed: int,
) -> pd.DataFrame:
    """Skill tables pooled over categories (``"all"``) and per category, periods as bootstrap units."""
    losses = scores.assign(deviance_sum=scores["deviance"] * scores["n"])
    parts = []
    for category, frame in [("all", losses), *losses.groupby("category", sort=True)]:
        by_period = frame.groupby(["period_start", "model"], as_index=False)[["deviance_sum", "n"]].sum()
        table = skill_table(
            by_period.rename(columns={"period_start": "period"}), naive=naive, oracle=oracle,
            origin_oracle=origin_oracle, level=level, n_boot=n_boot, seed=seed,
        )  # fmt: skip
        parts.append(table.assign(category=category))
    skill = pd.concat(parts, ignore_index=True)
    return skill[["category", *[c for c in skill.columns if c != "category"]]]


def _summary(scores: pd.DataFrame, skill: pd.DataFrame, naive: tuple[str, ...]) -> pd.DataFrame:
    """Per model: cell-weighted point metrics, mean hotspot metrics, skill, gap and attainable shares."""
    weights = scores["n"].to_numpy(dtype=np.float64)
    weighted = scores[list(POINT_METRICS)].mul(weights, axis=0)
    weighted["rmse"] = scores["rmse"] ** 2 * weights
    weighted["model"] = scores["model"]
    weighted["n"] = weights
    sums = weighted.groupby("model", sort=False).sum()
    pooled = sums[list(POINT_METRICS)].div(sums["n"], axis=0)
    pooled["rmse"] = np.sqrt(pooled["rmse"])
    pooled.insert(0, "n", sums["n"].astype(np.int64))
    hot = scores.groupby("model", sort=False)[list(HOTSPOT_COLUMNS)].mean()
    out = pooled.join(hot).reset_index()
    out = out.merge(skill.drop(columns=["category"]), on="model", how="left")
    out.insert(1, "naive", out["model"].isin(naive))
    return out


def restrict_folds(result: BacktestResult, origins: Sequence[pd.Timestamp]) -> BacktestResult:
    """The result a backtest on only the folds at ``origins`` would give, cut from a larger ``result`` of the
    same models and data.

    Why: a fold's forecasts and scores depend only on the data before its origin, so choosing ``best`` at many
    forecast origins (a benchmark) can backtest every fold once and cut each origin's folds from it, instead of
    re-running the overlapping folds of every origin. Skill, intervals and the best naive baseline are computed
    afresh on the kept folds, exactly as :func:`pulsetwin.evaluation.backtest.backtest` does.
    """
    wanted = {pd.Timestamp(o) for o in origins}
    folds = tuple(f for f in result.folds if f.origin in wanted)
    if len(folds) != len(wanted):
        have = sorted(str(f.origin.date()) for f in result.folds)
        raise bad_parameter(
            "origins", "restrict_folds", f"fold origins of the result ({have})", sorted(wanted)
        )
    scores = result.scores[result.scores["cutoff"].isin(list(wanted))].reset_index(drop=True)
    present = set(scores["model"])
    oracle = ORACLE_NAME if ORACLE_NAME in present else None
    origin_oracle = ORIGIN_ORACLE_NAME if ORIGIN_ORACLE_NAME in present else None
    skill = _skill(
        scores, result.naive, oracle, origin_oracle, level=result.level,
        n_boot=int(result.settings.get("n_boot", 1000)), seed=int(result.settings.get("seed", 0)),
    )  # fmt: skip
    overall = skill[skill["category"] == "all"]
    return replace(
        result, scores=scores, summary=_summary(scores, overall, result.naive), skill=skill, folds=folds,
        baseline=str(overall["baseline"].iloc[0]), settings={**result.settings, "folds": len(folds)},
    )  # fmt: skip
