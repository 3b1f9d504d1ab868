"""Confusion matrix heatmap, in counts or normalized by true class."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from . import theme
from ._metadata import ConfusionMatrix, display_name, parse_confusion_matrix, unique_labels
from ._text import escape, truncate
from .metrics import format_value

X_TITLE = "Predicted label"
Y_TITLE = "True label"


def normalize_rows(rows: list[list[float]]) -> list[list[float]]:
    """Each row divided by its sum (the share of each true class predicted as each
    class), so every row with any items sums to 1; an empty row stays all zeros."""
    normalized: list[list[float]] = []
    for row in rows:
        total = sum(row)
        normalized.append([v / total if total else 0.0 for v in row])
    return normalized


def confusion_heatmap(
    matrix: ConfusionMatrix, *, normalize: bool = False, showscale: bool = True
) -> go.Heatmap:
    """The heatmap trace: rows are true labels, columns predicted labels."""
    labels = [escape(label) for label in unique_labels(matrix.categories)]
    counts = matrix.rows
    if normalize:
        z = normalize_rows(counts)
        text = [[f"{v:.0%}" if v else "0" for v in row] for row in z]
        hover = (
            "True: %{y}<br>Predicted: %{x}<br>Share of true class: %{z:.1%}"
            "<br>Count: %{customdata}<extra></extra>"
        )
        colorbar_title = "Share"
    else:
        z = [list(row) for row in counts]
        text = [[format_value(v) for v in row] for row in counts]
        hover = "True: %{y}<br>Predicted: %{x}<br>Count: %{customdata}<extra></extra>"
        colorbar_title = "Count"
    return go.Heatmap(
        z=z,
        x=labels,
        y=labels,
        text=text,
        texttemplate="%{text}",
        customdata=[[format_value(v) for v in row] for row in counts],
        hovertemplate=hover,
        colorscale=theme.heatmap_colorscale(),
        zmin=0,
        zmax=1 if normalize else max((max(row) for row in counts), default=0) or 1,
        xgap=2,
        ygap=2,
        showscale=showscale,
        colorbar={"title": {"text": colorbar_title}, "thickness": 14},
    )


def confusion_matrix_figure(
    source: Any, *, normalize: bool = False, title: str | None = None
) -> go.Figure:
    """A ``system.ClassificationMetrics`` artifact's confusion matrix as a heatmap
    (KFP's and ours store the same ``confusionMatrix`` layout). With ``normalize``, each
    cell is the share of its true class (rows sum to 1)."""
    matrix = parse_confusion_matrix(source)
    if title is None:
        name = display_name(source) if not _is_bare_matrix(source) else None
        title = "Confusion matrix" + (" (normalized)" if normalize else "")
        if name:
            title += f": {escape(name)}"
    size = len(matrix.categories)
    fig = theme.new_figure(
        title=title,
        x_title=X_TITLE,
        y_title=Y_TITLE,
        height=min(max(360, 80 * size + 160), 1000),
    )
    fig.add_trace(confusion_heatmap(matrix, normalize=normalize))
    fig.update_xaxes(type="category", showgrid=False, side="bottom")
    fig.update_yaxes(type="category", showgrid=False, autorange="reversed")
    names = unique_labels(matrix.categories)
    if any(len(name) > TICK_CHARS for name in names):
        # Long class names would take the plot's room as tick labels: cut there, whole
        # in the hover text (the cells' x and y).
        ticks = {
            "tickmode": "array",
            "tickvals": [escape(name) for name in names],
            "ticktext": [escape(truncate(name, TICK_CHARS)) for name in names],
        }
        fig.update_xaxes(**ticks)
        fig.update_yaxes(**ticks)
    return fig


TICK_CHARS = 18


def _is_bare_matrix(source: Any) -> bool:
    return isinstance(source, dict) and "annotationSpecs" in source
