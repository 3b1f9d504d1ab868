"""Scalar metrics (``system.Metrics``) as a table."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from . import theme
from ._metadata import MetadataError, display_name, scalar_metrics
from ._text import escape

ROW_HEIGHT = 28


def format_value(value: float) -> str:
    """A metric for people: integers without ``.0``, others to 6 significant digits."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def metrics_table_figure(source: Any, *, title: str | None = None) -> go.Figure:
    """A two-column table (metric, value) of a ``system.Metrics`` artifact's metadata,
    in stored order. Non-numeric entries (KFP's ``display_name``, ...) are not metrics."""
    metrics = scalar_metrics(source)
    if not metrics:
        raise MetadataError("no scalar metrics in the metadata (no numeric entries)")
    name = display_name(source)
    if title is None:
        title = f"Scalar metrics: {escape(name)}" if name else "Scalar metrics"
    table = go.Table(
        columnwidth=[3, 2],
        header={
            "values": ["<b>Metric</b>", "<b>Value</b>"],
            "fill_color": theme.GRID_COLOR,
            "font": {"color": theme.TEXT_COLOR, "size": 13},
            "align": ["left", "right"],
            "height": ROW_HEIGHT + 4,
        },
        cells={
            "values": [[escape(k) for k in metrics], [format_value(v) for v in metrics.values()]],
            "fill_color": [["#ffffff" if i % 2 == 0 else "#f5f7fa" for i in range(len(metrics))]],
            "font": {"color": theme.TEXT_COLOR, "size": 12},
            "align": ["left", "right"],
            "height": ROW_HEIGHT,
        },
    )
    fig = theme.new_figure(
        title=title,
        height=min(120 + ROW_HEIGHT * (len(metrics) + 1), 900),
        margin={"l": 20, "r": 20, "t": 60, "b": 20},
    )
    fig.add_trace(table)
    return fig
