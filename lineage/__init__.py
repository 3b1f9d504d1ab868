"""Lineage: metadata and artifact lineage tracking for ML pipelines, MLMD-compatible.

``import lineage`` is what a pipeline step needs: KFP-named typed artifacts and the data
model. The store, the server and the viewers load only when used.
"""

from __future__ import annotations

from lineage.artifacts import (
    HTML,
    Artifact,
    ClassificationMetrics,
    Dataset,
    Markdown,
    Metrics,
    Model,
    SlicedClassificationMetrics,
)

__version__ = "0.1.0"

__all__ = [
    "HTML",
    "Artifact",
    "ClassificationMetrics",
    "Dataset",
    "Markdown",
    "Metrics",
    "Model",
    "SlicedClassificationMetrics",
    "__version__",
]
