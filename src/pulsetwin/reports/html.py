"""One self-contained HTML page of the evidence behind the latest forecast run (works offline: plotly inline).

Dutch by default, English on a switch at the top (both languages are in the page; nothing is fetched).

Sections: the run and its status, the backtest table, skill against the best naive baseline with intervals,
PAI curves per model, a reliability diagram of the predictive quantiles, and a map of the forecast drawn from
the areas' WKT in RD coordinates (no map tiles), and, when the store holds a ``feedback_loop`` run, the
misallocation of patrols over time in the closed loop, naive against corrected learners.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely
from plotly.subplots import make_subplots

from pulsetwin.audit.release import ReleaseStatus, SkillStatus, latest_audit, run_statuses
from pulsetwin.audit.summary import LANGS, Lang
from pulsetwin.evaluation.calibration import PIT_COLUMNS, STRICT_COLUMNS
from pulsetwin.evaluation.labels import measure_label, model_label
from pulsetwin.exceptions import StoreError
from pulsetwin.reports.sections import fairness_html, hotspot_trace, measures_html, statuses_html
from pulsetwin.schema.geometry import NO_GEOMETRY, geometry_state
from pulsetwin.schema.periods import Freq

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

FRACTIONS = (1, 3, 5, 10)
TABLE_COLUMNS = (
    "model", "naive", "n", "deviance", "mae", "rmse", "wis", "log_score", "coverage90", "pai_03", "pei_03",
    "skill", "skill_lo", "skill_hi", "gap_share",
)  # fmt: skip
BLUES = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594")


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
) -> str:
    """The HTML page as a string, Dutch first with English on the switch; ``feedback`` (a ``feedback_loop``
    run's metrics) adds its section, ``audit`` (the latest audit's metrics) the fairness section, ``hotspots``
    (a hotspot run's metrics) its cells on the map; ``skill``/``release`` are the run's two statuses."""
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
        hidden = "" if lang == "nl" else " hidden"
        filled = body.format(statuses=extra, fairness=fair, feedback=loop)
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
    """One language's page body with ``{statuses}``, ``{fairness}`` and ``{feedback}`` left to fill."""
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


def skill_figure(summary: pd.DataFrame, *, baseline: str, level: float, lang: Lang = "en") -> go.Figure:
    """Skill per model as a point with its bootstrap interval; the zero line is the best naive baseline.

    The axis is scaled to the models and the best rule: naive rules far below it (skill of -3 and worse is
    common) are named in the title instead of squeezing every real model into a dot.
    """
    rows = summary.dropna(subset=["skill"]).sort_values("skill")
    naive = rows["naive"].astype(bool) if "naive" in rows.columns else pd.Series(False, index=rows.index)
    keep = ~naive | (rows["model"] == baseline)
    kept = rows[keep] if keep.any() else rows
    dropped = rows[~keep]
    fig = go.Figure(
        go.Scatter(
            x=kept["skill"],
            y=kept["model"],
            mode="markers",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (kept["skill_hi"] - kept["skill"]).to_numpy(),
                "arrayminus": (kept["skill"] - kept["skill_lo"]).to_numpy(),
            },
            name="skill",
        )
    )
    fig.add_vline(x=0.0, line_dash="dash")
    pct = round(level * 100)
    off = ", ".join(f"{m} {v:.2f}" for m, v in zip(dropped["model"], dropped["skill"], strict=True))
    if lang == "nl":
        title = f"Verbetering van de afwijking t.o.v. {baseline} ({pct}%-interval)"
        title += f"<br><sub>buiten de schaal: {off}</sub>" if off else ""
        axis = "vaardigheid (1 − afwijking model / afwijking vuistregel)"
    else:
        title = f"Relative deviance improvement over {baseline} ({pct} % interval)"
        title += f"<br><sub>off the scale: {off}</sub>" if off else ""
        axis = "skill (1 - D_model / D_naive)"
    fig.update_layout(title=title, xaxis_title=axis)
    return fig


def pai_figure(summary: pd.DataFrame, *, lang: Lang = "en") -> go.Figure:
    """PAI at 1/3/5/10 % of the area, one line per model; the legend sits below the axis title."""
    fig = go.Figure()
    for _, row in summary.iterrows():
        values = [row.get(f"pai_{f:02d}") for f in FRACTIONS]
        fig.add_trace(go.Scatter(x=list(FRACTIONS), y=values, mode="lines+markers", name=str(row["model"])))
    fig.update_layout(
        xaxis_title="gemarkeerd deel van het gebied (%)" if lang == "nl" else "share of area flagged (%)",
        yaxis_title="PAI",
        legend={"orientation": "h", "y": -0.25},
        margin={"b": 120},
    )
    return fig


