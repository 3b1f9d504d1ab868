"""Reading stored artifact metadata, checked, before any figure is built.

Builders accept an artifact's metadata in either form it is stored in:

* as the step wrote it (``kfp.dsl`` or ``lineage.artifacts``): ``{"confusionMatrix": {...},
  "confidenceMetrics": [...], "accuracy": 0.9}``;
* as KFP's backend records it in MLMD custom properties: lists wrapped as
  ``{"list": [...]}``, dicts as ``{"struct": {...}}``, numbers as floats, plus KFP's own
  string properties (``display_name``, ``store_session_info``).

They also accept any object with a ``metadata`` mapping (an artifact instance). Anything
missing or malformed raises :class:`MetadataError` (a ``ValueError``) naming what is wrong.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class MetadataError(ValueError):
    """Metadata a viewer cannot draw: missing, of the wrong shape, or not numbers."""


def as_metadata(source: Any) -> Mapping[str, Any]:
    """The metadata mapping of ``source`` (a mapping, or an object with ``.metadata``)."""
    if not isinstance(source, Mapping):
        source = getattr(source, "metadata", source)
    if not isinstance(source, Mapping):
        raise MetadataError(f"expected artifact metadata (a dict), got {type(source).__name__}")
    return source


def unwrap(value: Any) -> Any:
    """Undo KFP's MLMD wrapping of a custom property (``{"list": x}``, ``{"struct": x}``)."""
    python = getattr(value, "python", None)  # lineage.model.Value
    if callable(python):
        value = python()
    if isinstance(value, Mapping) and len(value) == 1:
        if isinstance(value.get("list"), list):
            return value["list"]
        if isinstance(value.get("struct"), Mapping):
            return value["struct"]
    return value


def field(metadata: Mapping[str, Any], key: str) -> Any:
    """``metadata[key]`` unwrapped, or ``None`` when absent."""
    return unwrap(metadata[key]) if key in metadata else None


def display_name(source: Any) -> str | None:
    """KFP's ``display_name`` property (the output's name), when stored."""
    name = field(as_metadata(source), "display_name")
    return name if isinstance(name, str) and name else None


