"""ROC and precision-recall curves, with the area under each (trapezoid rule)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from . import theme
from ._metadata import (
    MetadataError,
    as_metadata,
    display_name,
    field,
    parse_confidence_metrics,
    parse_confusion_matrix,
)
from ._text import escape


@dataclass(frozen=True)
class Curve:
    """Points of a curve in drawing order, their thresholds, and the area under it."""

    x: list[float]
    y: list[float]
    thresholds: list[float | None]
    auc: float


def auc(x: Sequence[float], y: Sequence[float]) -> float:
    """Area under the curve through the points, by the trapezoid rule, points taken in
    increasing ``x`` (ties in increasing ``y``)."""
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    points = sorted(zip(x, y, strict=True))
    area = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        area += (x1 - x0) * (y0 + y1) / 2
    return area


def roc_curve_data(source: Any) -> Curve:
    """The ROC curve (false positive rate, true positive rate) of stored
    ``confidenceMetrics``. Its AUC counts the curve from (0, 0) to (1, 1), the points every
    ROC curve passes through (thresholds above and below every score), even when they
    were not logged: a perfect classifier scores 1.0, the diagonal 0.5."""
    points = parse_confidence_metrics(source)
    rows = []
    for i, p in enumerate(points):
        if p.false_positive_rate is None:
            raise MetadataError(f"confidenceMetrics[{i}] has no 'falsePositiveRate'")
        rows.append((p.false_positive_rate, p.recall, p.threshold))
    rows.sort(key=lambda r: (r[0], r[1]))
    fpr = [r[0] for r in rows]
    tpr = [r[1] for r in rows]
    area = auc([0.0, *fpr, 1.0], [0.0, *tpr, 1.0])
    return Curve(x=fpr, y=tpr, thresholds=[r[2] for r in rows], auc=area)


def class_counts(source: Any, positive_label: str | None = None) -> tuple[float, float]:
    """(positives, negatives) from a binary confusion matrix in the metadata; the
    positive class is ``positive_label``, by default the second category (scikit-learn's
    convention for labels 0/1 or False/True)."""
    matrix = parse_confusion_matrix(source)
    if len(matrix.categories) != 2:
        raise MetadataError(
            f"class counts need a binary confusion matrix, got {len(matrix.categories)} categories"
        )
    if positive_label is None:
        index = 1
    elif positive_label in matrix.categories:
        index = matrix.categories.index(positive_label)
    else:
        raise MetadataError(
            f"unknown positive label {positive_label!r}: expected one of {matrix.categories}"
        )
    return sum(matrix.rows[index]), sum(matrix.rows[1 - index])


def precision_recall_data(
    source: Any,
    *,
    positives: float | None = None,
    negatives: float | None = None,
    positive_label: str | None = None,
) -> tuple[Curve, float | None]:
    """The precision-recall curve and the positive rate (the no-skill baseline, when known).

    Precision is taken from the stored points when they carry it (``precision``, or
    Vertex's true/false positive counts). Otherwise it is computed from the ROC point and
    the class sizes, ``precision = tpr*P / (tpr*P + fpr*N)``, with ``P``/``N`` given or
    read from a binary confusion matrix stored beside the curve. Where nothing is predicted
    positive (the ROC point (0, 0)), precision is 1, as scikit-learn's
    ``precision_recall_curve`` has it. AUC is the trapezoid area over the points drawn.
    """
    points = parse_confidence_metrics(source)
    counts: tuple[float, float] | None = None
    counts_problem = ""
    if positives is not None or negatives is not None:
        if positives is None or negatives is None:
            raise ValueError("give both positives and negatives, or neither")
        if positives < 0 or negatives < 0 or positives + negatives == 0:
            raise ValueError("positives and negatives must be non-negative, not both 0")
        counts = (float(positives), float(negatives))
    elif not isinstance(source, list) and field(as_metadata(source), "confusionMatrix"):
        try:
            counts = class_counts(source, positive_label)
        except MetadataError as exc:
            counts_problem = f" (the stored confusion matrix does not give them: {exc})"
    rows: list[tuple[float, float, float | None]] = []
    for i, p in enumerate(points):
        precision = p.precision
        if precision is None:
            if counts is None or p.false_positive_rate is None:
                raise MetadataError(
                    f"confidenceMetrics[{i}] has no precision and it cannot be computed: "
                    "store 'precision', or a binary confusion matrix, or pass "
                    "positives= and negatives=" + counts_problem
                )
            pos, neg = counts
            predicted = p.recall * pos + p.false_positive_rate * neg
            if predicted > 0:
                precision = p.recall * pos / predicted
            elif p.recall == 0:
                precision = 1.0  # nothing predicted positive: scikit-learn's convention
            else:
                continue
        rows.append((p.recall, precision, p.threshold))
    if not rows:
        raise MetadataError("no point of the curve has a defined precision")
    rows.sort(key=lambda r: (r[0], -r[1]))
    recall = [r[0] for r in rows]
    precision_values = [r[1] for r in rows]
    baseline = None
    if counts is not None and sum(counts) > 0:
        baseline = counts[0] / sum(counts)
    curve = Curve(
        x=recall,
        y=precision_values,
        thresholds=[r[2] for r in rows],
        auc=auc(recall, precision_values),
    )
    return curve, baseline


# ---------------------------------------------------------------- traces


def roc_trace(curve: Curve, *, name: str, color: str, showlegend: bool = True) -> go.Scatter:
    # Drawn from (0, 0) to (1, 1), as its AUC counts it, also where those points were not
    # logged (one logged point would be a lone dot).
    x, y, thresholds = list(curve.x), list(curve.y), list(curve.thresholds)
    if not x or (x[0], y[0]) != (0.0, 0.0):
        x, y, thresholds = [0.0, *x], [0.0, *y], ["—", *thresholds]
    if (x[-1], y[-1]) != (1.0, 1.0):
        x, y, thresholds = [*x, 1.0], [*y, 1.0], [*thresholds, "—"]
    return go.Scatter(
        x=x,
        y=y,
        customdata=thresholds,
        mode="lines+markers" if len(x) <= 60 else "lines",
        name=name,
        legendgroup=name,
        showlegend=showlegend,
        line={"color": color, "width": 2.5, "shape": "linear"},
        marker={"size": 5, "color": color},
        hovertemplate=(
            "<b>%{fullData.name}</b><br>FPR: %{x:.3f}<br>TPR: %{y:.3f}"
            "<br>threshold: %{customdata}<extra></extra>"
        ),
    )


def chance_trace(*, showlegend: bool = True) -> go.Scatter:
    """The diagonal of a classifier that guesses (AUC 0.5)."""
    return go.Scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        name="Chance (AUC = 0.5)",
        legendgroup="chance",
        showlegend=showlegend,
        line=theme.REFERENCE_LINE,
        hoverinfo="skip",
    )


def style_unit_axes(fig: go.Figure, *, x_title: str, y_title: str, **kwargs: Any) -> None:
    """Both axes over [0, 1] with a little room, the same scale on both."""
    fig.update_xaxes(range=[-0.02, 1.02], title_text=x_title, tickformat=".1f", **kwargs)
    fig.update_yaxes(range=[-0.02, 1.02], title_text=y_title, tickformat=".1f", **kwargs)


# ---------------------------------------------------------------- figures


def roc_curve_figure(
    source: Any, *, name: str | None = None, title: str | None = None
) -> go.Figure:
    """A ``system.ClassificationMetrics`` artifact's ROC curve, AUC in the legend."""
    curve = roc_curve_data(source)
    artifact = None if isinstance(source, list) else display_name(source)
    label = escape(name or artifact or "ROC")
    if title is None:
        title = f"ROC curve: {escape(artifact)}" if artifact else "ROC curve"
    fig = theme.new_figure(
        title=title,
        height=520,
        legend={"x": 0.98, "y": 0.02, "xanchor": "right", "yanchor": "bottom"},
    )
    fig.add_trace(chance_trace())
    fig.add_trace(
        roc_trace(curve, name=f"{label} (AUC = {curve.auc:.3f})", color=theme.series_color(0))
    )
    style_unit_axes(fig, x_title="False positive rate", y_title="True positive rate")
    return fig


def precision_recall_figure(
    source: Any,
    *,
    positives: float | None = None,
    negatives: float | None = None,
    positive_label: str | None = None,
    name: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """The precision-recall curve (see :func:`precision_recall_data`), AUC in the legend,
    with the no-skill baseline (the positive rate) when the class sizes are known."""
    curve, baseline = precision_recall_data(
        source, positives=positives, negatives=negatives, positive_label=positive_label
    )
    artifact = None if isinstance(source, list) else display_name(source)
    label = escape(name or artifact or "PR")
    if title is None:
        title = (
            f"Precision-recall curve: {escape(artifact)}" if artifact else "Precision-recall curve"
        )
    fig = theme.new_figure(
        title=title,
        height=520,
        legend={"x": 0.02, "y": 0.02, "xanchor": "left", "yanchor": "bottom"},
    )
    if baseline is not None:
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[baseline, baseline],
                mode="lines",
                name=f"No skill (precision = {baseline:.3f})",
                line=theme.REFERENCE_LINE,
                hoverinfo="skip",
            )
        )
    color = theme.series_color(1)
    fig.add_trace(
        go.Scatter(
            x=curve.x,
            y=curve.y,
            customdata=curve.thresholds,
            mode="lines+markers" if len(curve.x) <= 60 else "lines",
            name=f"{label} (AUC = {curve.auc:.3f})",
            line={"color": color, "width": 2.5},
            marker={"size": 5, "color": color},
            hovertemplate=(
                "Recall: %{x:.3f}<br>Precision: %{y:.3f}<br>threshold: %{customdata}<extra></extra>"
            ),
        )
    )
    style_unit_axes(fig, x_title="Recall", y_title="Precision")
    # The AUC is in the legend: shown also when the curve is the only trace (no class
    # sizes, so no baseline), where plotly would hide a one-entry legend.
    fig.update_layout(showlegend=True)
    return fig
