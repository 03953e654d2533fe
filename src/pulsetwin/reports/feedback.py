"""The report's closed-loop section: misallocation of patrols over time in a ``feedback_loop`` run, naive
against corrected learners.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from pulsetwin.schema.language import Lang


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