def number(value: Any, where: str, *, finite: bool = True) -> float:
    """``value`` as a float; booleans, strings and (by default) NaN/infinity refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise MetadataError(f"{where} must be a number, got {type(value).__name__} {value!r}")
    result = float(value)
    if finite and not math.isfinite(result):
        raise MetadataError(f"{where} must be a finite number, got {result!r}")
    return result


# ---------------------------------------------------------------- scalar metrics


def scalar_metrics(source: Any) -> dict[str, float]:
    """The numeric top-level entries (a ``system.Metrics`` artifact's metrics).

    Strings (KFP's ``display_name``), booleans and structures are not metrics and are
    left out; NaN and infinity are kept (a table can show them).
    """
    metadata = as_metadata(source)
    metrics: dict[str, float] = {}
    for key, raw in metadata.items():
        value = unwrap(raw)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            continue
        metrics[str(key)] = float(value)
    return metrics


# ---------------------------------------------------------------- confusion matrix


@dataclass(frozen=True)
class ConfusionMatrix:
    """``rows[i][j]``: items of true class ``categories[i]`` predicted as ``categories[j]``."""

    categories: list[str]
    rows: list[list[float]]

    @property
    def total(self) -> float:
        return sum(sum(row) for row in self.rows)

    @property
    def accuracy(self) -> float | None:
        total = self.total
        if total == 0:
            return None
        return sum(self.rows[i][i] for i in range(len(self.rows))) / total


def parse_confusion_matrix(source: Any) -> ConfusionMatrix:
    """The confusion matrix of a ``system.ClassificationMetrics`` artifact's metadata
    (``confusionMatrix: {annotationSpecs: [{displayName}], rows: [{row: [...]}]}``), or of
    that ``confusionMatrix`` dict itself."""
    metadata = as_metadata(source)
    matrix = field(metadata, "confusionMatrix")
    if matrix is None and "annotationSpecs" in metadata:
        matrix = metadata
    if matrix is None:
        raise MetadataError("no confusion matrix in the metadata (no 'confusionMatrix' key)")
    if not isinstance(matrix, Mapping):
        raise MetadataError(f"confusionMatrix must be a dict, got {type(matrix).__name__}")
    specs = matrix.get("annotationSpecs")
    rows = matrix.get("rows")
    if not isinstance(specs, list) or not isinstance(rows, list):
        raise MetadataError(
            "confusionMatrix must have 'annotationSpecs' and 'rows' lists, "
            f"got keys {sorted(matrix)}"
        )
    if not specs:
        raise MetadataError("confusionMatrix has no categories (annotationSpecs is empty)")
    categories: list[str] = []
    for i, spec in enumerate(specs):
        name = spec.get("displayName") if isinstance(spec, Mapping) else None
        if not isinstance(name, str):
            raise MetadataError(
                f"confusionMatrix.annotationSpecs[{i}] must be {{displayName: str}}, got {spec!r}"
            )
        categories.append(name)
    size = len(categories)
    if len(rows) != size:
        raise MetadataError(f"confusionMatrix has {size} categories but {len(rows)} rows")
    values: list[list[float]] = []
    for i, entry in enumerate(rows):
        row = entry.get("row") if isinstance(entry, Mapping) else None
        if not isinstance(row, list):
            raise MetadataError(
                f"confusionMatrix.rows[{i}] must be {{row: [numbers]}}, got {entry!r}"
            )
        if len(row) != size:
            raise MetadataError(
                f"confusionMatrix.rows[{i}] has {len(row)} values, expected {size} "
                "(one per category)"
            )
        checked = [number(v, f"confusionMatrix.rows[{i}].row[{j}]") for j, v in enumerate(row)]
        if any(v < 0 for v in checked):
            raise MetadataError(f"confusionMatrix.rows[{i}] has a negative count: {row!r}")
        values.append(checked)
    return ConfusionMatrix(categories, values)


# ---------------------------------------------------------------- confidence metrics


@dataclass(frozen=True)
class ConfidencePoint:
    """One entry of ``confidenceMetrics`` (KFP's, or Vertex's with more fields)."""

    threshold: float | None
    recall: float
    false_positive_rate: float | None
    precision: float | None


def _rate(entry: Mapping[str, Any], key: str, where: str) -> float | None:
    if entry.get(key) is None:
        return None
    value = number(entry[key], f"{where}.{key}")
    if not 0 <= value <= 1:
        raise MetadataError(f"{where}.{key} must be between 0 and 1, got {value!r}")
    return value


def parse_confidence_metrics(source: Any) -> list[ConfidencePoint]:
    """The ``confidenceMetrics`` points of a ``system.ClassificationMetrics`` artifact's
    metadata (or the list itself). ``precision`` is read when stored, or derived from
    Vertex's ``truePositiveCount``/``falsePositiveCount`` when those are."""
    if isinstance(source, list):
        points = source
    else:
        points = field(as_metadata(source), "confidenceMetrics")
        if points is None:
            raise MetadataError("no ROC data in the metadata (no 'confidenceMetrics' key)")
    if not isinstance(points, list):
        raise MetadataError(f"confidenceMetrics must be a list, got {type(points).__name__}")
    if not points:
        raise MetadataError("confidenceMetrics is empty")
    parsed: list[ConfidencePoint] = []
    for i, entry in enumerate(points):
        where = f"confidenceMetrics[{i}]"
        if not isinstance(entry, Mapping):
            raise MetadataError(f"{where} must be a dict, got {type(entry).__name__}")
        recall = _rate(entry, "recall", where)
        if recall is None:
            raise MetadataError(f"{where} has no 'recall'")
        threshold = entry.get("confidenceThreshold")
        precision = _rate(entry, "precision", where)
        if precision is None:
            tp, fp = entry.get("truePositiveCount"), entry.get("falsePositiveCount")
            if tp is not None and fp is not None:
                tp_n = number(tp, f"{where}.truePositiveCount")
                fp_n = number(fp, f"{where}.falsePositiveCount")
                precision = tp_n / (tp_n + fp_n) if tp_n + fp_n > 0 else None
        parsed.append(
            ConfidencePoint(
                threshold=None
                if threshold is None
                else number(threshold, f"{where}.confidenceThreshold", finite=False),
                recall=recall,
                false_positive_rate=_rate(entry, "falsePositiveRate", where),
                precision=precision,
            )
        )
    return parsed


# ---------------------------------------------------------------- slices


def parse_slices(source: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """``(slice, metadata)`` pairs of a ``system.SlicedClassificationMetrics`` artifact
    (``evaluationSlices: [{slice, sliceClassificationMetrics}]``), in stored order."""
    entries = field(as_metadata(source), "evaluationSlices")
    if entries is None:
        raise MetadataError("no slices in the metadata (no 'evaluationSlices' key)")
    if not isinstance(entries, list):
        raise MetadataError(f"evaluationSlices must be a list, got {type(entries).__name__}")
    if not entries:
        raise MetadataError("evaluationSlices is empty")
    slices: list[tuple[str, Mapping[str, Any]]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or "slice" not in entry:
            raise MetadataError(
                f"evaluationSlices[{i}] must be {{slice, sliceClassificationMetrics}}, "
                f"got {entry!r}"
            )
        metrics = entry.get("sliceClassificationMetrics") or {}
        if not isinstance(metrics, Mapping):
            raise MetadataError(f"evaluationSlices[{i}].sliceClassificationMetrics must be a dict")
        label = entry["slice"]
        slices.append((label if isinstance(label, str) else str(label), metrics))
    return slices


# ---------------------------------------------------------------- helpers for builders


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Labels made unique (``a``, ``a (2)``) so plotly's category axes keep them apart."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for label in labels:
        count = seen.get(label, 0) + 1
        seen[label] = count
        out.append(label if count == 1 else f"{label} ({count})")
    return out
