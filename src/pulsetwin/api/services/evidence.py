"""The evidence behind a run: backtest scores per model, skill against the best naive baseline with its
interval, PAI by area fraction and calibration (share of outcomes below each stored quantile)."""

from __future__ import annotations

import math
from typing import Any

from pulsetwin.api.errors import ApiError
from pulsetwin.api.services.backend import Backend
from pulsetwin.api.services.runs import get_run
from pulsetwin.evaluation.labels import model_label
from pulsetwin.schema.language import Lang

SCORES = ("skill", "skill_lo", "skill_hi", "deviance", "mae", "wis", "coverage90", "below_q05", "below_q50",
          "below_q95", "gap_share", "below_q05_strict", "below_q50_strict", "below_q95_strict",
          "pit_match")  # fmt: skip
PIT_PREFIX = "pit_"
PAI_PREFIX = "pai_"


def _number(value: object) -> float | None:
    """A finite float or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _backtest(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """The backtest part of run metrics: ``metrics['backtest']`` (forecast runs) or the metrics themselves."""
    candidate = metrics.get("backtest", metrics)
    return candidate if isinstance(candidate, dict) and isinstance(candidate.get("summary"), list) else None


def run_evidence(backend: Backend, run_id: str, lang: Lang = "nl") -> dict[str, Any]:
    """Evidence of a run with its statuses (sentences in ``lang``); 404 when it has no backtest summary."""
    from pulsetwin.api.services.statuses import statuses

    record = get_run(backend, run_id)
    backtest = _backtest(record.metrics)
    if backtest is None:
        raise ApiError(404, "not_found", f"run '{run_id}' holds no backtest evidence", {"run_id": run_id})
    models = []
    for row in backtest["summary"]:
        if not isinstance(row, dict) or "model" not in row:
            continue
        pai = {
            str(int(k[len(PAI_PREFIX) :])): _number(v)
            for k, v in row.items()
            if k.startswith(PAI_PREFIX) and k[len(PAI_PREFIX) :].isdigit()
        }
        scores = {k: _number(row.get(k)) for k in SCORES}
        pit = [
            _number(row[k])
            for k in sorted(row)
            if k.startswith(PIT_PREFIX) and k[len(PIT_PREFIX) :].isdigit()
        ]
        models.append(
            {
                "model": str(row["model"]),
                "label": model_label(str(row["model"]), lang),
                "naive": bool(row.get("naive", False)),
                **scores,
                "pai": pai,
                "pit": pit,
            }
        )
    folds = backtest.get("folds", [])
    baseline = record.metrics.get("baseline", backtest.get("baseline"))
    return {
        "run_id": run_id,
        "status": record.status,
        "baseline": baseline,
        "baseline_label": model_label(None if baseline is None else str(baseline), lang),
        "level": _number(record.metrics.get("level", backtest.get("level"))),
        "folds": [str(f.get("origin")) if isinstance(f, dict) else str(f) for f in folds],
        "models": models,
        "skill_by_category": [r for r in backtest.get("skill", []) if isinstance(r, dict)],
        "statuses": statuses(backend, run_id, lang),
    }