RELIABILITY_CAPTION = (
    "Counts are whole numbers, so a calibrated quantile's level lies between the shares of counts below and at "
    "or below it (bars must cross the diagonal); the mean PIT histogram is flat at 1 when calibrated."
)
RELIABILITY_CAPTION_OLD = (
    "Shares of counts at or below each quantile. Counts are whole numbers, so for a calibrated forecast these "
    "lie at or above the diagonal; this backtest predates the fair check (re-run it)."
)
PIT_TRUST = 0.9
"""Below this share of cells whose quantiles the recovered NB reproduces, a model's PIT histogram is flagged."""


RELIABILITY_CAPTION_NL = (
    "Tellingen zijn gehele getallen: bij een goed gekalibreerd kwantiel ligt het niveau tussen het aandeel strikt "
    "onder en op of onder dat kwantiel (balken kruisen de diagonaal). Wekelijkse aantallen zijn meestal 0, "
    "dus 'op of onder q05' is voor elk model hoog; het PIT-histogram (de verwachte gerandomiseerde PIT) is vlak "
    "op 1 bij goede kalibratie."
)


def reliability_figure(summary: pd.DataFrame, *, lang: Lang = "en") -> go.Figure:
    """Reliability of the predictive quantiles, fair to discrete counts.

    With the calibration columns of :mod:`pulsetwin.evaluation.calibration`: per model, the band between the
    shares below and at or below q05, q50, q95 (and inside the 90 % interval) against the nominal level, and
    the mean PIT histogram. Summaries of older backtests have only the at-or-below shares: those are drawn,
    with a caption saying they are upper ends.
    """
    if not set(STRICT_COLUMNS) <= set(summary.columns):
        return _reliability_points(summary)
    has_pit = set(PIT_COLUMNS) <= set(summary.columns)
    fig = make_subplots(
        rows=1, cols=2 if has_pit else 1, subplot_titles=_words(lang, "subplots")[: 1 + has_pit]
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": "#888"}, name="ideal"),
        row=1, col=1,
    )  # fmt: skip
    nominal = np.array([0.05, 0.5, 0.9, 0.95])
    offsets = np.linspace(-0.012, 0.012, max(len(summary), 1))
    for i, (_, row) in enumerate(summary.iterrows()):
        lower = np.array(
            [row["below_q05_strict"], row["below_q50_strict"], row["below_q95_strict"] - row["below_q05"],
             row["below_q95_strict"]], dtype=np.float64,
        )  # fmt: skip
        upper = np.array(
            [
                row["below_q05"],
                row["below_q50"],
                row["below_q95"] - row["below_q05_strict"],
                row["below_q95"],
            ],
            dtype=np.float64,
        )
        middle = (lower + upper) / 2.0
        name = str(row["model"])
        fig.add_trace(
            go.Scatter(
                x=nominal + offsets[i], y=middle, mode="markers", name=name, legendgroup=name,
                marker={"symbol": "line-ew-open", "size": 10, "color": _colour(i)},
                error_y={"type": "data", "symmetric": False, "array": upper - middle,
                         "arrayminus": middle - lower, "width": 4},
            ),
            row=1, col=1,
        )  # fmt: skip
        if has_pit:
            match = float(row.get("pit_match", np.nan))
            trusted = not np.isfinite(match) or match >= PIT_TRUST
            label = name if trusted else f"{name} (NB fits {match:.0%} of cells: do not trust)"
            fig.add_trace(
                go.Bar(
                    x=np.arange(0.05, 1.0, 0.1), y=10 * row[list(PIT_COLUMNS)].to_numpy(dtype=np.float64),
                    name=label, legendgroup=name, showlegend=not trusted, marker_color=_colour(i),
                    opacity=0.7 if trusted else 0.3,
                ),
                row=1, col=2,
            )  # fmt: skip
    if has_pit:
        fig.add_hline(y=1.0, line_dash="dash", line_color="#888", row=1, col=2)
        fig.update_xaxes(title_text="PIT", range=[0, 1], row=1, col=2)
        fig.update_yaxes(title_text=_words(lang, "density")[0], row=1, col=2)
    fig.update_xaxes(title_text=_words(lang, "nominal")[0], range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text=_words(lang, "observed")[0], range=[0, 1], row=1, col=1)
    caption = RELIABILITY_CAPTION_NL if lang == "nl" else RELIABILITY_CAPTION
    fig.update_layout(title={"text": caption, "font": {"size": 12}}, barmode="group")
    return fig


