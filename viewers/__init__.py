"""Plotly figures of stored metadata: metrics, confusion matrices, ROC and precision-recall
curves, sliced metrics, run comparison, the lineage graph; HTML and Markdown, sanitized.

Every builder takes an artifact's metadata as stored (written by KFP's ``kfp.dsl`` classes
or by ``lineage.artifacts``, raw or in KFP's MLMD custom-property form) and returns a
``plotly.graph_objects.Figure`` in the one theme of :mod:`lineage.viewers.theme`. Missing or
malformed metadata raises :class:`MetadataError` (a ``ValueError``).
"""

from ._metadata import (
    ConfidencePoint,
    ConfusionMatrix,
    MetadataError,
    parse_confidence_metrics,
    parse_confusion_matrix,
    parse_slices,
    scalar_metrics,
)
from .compare import compare_metrics_figure, compare_metrics_table, compare_roc_figure
from .confusion import confusion_matrix_figure, normalize_rows
from .curves import (
    Curve,
    auc,
    precision_recall_data,
    precision_recall_figure,
    roc_curve_data,
    roc_curve_figure,
)
from .documents import render_html, render_markdown
from .lineage_graph import (
    Layout,
    describe_lineage_graph,
    layered_layout,
    lineage_graph_figure,
)
from .metrics import metrics_table_figure
from .sliced import sliced_confusion_matrix_figure, sliced_metrics_figure

__all__ = [
    "ConfidencePoint",
    "ConfusionMatrix",
    "Curve",
    "Layout",
    "MetadataError",
    "auc",
    "compare_metrics_figure",
    "compare_metrics_table",
    "compare_roc_figure",
    "confusion_matrix_figure",
    "describe_lineage_graph",
    "layered_layout",
    "lineage_graph_figure",
    "metrics_table_figure",
    "normalize_rows",
    "parse_confidence_metrics",
    "parse_confusion_matrix",
    "parse_slices",
    "precision_recall_data",
    "precision_recall_figure",
    "render_html",
    "render_markdown",
    "roc_curve_data",
    "roc_curve_figure",
    "scalar_metrics",
    "sliced_confusion_matrix_figure",
    "sliced_metrics_figure",
]
