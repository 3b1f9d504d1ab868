"""The Lineage SDK: record pipeline steps from inside them.

::

    import lineage
    from lineage import Input, Output, Dataset, Model, Metrics

    lineage.connect("grpc://lineage:8080")      # or LINEAGE_URL; default: ./lineage-data

    @lineage.step
    def train(data: Input[Dataset], model: Output[Model], metrics: Output[Metrics], C: float = 1.0):
        ...

    with lineage.start_run(pipeline="churn", name="nightly-42"):
        prep = prepare(test_size=0.2)
        fit = train(data=prep.outputs["data"], C=0.5)

Importing this package is cheap: gRPC, SQLAlchemy and the store load on first use.
"""

from __future__ import annotations

from typing import Any

from .annotations import Input, Output
from .errors import (
    AnnotationError,
    BlobWarning,
    CacheWarning,
    MissingInputError,
    OutputNotWrittenError,
    SpoolFullWarning,
    SpoolWarning,
)

__all__ = [
    "AnnotationError",
    "BlobWarning",
    "CacheWarning",
    "Client",
    "Input",
    "MissingInputError",
    "Output",
    "OutputNotWrittenError",
    "Run",
    "SpoolFullWarning",
    "SpoolWarning",
    "StepContext",
    "StepHandle",
    "autolog_kfp",
    "connect",
    "current_run",
    "get_artifact",
    "start_run",
    "step",
    "sync",
]

# name -> module that defines it (imported on first access: PEP 562)
_LAZY = {
    "Client": "client",
    "connect": "client",
    "start_run": "client",
    "get_artifact": "client",
    "sync": "client",
    "Run": "runs",
    "StepContext": "runs",
    "current_run": "runs",
    "StepHandle": "decorator",
    "step": "decorator",
    "autolog_kfp": "kfp",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lineage.client' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value
    return value