_RELIABILITY_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"subplots": ("quantile bands", "mean PIT histogram"), "density": ("density",),
           "nominal": ("nominal level (q05, q50, 90 % interval, q95)",), "observed": ("observed share",)},
    "nl": {"subplots": ("kwantielbanden", "gemiddeld PIT-histogram"), "density": ("dichtheid",),
           "nominal": ("nominaal niveau (q05, q50, 90%-interval, q95)",), "observed": ("waargenomen aandeel",)},
}  # fmt: skip


def _words(lang: Lang, key: str) -> tuple[str, ...]:
    """Axis and subplot words of the reliability figure in ``lang``."""
    return _RELIABILITY_WORDS[lang][key]


def _reliability_points(summary: pd.DataFrame) -> go.Figure:
    """Observed share at or below q05, q50, q95 (and inside [q05, q95]) against nominal levels."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash"}, name="ideal"))
    nominal = [0.05, 0.5, 0.9, 0.95]
    for _, row in summary.iterrows():
        observed = [row.get("below_q05"), row.get("below_q50"), row.get("coverage90"), row.get("below_q95")]
        fig.add_trace(go.Scatter(x=nominal, y=observed, mode="markers+lines", name=str(row["model"])))
    fig.update_layout(
        title={"text": RELIABILITY_CAPTION_OLD, "font": {"size": 12}},
        xaxis_title="nominal level (q05, q50, 90 % interval, q95)",
        yaxis_title="observed share",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1],
    )
    return fig


def _colour(i: int) -> str:
    """The i-th colour of plotly's default qualitative palette."""
    palette = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880")
    return palette[i % len(palette)]


def map_figure(
    forecasts: pd.DataFrame,
    areas: pd.DataFrame,
    *,
    freq: str = "",
    hotspots: Mapping[str, Any] | None = None,
    lang: Lang = "en",
) -> go.Figure:
    """Forecast mean of the first period (summed over categories) per area, filled polygons in up to 7 quantile
    classes (only distinct ones, labelled with as many decimals as tell them apart, unit in the legend title),
    wijk borders, buurt names on hover, and the highest-ranked cells of a hotspot map."""
    fig = go.Figure()
    if forecasts.empty:
        return fig
    first = forecasts[forecasts["period_start"] == forecasts["period_start"].min()]
    value = first.groupby("area_code")["mean"].sum()
    shapes = areas[areas["area_code"].isin(value.index)].drop_duplicates("area_code")
    if shapes.empty:
        return fig
    if geometry_state(shapes.set_index("area_code")["geometry"]) == "none":
        text = (
            "Geen kaart: de buurten zijn alleen met hun naam bekend, zonder grenzen."
            if lang == "nl"
            else f"No map: {NO_GEOMETRY}."
        )
        fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
        fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False})
        return fig
    geoms = shapely.from_wkt(shapes["geometry"].to_numpy())
    levels = value.reindex(shapes["area_code"]).to_numpy(dtype=np.float64)
    edges = np.unique(np.nanquantile(levels, np.linspace(0, 1, len(BLUES) + 1)))
    classes = np.clip(np.searchsorted(edges, levels, side="right") - 1, 0, max(len(edges) - 2, 0))
    digits = next((d for d in range(2, 6) if len({f"{e:.{d}f}" for e in edges}) == len(edges)), 6)
    for k in np.unique(classes):
        x, y = _ring_coordinates(geoms[classes == k])
        label = f"{edges[k]:.{digits}f}–{edges[min(k + 1, len(edges) - 1)]:.{digits}f}"
        fig.add_trace(
            go.Scatter(
                x=x, y=y, fill="toself", mode="lines", line={"width": 0.5, "color": "#555"},
                fillcolor=BLUES[int(k) % len(BLUES)], name=label, hoverinfo="skip",
            )
        )  # fmt: skip
    if "level" in areas.columns:
        wijken = areas[(areas["level"] == "wijk") & areas["geometry"].notna()]
        if not wijken.empty:
            x, y = _ring_coordinates(shapely.from_wkt(wijken["geometry"].to_numpy()))
            name = "wijkgrenzen" if lang == "nl" else "wijk borders"
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line={"width": 2, "color": "#111"}, name=name,
                                     hoverinfo="skip"))  # fmt: skip
    centres = shapely.point_on_surface(geoms)
    names = shapes["name"].fillna(shapes["area_code"]) if "name" in shapes.columns else shapes["area_code"]
    fig.add_trace(
        go.Scatter(
            x=shapely.get_x(centres), y=shapely.get_y(centres), mode="markers", marker={"size": 4, "opacity": 0},
            text=[f"{n}: {v:.2f}" for n, v in zip(names, levels, strict=True)], hoverinfo="text", showlegend=False,
        )
    )  # fmt: skip
    if hotspots is not None and hotspots.get("cells"):
        fig.add_trace(hotspot_trace(hotspots, lang))
    unit = f"per {Freq(freq).unit('nl' if lang == 'nl' else 'en')}" if freq in tuple(Freq) else ""
    title = f"verwacht {unit}" if lang == "nl" else f"expected {unit}"
    fig.update_layout(
        xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"}, legend_title=title.strip()
    )
    return fig


