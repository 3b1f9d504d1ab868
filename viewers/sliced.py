"""Sliced classification metrics: ROC by slice, a per-slice summary, a matrix per slice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import theme
from ._metadata import MetadataError, display_name, field, parse_confusion_matrix, parse_slices
from ._text import escape
from .confusion import X_TITLE, Y_TITLE, confusion_heatmap
from .curves import Curve, chance_trace, roc_curve_data, roc_trace, style_unit_axes


@dataclass(frozen=True)
class SliceSummary:
    """What one slice has: its ROC curve and its accuracy, each when stored."""

    slice: str
    roc: Curve | None
    accuracy: float | None


def slice_summaries(source: Any) -> list[SliceSummary]:
    """One summary per slice, in stored order (malformed data in a slice raises)."""
    summaries = []
    for label, metrics in parse_slices(source):
        try:
            roc = roc_curve_data(metrics) if field(metrics, "confidenceMetrics") else None
            accuracy = (
                parse_confusion_matrix(metrics).accuracy
                if field(metrics, "confusionMatrix")
                else None
            )
        except MetadataError as exc:
            raise MetadataError(f"slice {label!r}: {exc}") from None
        summaries.append(SliceSummary(label, roc, accuracy))
    return summaries


def sliced_metrics_figure(source: Any, *, title: str | None = None) -> go.Figure:
    """ROC curves of all slices overlaid (AUC in the legend) beside a bar chart of each
    slice's ROC AUC and accuracy (from its confusion matrix). A panel is left out when no
    slice has its data; no data at all raises ``MetadataError``."""
    summaries = slice_summaries(source)
    with_roc = [s for s in summaries if s.roc is not None]
    has_accuracy = any(s.accuracy is not None for s in summaries)
    if not with_roc and not has_accuracy:
        raise MetadataError("no slice has ROC data or a confusion matrix")
    name = display_name(source)
    if title is None:
        title = f"Sliced metrics: {escape(name)}" if name else "Sliced metrics"

    panels = (["ROC curve by slice"] if with_roc else []) + ["Summary by slice"]
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        subplot_titles=panels,
        column_widths=[0.55, 0.45] if len(panels) == 2 else None,
        horizontal_spacing=0.12,
    )
    theme.apply_theme(fig, title=title, height=520)
    colors = {s.slice: theme.series_color(i) for i, s in enumerate(summaries)}

    if with_roc:
        fig.add_trace(chance_trace(), row=1, col=1)
        for s in with_roc:
            assert s.roc is not None
            fig.add_trace(
                roc_trace(
                    s.roc,
                    name=f"{escape(s.slice)} (AUC = {s.roc.auc:.3f})",
                    color=colors[s.slice],
                ),
                row=1,
                col=1,
            )
        style_unit_axes(
            fig, x_title="False positive rate", y_title="True positive rate", row=1, col=1
        )

    col = len(panels)
    labels = [escape(s.slice) for s in summaries]
    measures = []
    if with_roc:
        measures.append(("ROC AUC", [s.roc.auc if s.roc else None for s in summaries], 0))
    if has_accuracy:
        measures.append(("Accuracy", [s.accuracy for s in summaries], 2))
    for measure, values, color_index in measures:
        fig.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name=measure,
                marker_color=theme.series_color(color_index),
                text=[f"{v:.3f}" if v is not None else "" for v in values],
                textposition="outside",
                hovertemplate=f"{measure}<br>slice: %{{x}}<br>%{{y:.3f}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(range=[0, 1.1], title_text="Score", row=1, col=col)
    fig.update_xaxes(title_text="Slice", type="category", row=1, col=col)
    fig.update_layout(barmode="group")
    return fig


def sliced_confusion_matrix_figure(
    source: Any, *, normalize: bool = False, title: str | None = None
) -> go.Figure:
    """One confusion-matrix heatmap per slice that has one, the first shown and a
    dropdown to switch slices."""
    matrices = []
    for label, metrics in parse_slices(source):
        if field(metrics, "confusionMatrix") is None:
            continue
        try:
            matrices.append((label, parse_confusion_matrix(metrics)))
        except MetadataError as exc:
            raise MetadataError(f"slice {label!r}: {exc}") from None
    if not matrices:
        raise MetadataError("no slice has a confusion matrix")
    name = display_name(source)
    base = "Confusion matrix" + (" (normalized)" if normalize else "")
    if title is None:
        title = f"{base}: {escape(name)}" if name else base

    def slice_title(label: str) -> str:
        return f"{title} — slice {escape(label)}"

    fig = theme.new_figure(
        title=slice_title(matrices[0][0]),
        x_title=X_TITLE,
        y_title=Y_TITLE,
        height=min(max(400, 80 * max(len(m.categories) for _, m in matrices) + 200), 1000),
    )
    for i, (label, matrix) in enumerate(matrices):
        trace = confusion_heatmap(matrix, normalize=normalize)
        trace.update(name=escape(label), visible=i == 0)
        fig.add_trace(trace)
    buttons = [
        {
            "label": escape(label),
            "method": "update",
            "args": [
                {"visible": [j == i for j in range(len(matrices))]},
                {"title": {"text": slice_title(label)}},
            ],
        }
        for i, (label, _) in enumerate(matrices)
    ]
    fig.update_layout(
        updatemenus=[
            {
                "buttons": buttons,
                "direction": "down",
                "x": 1.0,
                "xanchor": "right",
                "y": 1.12,
                "yanchor": "bottom",
                "showactive": True,
            }
        ]
    )
    fig.update_xaxes(type="category", showgrid=False)
    fig.update_yaxes(type="category", showgrid=False, autorange="reversed")
    return fig
