"""Report sections a non-statistician reads first, in Dutch and English: the two statuses, what each measure
means, the fairness finding with exposure per group against the band, and the hotspot cells.

The words of the statuses and of the audit come from :mod:`pulsetwin.audit.release` and
:mod:`pulsetwin.audit.summary`, the same sentences the dashboard and the command line show.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from pulsetwin.audit.release import ReleaseStatus, SkillStatus
from pulsetwin.audit.summary import summarise_audit
from pulsetwin.schema.language import Lang

MEASURES: dict[Lang, tuple[str, ...]] = {
    "nl": (
        "Vaardigheid (skill): hoeveel kleiner de fout van het model is dan die van de beste simpele vuistregel "
        "(0 = even goed, 0,1 = 10 % minder fout). Alleen als het hele interval boven 0 ligt, is het model "
        "aantoonbaar beter.",
        "Afwijking (deviance), MAE, RMSE, WIS en log score: hoe ver de voorspellingen naast de geregistreerde "
        "aantallen lagen, elk op een eigen manier gemeten; lager is beter.",
        "Dekking (coverage90): in welk deel van de gevallen het geregistreerde aantal binnen de 90%-band viel; "
        "hoort rond 0,90 te liggen.",
        "PAI en PEI: hoeveel keer meer meldingen er vallen in de 3 % van het gebied die het model als hoogste "
        "aanwijst dan die oppervlakte doet verwachten (PAI boven 1 is beter dan willekeur); PEI: welk deel van "
        "het best haalbare dat is.",
        "Kalibratie (PIT): of uitkomsten even vaak onder elk kwantiel vallen als beloofd; een vlak histogram "
        "betekent dat de onzekerheidsband klopt.",
        "Deel van de kloof (gap_share): welk deel van de afstand tussen de beste vuistregel en de ware "
        "intensiteit het model overbrugt. Alleen te meten op de synthetische stad, waar de waarheid bekend is; "
        "op echte gegevens staat er '–'.",
    ),
    "en": (
        "Skill: how much smaller the model's error is than that of the best simple rule of thumb (0 = as good, "
        "0.1 = 10 % less error). Only when the whole interval lies above 0 is the model shown to be better.",
        "Deviance, MAE, RMSE, WIS and log score: how far the forecasts were from the recorded counts, each "
        "measured its own way; lower is better.",
        "Coverage (coverage90): in what share of cases the recorded count fell inside the 90% band; should be "
        "about 0.90.",
        "PAI and PEI: how many times more reports fall in the 3 % of the area the model ranks highest than that "
        "area would suggest (PAI above 1 beats chance); PEI: what share of the best attainable that is.",
        "Calibration (PIT): whether outcomes fall below each quantile as often as promised; a flat histogram "
        "means the uncertainty band is right.",
        "Gap share: what part of the distance between the best rule and the true intensity the model closes. "
        "Only measurable on the synthetic city, where the truth is known; on real data it shows '–'.",
    ),
}


def statuses_html(skill: SkillStatus | None, release: ReleaseStatus | None, lang: Lang) -> str:
    """The two statuses as two coloured paragraphs (none when the run has no statuses)."""
    parts = []
    if skill is not None:
        cls = {"beats": "ok", "does_not": "bad"}.get(skill.state, "warn")
        head = "Vaardigheid" if lang == "nl" else "Skill"
        text = html.escape(skill.sentence(lang))
        parts.append(f"<p class='{cls}' id='status-skill-{lang}'><b>{head}:</b> {text}</p>")
    if release is not None:
        cls = {"released": "ok", "blocked": "bad"}.get(release.state, "warn")
        head = "Vrijgave" if lang == "nl" else "Release"
        link = f" <a href='#fairness-{lang}'>{'Zie Eerlijkheid.' if lang == 'nl' else 'See Fairness.'}</a>"
        text = html.escape(release.sentence(lang)) + (link if release.audit_run else "")
        parts.append(f"<p class='{cls}' id='status-release-{lang}'><b>{head}:</b> {text}</p>")
    return "\n".join(parts)


def measures_html(lang: Lang) -> str:
    """One line per measure, for a reader who is not a statistician."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in MEASURES[lang])
    title = "Wat de maten betekenen" if lang == "nl" else "What the measures mean"
    return f"<h2>{title}</h2><ul>{items}</ul>"