def _ring_coordinates(geoms: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exterior rings of (multi)polygons as x and y arrays with NaN between rings (plotly draws gaps)."""
    parts = shapely.get_parts(np.asarray(geoms))
    rings = shapely.get_exterior_ring(parts)
    coords, index = shapely.get_coordinates(rings, return_index=True)
    breaks = np.flatnonzero(np.diff(index)) + 1
    x = np.insert(coords[:, 0], breaks, np.nan)
    y = np.insert(coords[:, 1], breaks, np.nan)
    return x, y


def feedback_section(metrics: Mapping[str, Any], *, lang: Lang = "en") -> str:
    """The "Feedback loop" section: misallocation per week of each arm of a stored feedback-loop run."""
    settings = metrics.get("settings", {})
    summary = metrics.get("summary", {})
    ends = ", ".join(
        f"{html.escape(arm)} {values['misallocation']:.3f}"
        for arm, values in summary.items()
        if values.get("misallocation") is not None
    )
    figure = feedback_figure(metrics).to_html(
        full_html=False, include_plotlyjs=False, default_width="100%", default_height="420px"
    )
    category = html.escape(str(metrics.get("category", "")))
    model = html.escape(str(settings.get("model", "")))
    if lang == "nl":
        return f"""<h2>Terugkoppeling</h2>
<p>De gesloten patrouillelus op de ware {category}-frequenties van de synthetische stad, met model <b>{model}</b>
in de lus ({html.escape(str(settings.get("policy", "")))}-patrouille, k={html.escape(str(settings.get("k", "")))},
{html.escape(str(settings.get("runs", "")))} runs). Misallocatie is de afstand tussen waar gepatrouilleerd wordt en
waar de misdaad werkelijk is (0: de patrouille volgt de misdaad). De naïeve leerder leert van elke registratie en
ziet dus misdaad waar hij patrouilleert; de gecorrigeerde leerders wegen ontdekkingen met 1 / ontdekkingskans
(ipw) of leren alleen van burgermeldingen. Aan het eind van de lus: {ends}.</p>
{figure}"""
    return f"""<h2>Feedback loop</h2>
<p>The closed patrol loop on the twin's true {html.escape(str(metrics.get("category", "")))} rates with
model <b>{html.escape(str(settings.get("model", "")))}</b> in the loop ({html.escape(str(settings.get("policy", "")))}
patrol, k={html.escape(str(settings.get("k", "")))}, {html.escape(str(settings.get("runs", "")))} runs).
Misallocation is the total-variation distance between patrol shares and true-crime shares (0: patrol follows
crime). The naive learner learns from every record, so it sees crime where it patrols; the corrected learners
weight discoveries by 1 / propensity (ipw) or learn from citizen reports only. End of loop: {ends}.</p>
{figure}"""


def feedback_figure(metrics: Mapping[str, Any]) -> go.Figure:
    """Misallocation over the loop's weeks, one line per arm with its 5-95 % band over runs."""
    fig = go.Figure()
    weeks = list(metrics.get("weeks", []))
    for arm, series in metrics.get("arms", {}).items():
        values = series.get("misallocation")
        if values is None:
            continue
        if arm != "oracle":
            fig.add_trace(
                go.Scatter(
                    x=weeks + weeks[::-1], y=list(values["q95"]) + list(values["q05"])[::-1], fill="toself",
                    line={"width": 0}, opacity=0.2, showlegend=False, hoverinfo="skip", name=f"{arm} band",
                )
            )  # fmt: skip
        dash = "dash" if arm == "oracle" else "solid"
        fig.add_trace(go.Scatter(x=weeks, y=values["mean"], mode="lines", name=arm, line={"dash": dash}))
    fig.update_layout(xaxis_title="week", yaxis_title="misallocation (0 = patrol follows true crime)")
    return fig
