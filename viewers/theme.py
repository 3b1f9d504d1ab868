"""The one look of every figure: template, palettes, node and state styles.

Builders call :func:`new_figure` (or :func:`apply_theme`), never style figures on their own,
so colors, fonts and margins stay consistent across the UI. The template is also
registered with plotly as ``"lineage"`` (not made the global default).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

TEMPLATE_NAME = "lineage"

FONT_FAMILY = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
TEXT_COLOR = "#1f2933"
MUTED_COLOR = "#7b8794"
GRID_COLOR = "#e4e7eb"
BACKGROUND = "#ffffff"

# Qualitative palette for series (runs, slices): colorblind-safe (Okabe-Ito, reordered).
COLORWAY: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)

# Sequential scale for heatmaps: white to deep blue.
HEATMAP_COLORSCALE: tuple[tuple[float, str], ...] = (
    (0.0, "#f7fbff"),
    (0.25, "#c6dbef"),
    (0.5, "#6baed6"),
    (0.75, "#2171b5"),
    (1.0, "#08306b"),
)

# Reference lines (chance diagonal, baselines).
REFERENCE_LINE: dict[str, Any] = {"color": MUTED_COLOR, "width": 1.5, "dash": "dash"}

# Lineage graph nodes: fill color and symbol by kind, outline by state.
KIND_COLORS: dict[str, str] = {
    "artifact": "#4C9BE8",
    "execution": "#F5A524",
    "context": "#9B7BD4",
}
KIND_SYMBOLS: dict[str, str] = {
    "artifact": "circle",
    "execution": "square",
    "context": "diamond",
}
STATE_COLORS: dict[str, str] = {
    # executions
    "NEW": "#9aa5b1",
    "RUNNING": "#2186eb",
    "COMPLETE": "#1f9d55",
    "FAILED": "#d64545",
    "CACHED": "#7b61ff",
    "CANCELED": "#e8a33d",
    # artifacts
    "PENDING": "#9aa5b1",
    "LIVE": "#1f9d55",
    "MARKED_FOR_DELETION": "#e8a33d",
    "DELETED": "#52606d",
    "ABANDONED": "#d64545",
    "REFERENCE": "#17a2b8",
    # either
    "UNKNOWN": "#cbd2d9",
}
EDGE_COLORS: dict[str, str] = {
    "input": "#8896a5",
    "output": "#52606d",
    "attribution": "#c3b5e6",
    "association": "#c3b5e6",
}
DEFAULT_EDGE_COLOR = "#b0bac5"


def _build_template() -> go.layout.Template:
    template = go.layout.Template(pio.templates["plotly_white"])
    axis = {
        "gridcolor": GRID_COLOR,
        "linecolor": GRID_COLOR,
        "zerolinecolor": GRID_COLOR,
        "title": {"font": {"size": 13, "color": TEXT_COLOR}},
        "tickfont": {"size": 11, "color": TEXT_COLOR},
        "automargin": True,
    }
    template.layout.update(
        font={"family": FONT_FAMILY, "size": 12, "color": TEXT_COLOR},
        title={"font": {"size": 16, "color": TEXT_COLOR}, "x": 0.02, "xanchor": "left"},
        colorway=list(COLORWAY),
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        margin={"l": 60, "r": 30, "t": 60, "b": 55},
        hoverlabel={"font": {"family": FONT_FAMILY, "size": 12}, "align": "left"},
        legend={"bgcolor": "rgba(255,255,255,0.85)", "bordercolor": GRID_COLOR, "borderwidth": 1},
        xaxis=axis,
        yaxis=axis,
        colorscale={"sequential": [list(stop) for stop in HEATMAP_COLORSCALE]},
    )
    return template


TEMPLATE: go.layout.Template = _build_template()
pio.templates[TEMPLATE_NAME] = TEMPLATE


def apply_theme(
    fig: go.Figure,
    *,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    **layout: Any,
) -> go.Figure:
    """Give ``fig`` the template and the titles; extra keywords go to ``update_layout``."""
    fig.update_layout(template=TEMPLATE, **layout)
    if title is not None:
        fig.update_layout(title={"text": title})
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig


def new_figure(
    *,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    **layout: Any,
) -> go.Figure:
    """An empty figure with the template and titles applied."""
    return apply_theme(go.Figure(), title=title, x_title=x_title, y_title=y_title, **layout)


def series_color(index: int) -> str:
    """The color of the ``index``-th series (run, slice), cycling through the palette."""
    return COLORWAY[index % len(COLORWAY)]


def heatmap_colorscale() -> list[list[Any]]:
    return [list(stop) for stop in HEATMAP_COLORSCALE]