def exposure_figure(group: Mapping[str, Any], lang: Lang) -> go.Figure:
    """Exposure per group as bars (ratio to the reference on each bar), the band around the reference dashed."""
    rows = group["groups"]
    ratio = [
        ("referentie" if lang == "nl" else "reference")
        if r["reference"]
        else "–"
        if r["ratio"] is None
        else f"×{r['ratio']:.2f}{'*' if r['corrected'] else ''}"
        for r in rows
    ]
    fig = go.Figure(
        go.Bar(
            x=[r["short"] for r in rows], y=[(r["exposure"] or 0.0) * 100 for r in rows], text=ratio,
            textposition="outside",
            marker_color=["#b03a2e" if r["out_of_band"] else "#6b7280" if r["reference"] else "#3182bd" for r in rows],
        )
    )  # fmt: skip
    ref = next((r for r in rows if r["reference"]), None)
    if ref is not None and ref["exposure"]:
        for limit in group["band"]:
            fig.add_hline(y=ref["exposure"] * limit * 100, line_dash="dash", line_color="#8a5a00")
    fig.update_layout(
        title=("Blootstelling naar " if lang == "nl" else "Exposure by ") + str(group["label"]),
        yaxis_title="% inwoners in gemarkeerde buurt" if lang == "nl" else "% residents in flagged buurt",
        showlegend=False,
    )
    return fig


def fairness_html(audit: Mapping[str, Any] | None, lang: Lang) -> str:
    """The fairness section: the finding first, then a chart per grouping and one sentence each on
    differences, proxies, measurement bias and mitigations."""
    title = "Eerlijkheid" if lang == "nl" else "Fairness"
    if audit is None:
        none = (
            "Deze run is nog niet geaudit (pulsetwin audit)."
            if lang == "nl"
            else "This run has not been audited yet (pulsetwin audit)."
        )
        return f"<h2 id='fairness-{lang}'>{title}</h2><p>{none}</p>"
    words = summarise_audit(dict(audit), lang)
    cls = {"blocked": "bad", "passed": "ok"}.get(words["verdict"], "warn")
    figures = "".join(
        exposure_figure(g, lang).to_html(
            full_html=False, include_plotlyjs=False, default_width="100%", default_height="380px"
        )
        for g in words["exposure"]
    )
    sections = []
    for key, head in (("disparity", ("Verschillen tussen groepen", "Differences between groups")),
                      ("proxies", ("Verborgen kenmerken (proxy's)", "Hidden attributes (proxies)")),
                      ("measurement", ("Meetvertekening", "Measurement bias")),
                      ("mitigation", ("Maatregelen", "Mitigations"))):  # fmt: skip
        for sentence in words[key]:
            sections.append(f"<p><b>{head[0 if lang == 'nl' else 1]}.</b> {html.escape(sentence)}</p>")
    return (
        f"<h2 id='fairness-{lang}'>{title}</h2><p class='{cls}'>{html.escape(words['headline'])}</p>"
        + figures
        + "".join(sections)
    )


def hotspot_trace(hotspots: Mapping[str, Any], lang: Lang, limit: int = 60) -> go.Scatter:
    """The highest-ranked cells of a stored hotspot map as filled squares (RD metres) for the forecast map."""
    cells = hotspots.get("cells") or {}
    rows = sorted(zip(cells.get("rank", []), cells.get("x_min", []), cells.get("y_min", []), strict=True))[
        :limit
    ]
    size = float(hotspots.get("cell_m", 125))
    xs: list[float | None] = []
    ys: list[float | None] = []
    for _, x, y in rows:
        xs += [x, x + size, x + size, x, x, None]
        ys += [y, y, y + size, y + size, y, None]
    name = f"brandpuntcellen ({len(rows)} hoogste)" if lang == "nl" else f"hotspot cells (top {len(rows)})"
    return go.Scatter(
        x=xs, y=ys, fill="toself", mode="lines", line={"width": 0.5, "color": "#7f1d1d"}, fillcolor="#c0392b",
        name=name, hoverinfo="name",
    )  # fmt: skip
