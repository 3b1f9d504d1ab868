"""Run comparison: metrics side by side, ROC curves overlaid.

``runs`` is a mapping from a run's label to one artifact's metadata (or a list of
``(label, metadata)`` pairs, to keep an order or repeat labels); the order is kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import theme
from ._metadata import MetadataError, as_metadata, field, scalar_metrics
from ._text import escape, truncate
from .curves import chance_trace, roc_curve_data, roc_trace, style_unit_axes
from .metrics import format_value

Runs = Mapping[str, Any] | Sequence[tuple[str, Any]]

MISSING = "—"


def _runs(runs: Runs) -> list[tuple[str, Any]]:
    if isinstance(runs, Mapping):
        pairs = list(runs.items())
    elif isinstance(runs, Sequence) and not isinstance(runs, str):
        pairs = list(runs)
        if not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
            raise MetadataError("runs must be a mapping or a list of (label, metadata) pairs")
    else:
        raise MetadataError(
            f"runs must be a mapping of label to metadata, got {type(runs).__name__}"
        )
    if not pairs:
        raise MetadataError("no runs to compare")
    return [(str(label), metadata) for label, metadata in pairs]


def _metric_table(runs: Runs) -> tuple[list[str], list[str], dict[str, dict[str, float]]]:
    """Run labels, metric names (first-seen order) and each run's metrics."""
    pairs = _runs(runs)
    per_run: dict[str, dict[str, float]] = {}
    names: dict[str, None] = {}
    labels = []
    for label, metadata in pairs:
        try:
            metrics = scalar_metrics(metadata)
        except MetadataError as exc:
            raise MetadataError(f"run {label!r}: {exc}") from None
        labels.append(label)
        per_run[label] = metrics
        names.update(dict.fromkeys(metrics))
    if not names:
        raise MetadataError("none of the runs has scalar metrics")
    return labels, list(names), per_run


def compare_metrics_table(runs: Runs, *, title: str | None = None) -> go.Figure:
    """A table with a row per metric and a column per run; a metric a run lacks shows
    as a dash. The best-looking value is not highlighted: whether higher is better
    depends on the metric."""
    labels, names, per_run = _metric_table(runs)
    header = ["<b>Metric</b>"] + [f"<b>{escape(truncate(label, 40))}</b>" for label in labels]
    columns = [[escape(n) for n in names]]
    for label in labels:
        metrics = per_run[label]
        columns.append([format_value(metrics[n]) if n in metrics else MISSING for n in names])
    fig = theme.new_figure(
        title=title or "Metrics by run",
        height=min(140 + 28 * (len(names) + 1), 900),
        margin={"l": 20, "r": 20, "t": 60, "b": 20},
    )
    fig.add_trace(
        go.Table(
            header={
                "values": header,
                "fill_color": theme.GRID_COLOR,
                "font": {"color": theme.TEXT_COLOR, "size": 13},
                "align": ["left"] + ["right"] * len(labels),
                "height": 32,
            },
            cells={
                "values": columns,
                "fill_color": [["#ffffff" if i % 2 == 0 else "#f5f7fa" for i in range(len(names))]],
                "font": {"color": theme.TEXT_COLOR, "size": 12},
                "align": ["left"] + ["right"] * len(labels),
                "height": 28,
            },
        )
    )
    return fig


def compare_metrics_figure(
    runs: Runs,
    *,
    metrics: Sequence[str] | None = None,
    columns: int = 3,
    title: str | None = None,
) -> go.Figure:
    """Small multiples: one bar panel per metric (each on its own scale), a bar per run,
    each run in the same color in every panel. ``metrics`` picks and orders the panels."""
    labels, names, per_run = _metric_table(runs)
    if metrics is not None:
        unknown = [m for m in metrics if m not in names]
        if unknown:
            raise MetadataError(f"no run has the metrics {unknown}; known: {names}")
        names = list(metrics)
    if not names:
        raise MetadataError("no metrics to compare")
    cols = max(1, min(columns, len(names)))
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[escape(truncate(n, 40)) for n in names],
        horizontal_spacing=0.08,
        vertical_spacing=min(0.15, 0.6 / rows),
    )
    theme.apply_theme(fig, title=title or "Metrics by run", height=max(360, 300 * rows))
    x_labels = [escape(truncate(label, 30)) for label in labels]
    for run_index, label in enumerate(labels):
        color = theme.series_color(run_index)
        for index, name in enumerate(names):
            value = per_run[label].get(name)
            fig.add_trace(
                go.Bar(
                    x=[x_labels[run_index]],
                    y=[value],
                    name=escape(label),
                    legendgroup=label,
                    showlegend=index == 0,
                    marker_color=color,
                    text=[format_value(value) if value is not None else MISSING],
                    textposition="auto",
                    hovertemplate=f"{escape(label)}<br>{escape(name)}: %{{y}}<extra></extra>",
                ),
                row=index // cols + 1,
                col=index % cols + 1,
            )
    fig.update_xaxes(type="category", showticklabels=len(labels) <= 6)
    return fig


def compare_roc_figure(runs: Runs, *, title: str | None = None) -> go.Figure:
    """The ROC curves of several runs' ``system.ClassificationMetrics`` overlaid, each
    run's AUC in its legend entry. Runs without ROC data are listed in a note; if no run
    has any, ``MetadataError``."""
    pairs = _runs(runs)
    fig = theme.new_figure(
        title=title or "ROC curves by run",
        x_title="False positive rate",
        y_title="True positive rate",
        height=560,
        legend={"x": 0.98, "y": 0.02, "xanchor": "right", "yanchor": "bottom"},
    )
    fig.add_trace(chance_trace())
    missing = []
    unreadable: list[str] = []
    drawn = 0
    for index, (label, metadata) in enumerate(pairs):
        if isinstance(metadata, list):
            has_roc = bool(metadata)
        else:
            has_roc = field(_as_map(metadata, label), "confidenceMetrics") is not None
        if not has_roc:
            missing.append(label)
            continue
        try:
            curve = roc_curve_data(metadata)
        except MetadataError as exc:
            # One bad artifact must not hide the other runs' curves: said in a note.
            unreadable.append(f"run {label!r}: {exc}")
            continue
        fig.add_trace(
            roc_trace(
                curve,
                name=f"{escape(truncate(label, 40))} (AUC = {curve.auc:.3f})",
                color=theme.series_color(index),
            )
        )
        drawn += 1
    if not drawn:
        if unreadable:
            raise MetadataError("; ".join(unreadable))
        raise MetadataError("none of the runs has ROC data (confidenceMetrics)")
    style_unit_axes(fig, x_title="False positive rate", y_title="True positive rate")
    notes = []
    if missing:
        notes.append("No ROC data: " + ", ".join(escape(truncate(m, 30)) for m in missing))
    notes.extend(f"Not drawn, {escape(truncate(u, 120))}" for u in unreadable)
    if notes:
        fig.add_annotation(
            text="<br>".join(notes),
            xref="paper",
            yref="paper",
            x=0,
            y=1.0,
            yanchor="bottom",
            showarrow=False,
            font={"color": theme.MUTED_COLOR, "size": 11},
        )
    return fig


def _as_map(metadata: Any, label: str) -> Mapping[str, Any]:
    try:
        return as_metadata(metadata)
    except MetadataError as exc:
        raise MetadataError(f"run {label!r}: {exc}") from None
