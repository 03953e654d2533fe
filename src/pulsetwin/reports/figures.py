"""The report's evidence charts: skill against the best naive baseline with intervals, PAI curves per model,
and the reliability diagram of the predictive quantiles (with the PIT histogram where the runs stored one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pulsetwin.evaluation.calibration import PIT_COLUMNS, STRICT_COLUMNS
from pulsetwin.schema.language import Lang

FRACTIONS = (1, 3, 5, 10)


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
