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


# The SDK (lineage.client) loads on first use, so `import lineage` stays light: these
# names of lineage.client are also names of lineage.
_SDK_NAMES = frozenset(
    {
        "Input",
        "Output",
        "connect",
        "start_run",
        "step",
        "current_run",
        "get_artifact",
        "sync",
        "autolog_kfp",
        "Client",
        "Run",
        "StepHandle",
        "MissingInputError",
        "OutputNotWrittenError",
        "AnnotationError",
        "SpoolWarning",
        "SpoolFullWarning",
    }
)


def __getattr__(name: str) -> object:
    if name in _SDK_NAMES:
        from lineage import client

        value = getattr(client, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lineage' has no attribute {name!r}")
