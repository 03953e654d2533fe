"""One self-contained HTML page of the evidence behind the latest forecast run (works offline: plotly inline).

Dutch by default, English on a switch at the top (both languages are in the page; nothing is fetched).

Sections: the run and its status, the backtest table, skill against the best naive baseline with intervals,
PAI curves per model, a reliability diagram of the predictive quantiles, and a map of the forecast drawn from
the areas' WKT in RD coordinates (no map tiles), the field trials registered in the log with what their
pre-registered analyses found, and, when the store holds a ``feedback_loop`` run, the misallocation of patrols
over time in the closed loop, naive against corrected learners.

This module assembles the page; the charts come from :mod:`~pulsetwin.reports.figures`,
:mod:`~pulsetwin.reports.maps` and :mod:`~pulsetwin.reports.feedback`, the tables from
:mod:`~pulsetwin.reports.sections`, the field trials from :mod:`~pulsetwin.reports.trials`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pulsetwin.audit.documents.trials import trial_results
from pulsetwin.audit.release import ReleaseStatus, SkillStatus, latest_audit, run_statuses
from pulsetwin.evaluation.labels import measure_label, model_label
from pulsetwin.exceptions import StoreError
from pulsetwin.reports.feedback import feedback_section
from pulsetwin.reports.figures import pai_figure, reliability_figure, skill_figure
from pulsetwin.reports.maps import map_figure
from pulsetwin.reports.sections import fairness_html, measures_html, statuses_html
from pulsetwin.reports.trials import trials_section
from pulsetwin.schema.language import LANGS, Lang

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

TABLE_COLUMNS = (
    "model", "naive", "n", "deviance", "mae", "rmse", "wis", "log_score", "coverage90", "pai_03", "pei_03",
    "skill", "skill_lo", "skill_hi", "gap_share",
)  # fmt: skip


def latest_forecast_run(store: Store) -> str:
    """Id of the most recent forecast run; StoreError when there is none."""
    runs = store.runs()
    runs = runs[runs["kind"] == "forecast"]
    if runs.empty:
        raise StoreError(
            f"no forecast run in store '{store.path}'. Fix: run `pulsetwin forecast --db {store.path}` first"
        )
    return str(runs["run_id"].iloc[-1])


def write_report(store: Store, out_dir: Path, *, run_id: str | None = None) -> Path:
    """Write ``report.html`` for ``run_id`` (default: the latest forecast run) into ``out_dir``."""
    rid = run_id or latest_forecast_run(store)
    forecasts = store.read("forecasts", where={"run_id": rid})
    areas = store.read("areas")
    run = store.get_run(rid)
    runs = store.runs()
    feedback = runs[runs["kind"] == "feedback_loop"]
    maps = runs[runs["kind"] == "hotspots"]
    audits = {str(a): store.get_run(str(a)) for a in runs.loc[runs["kind"] == "audit", "run_id"]}
    audit = latest_audit(runs, audits, rid)
    skill, release = run_statuses(store, rid)
    page = render_report(
        run_id=rid, model=run.model or "", status=run.status, metrics=run.metrics, forecasts=forecasts,
        areas=areas, origin=run.origin, freq=run.freq or "", data_hash=run.data_hash or "",
        code_version=run.code_version or "",
        feedback=store.get_run(str(feedback["run_id"].iloc[-1])).metrics if not feedback.empty else None,
        skill=skill, release=release, audit=None if audit is None else audit.metrics,
        hotspots=store.get_run(str(maps["run_id"].iloc[-1])).metrics if not maps.empty else None,
        trials=trial_results(store),
    )  # fmt: skip
    store.runs()  # get_run leaves a result half-fetched (see audit.gate._get_run)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def render_report(
    *,
    run_id: str,
    model: str,
    status: str,
    metrics: Mapping[str, Any],
    forecasts: pd.DataFrame,
    areas: pd.DataFrame,
    origin: pd.Timestamp | None,
    freq: str,
    data_hash: str,
    code_version: str,
    feedback: Mapping[str, Any] | None = None,
    skill: SkillStatus | None = None,
    release: ReleaseStatus | None = None,
    audit: Mapping[str, Any] | None = None,
    hotspots: Mapping[str, Any] | None = None,
    trials: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """The HTML page as a string, Dutch first with English on the switch; ``feedback`` (a ``feedback_loop``
    run's metrics) adds its section, ``audit`` (the latest audit's metrics) the fairness section, ``hotspots``
    (a hotspot run's metrics) its cells on the map, ``trials`` (from
    :func:`~pulsetwin.audit.documents.trials.trial_results`; an empty list says no trial is registered) the
    field-trial section; ``skill``/``release`` are the run's two statuses."""
    backtest = metrics.get("backtest", {})
    summary = pd.DataFrame(backtest.get("summary", []))
    if summary.empty:
        raise StoreError(f"run '{run_id}' carries no backtest summary. Fix: re-run `pulsetwin forecast`")
    bodies = []
    for i, lang in enumerate(LANGS):
        named = summary.assign(model=[model_label(str(m), lang) for m in summary["model"]])  # plain names
        figures = [
            skill_figure(
                named,
                baseline=model_label(str(metrics.get("baseline", "")), lang),
                level=float(metrics.get("level", 0.9)),
                lang=lang,
            ),
            pai_figure(named, lang=lang),
            reliability_figure(named, lang=lang),
            map_figure(forecasts, areas, freq=freq, hotspots=hotspots, lang=lang),
        ]
        parts = [
            fig.to_html(
                full_html=False,
                include_plotlyjs=(i == 0 and j == 0),
                default_width="100%",
                default_height="480px",
            )
            for j, fig in enumerate(figures)
        ]
        body = _body(
            lang, parts, run_id, model, status, metrics, origin, freq, data_hash, code_version, summary
        )
        extra = statuses_html(skill, release, lang)
        fair = fairness_html(audit, lang)
        loop = "" if feedback is None else feedback_section(feedback, lang=lang)
        tried = "" if trials is None else trials_section(trials, lang)
        hidden = "" if lang == "nl" else " hidden"
        filled = body.format(statuses=extra, fairness=fair, trials=tried, feedback=loop)
        bodies.append(f"<div lang='{lang}' class='lang'{hidden}>{filled}</div>")
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>PulseTwin {html.escape(run_id)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}}
table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}
.ok{{background:#e8f5e9;padding:.6em}}.warn{{background:#fff3e0;padding:.6em}}.bad{{background:#fdecea;padding:.6em}}
#switch{{float:right}}</style></head><body>
<button id="switch" type="button" onclick="for (const d of document.querySelectorAll('div.lang')) d.hidden = !d.hidden;
document.documentElement.lang = document.documentElement.lang === 'nl' ? 'en' : 'nl';
window.dispatchEvent(new Event('resize'));">Nederlands / English</button>
{"".join(bodies)}
</body></html>
"""


def _body(
    lang: Lang, parts: list[str], run_id: str, model: str, status: str, metrics: Mapping[str, Any],
    origin: pd.Timestamp | None, freq: str, data_hash: str, code_version: str, summary: pd.DataFrame,
) -> str:  # fmt: skip
    """One language's page body with ``{statuses}``, ``{fairness}``, ``{trials}`` and ``{feedback}`` left to
    fill."""
    backtest = metrics.get("backtest", {})
    when = "" if origin is None else pd.Timestamp(origin).date().isoformat()
    folds = html.escape(", ".join(backtest.get("folds", [])))
    table = backtest_table(summary, lang).replace("{", "{{").replace("}", "}}")
    name = html.escape(model_label(model, lang))
    parts = [p.replace("{", "{{").replace("}", "}}") for p in parts]
    if lang == "nl":
        return f"""<h1>PulseTwin: voorspellingsrapport</h1>
<p>Run <code>{html.escape(run_id)}</code>, model <b>{name}</b>, vanaf {when},
periode {html.escape(freq)} (W = week, M = maand), gegevens sha256 <code>{html.escape(data_hash[:16])}</code>,
code {html.escape(code_version)}.</p>
{{statuses}}
{measures_html("nl")}
<h2>Terugtoets (startmomenten {folds})</h2>
<p>Lager is beter voor afwijking, fouten, intervalscore en logscore; het aandeel binnen de 90%-band hoort rond
0,90; PAI boven 1 betekent
dat de gemarkeerde 3 % van het gebied meer dan 3 % van de meldingen bevat.</p>
{table}
<h2>Vaardigheid ten opzichte van de beste naïeve vuistregel</h2>{parts[0]}
<h2>PAI naar gemarkeerd deel van het gebied</h2>{parts[1]}
<h2>Betrouwbaarheid van de voorspelde kwantielen</h2>{parts[2]}
<h2>Kaart van de voorspelling (eerste periode, alle categorieën opgeteld)</h2>{parts[3]}
{{fairness}}
{{trials}}
{{feedback}}"""
    verdict = (
        status_paragraph(
            status, model_label(model, lang), model_label(str(metrics.get("baseline", "")), lang)
        )
        .replace("{", "{{")
        .replace("}", "}}")
    )
    return f"""<h1>PulseTwin forecast report</h1>
<p>Run <code>{html.escape(run_id)}</code>, model <b>{name}</b>, origin {when},
freq {html.escape(freq)},
data sha256 <code>{html.escape(data_hash[:16])}</code>, code {html.escape(code_version)}.</p>
{verdict}
{{statuses}}
{measures_html("en")}
<h2>Backtest (rolling origins {folds})</h2>
<p>Lower is better for deviance, errors, interval score and log score; the share inside the 90 % band should be
near 0.90; PAI above 1
means the flagged 3 % of the area holds more than 3 % of the incidents.</p>
{table}
<h2>Skill against the best naive baseline</h2>{parts[0]}
<h2>PAI by share of area flagged</h2>{parts[1]}
<h2>Reliability of the predictive quantiles</h2>{parts[2]}
<h2>Forecast map (first period, all categories summed)</h2>{parts[3]}
{{fairness}}
{{trials}}
{{feedback}}"""


def status_paragraph(status: str, model: str, baseline: str) -> str:
    """One plain sentence on what the run's status means: skill, no skill, or blocked by the audit gate."""
    name, base = html.escape(model), html.escape(baseline)
    if status == "ok":
        return (
            f"<p class='ok'>Status <b>ok</b>: {name} beats the best naive baseline ({base}) with the whole skill "
            "interval above zero.</p>"
        )
    if status == "blocked":
        return (
            f"<p class='warn'>Status <b>blocked</b>: the rights-and-harms audit found a blocking finding for this "
            f"run (see <code>pulsetwin audit</code>). The forecast of {name} must not be released as it is.</p>"
        )
    return (
        f"<p class='warn'>Status <b>{html.escape(status)}</b>: no model beat the best naive baseline ({base}) "
        f"with its skill interval above zero. The forecast shown is from {name}; treat it as no better than a "
        "naive rule.</p>"
    )


def backtest_table(summary: pd.DataFrame, lang: Lang = "en") -> str:
    """The per-model backtest table as HTML: plain model and measure names in ``lang``, each model's code
    name as its tooltip."""
    shown = summary[[c for c in TABLE_COLUMNS if c in summary.columns]].copy()
    for column in shown.columns:
        if column not in ("model", "naive"):  # None (no oracle on real data) reads as "–", never "None"
            shown[column] = pd.to_numeric(shown[column], errors="coerce")
    shown["model"] = [
        f"<span title='{html.escape(str(m))}'>{html.escape(model_label(str(m), lang))}</span>"
        for m in shown["model"]
    ]
    if "naive" in shown.columns:
        yes, no = ("ja", "nee") if lang == "nl" else ("yes", "no")
        shown["naive"] = [yes if bool(v) else no for v in shown["naive"]]
    shown.columns = [html.escape(measure_label(str(c), lang)) for c in shown.columns]
    return shown.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–", border=0, escape=False)
