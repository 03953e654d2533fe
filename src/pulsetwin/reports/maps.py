"""The report's forecast map, drawn from the areas' WKT in RD coordinates (no map tiles: the page works offline)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from pulsetwin.reports.sections import hotspot_trace
from pulsetwin.schema.geometry import NO_GEOMETRY, geometry_state
from pulsetwin.schema.language import Lang
from pulsetwin.schema.periods import Freq

BLUES = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594")


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
