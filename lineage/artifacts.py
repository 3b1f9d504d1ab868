"""Typed artifacts with KFP v2's names, methods and metadata layout.

A pipeline step writes ``Output[Model]``, ``metrics.log_metric(...)``,
``log_confusion_matrix(...)`` exactly as with ``kfp.dsl``; the metadata these classes build
is the same dict KFP's own classes build, key for key, so data KFP wrote and data we wrote
look the same to every reader (the viewers, the UI, MLMD clients). KFP is not imported
here: the base install of ``lineage`` has no kfp.

Layout of ``metadata`` (what KFP's ``kfp.dsl`` classes produce):

* ``Metrics``: each metric is a key of ``metadata`` (``{"accuracy": 0.9}``).
* ``ClassificationMetrics``: ``confidenceMetrics: [{confidenceThreshold, recall,
  falsePositiveRate}]`` (plus ``precision`` when given) and ``confusionMatrix:
  {annotationSpecs: [{displayName}], rows: [{row: [...]}]}``.
* ``SlicedClassificationMetrics``: ``evaluationSlices: [{slice, sliceClassificationMetrics}]``
  where each ``sliceClassificationMetrics`` has the ``ClassificationMetrics`` layout.

Differences from KFP, all on purpose:

* Bad input raises ``TypeError``/``ValueError`` with a clear message, before anything is
  written (a failed call leaves ``metadata`` unchanged). Numbers must be finite, because
  the stored form (protobuf ``Struct``, JSON) cannot hold NaN or infinity; scikit-learn's
  ``roc_curve`` returns ``inf`` as its first threshold, which has to be replaced or dropped.
* State lives in ``metadata`` only, so an artifact built from stored metadata (an input, a
  reloaded output) can go on logging cells and rows.
* ``SlicedClassificationMetrics`` works: in KFP its methods call methods that do not
  exist. It also has the ``ClassificationMetrics`` method names, with a ``slice`` first.
* ``file://`` URIs map to local paths.

In MLMD, KFP's backend stores the metadata as custom properties, wrapping lists as
``{"list": [...]}`` and dicts as ``{"struct": {...}}``;
:func:`metadata_to_custom_properties` and :func:`custom_properties_to_metadata` convert.
"""

from __future__ import annotations

import math
import numbers
import os
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "ARTIFACT_CLASSES",
    "HTML",
    "Artifact",
    "ClassificationMetrics",
    "Dataset",
    "Markdown",
    "Metrics",
    "Model",
    "SlicedClassificationMetrics",
    "artifact_class_for",
    "custom_properties_to_metadata",
    "from_runtime_artifact",
    "local_path_to_uri",
    "metadata_to_custom_properties",
    "uri_to_local_path",
]

# Remote scheme -> where KFP mounts it inside a step's container (gcsfuse, s3/minio mounts).
_MOUNTS: tuple[tuple[str, str], ...] = (
    ("gs://", "/gcs/"),
    ("s3://", "/s3/"),
    ("minio://", "/minio/"),
)
_OCI_SCHEME = "oci://"
_OCI_MOUNT = "/oci/"
_FILE_SCHEME = "file://"


# --------------------------------------------------------------------------- uri <-> path


def uri_to_local_path(uri: str) -> str:
    """The local path a step reads or writes for ``uri``.

    ``gs://b/x`` -> ``/gcs/b/x``, ``s3://b/x`` -> ``/s3/b/x``, ``minio://b/x`` ->
    ``/minio/b/x``, ``oci://r/img`` -> ``/oci/r_img`` (as KFP), ``file:///tmp/x`` ->
    ``/tmp/x``; a local path (or any other URI) is returned unchanged.
    """
    for scheme, mount in _MOUNTS:
        if uri.startswith(scheme):
            return mount + uri[len(scheme) :]
    if uri.startswith(_OCI_SCHEME):
        return _OCI_MOUNT + uri[len(_OCI_SCHEME) :].replace("/", "_")
    if uri.startswith(_FILE_SCHEME):
        parts = urllib.parse.urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file URI {uri!r} names a remote host {parts.netloc!r}")
        return urllib.parse.unquote(parts.path)
    return uri


def local_path_to_uri(path: str | os.PathLike[str], *, file_scheme: bool = False) -> str:
    """The URI for a local path: the inverse of :func:`uri_to_local_path`.

    Paths under the mounts become ``gs://``, ``s3://``, ``minio://`` or ``oci://`` URIs.
    Any other path stays a path (as KFP does), or becomes an absolute ``file://`` URI when
    ``file_scheme`` is true.
    """
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"path must be a str or os.PathLike[str], got {type(path).__name__}")
    for scheme, mount in _MOUNTS:
        if text.startswith(mount):
            return scheme + text[len(mount) :]
    if text.startswith(_OCI_MOUNT):
        remote = text[len(_OCI_MOUNT) :].replace("_", "/")
        remote = remote.removesuffix("/models")
        return _OCI_SCHEME + remote
    if file_scheme:
        return "file://" + urllib.parse.quote(os.path.abspath(text))
    return text


# --------------------------------------------------------------------------- validation


def _number(value: Any, what: str) -> int | float:
    """A finite real number, as a plain ``int`` or ``float`` (numpy scalars included)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    number: int | float = int(value) if isinstance(value, numbers.Integral) else float(value)
    if not math.isfinite(number):
        hint = ""
        if what.startswith("threshold") and number == math.inf:
            hint = (
                " (scikit-learn's roc_curve returns inf as its first threshold:"
                " replace it, e.g. with 1.0, or drop that point)"
            )
        raise ValueError(f"{what} must be finite, got {number!r}{hint}")
    return number


def _rate(value: Any, what: str) -> int | float:
    number = _number(value, what)
    if not 0 <= number <= 1:
        raise ValueError(f"{what} must be between 0 and 1, got {number!r}")
    return number


def _count(value: Any, what: str) -> int | float:
    number = _number(value, what)
    if number < 0:
        raise ValueError(f"{what} must not be negative, got {number!r}")
    return number


def _sequence(value: Any, what: str) -> list[Any]:
    """A list from any sequence or array-like (numpy arrays, tuples); not from a string."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{what} must be a list of values, got {type(value).__name__}")
    tolist = getattr(value, "tolist", None)
    return list(tolist() if callable(tolist) else value)


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__} {value!r}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


def _categories(categories: Any) -> list[str]:
    names = [_name(c, "confusion matrix category") for c in _sequence(categories, "categories")]
    if not names:
        raise ValueError("categories must not be empty")
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise ValueError(f"categories must be unique, got duplicates {duplicates}")
    return names


def _row(row: Any, size: int, what: str) -> list[int | float]:
    values = _sequence(row, what)
    if len(values) != size:
        raise ValueError(f"{what} must have {size} values (one per category), got {len(values)}")
    return [_count(v, f"{what}[{i}]") for i, v in enumerate(values)]


# --------------------------------------------------------------------------- artifacts


class Artifact:
    """A generic artifact: ``name``, ``uri``, ``metadata`` and a local ``path``.

    ``path`` is where a step reads or writes the artifact's bytes: ``gs://``, ``s3://``
    and ``minio://`` URIs map to KFP's mounts (``/gcs/``, ``/s3/``, ``/minio/``),
    ``file://`` URIs to their local path, and a local path is its own URI. Setting
    ``path`` sets ``uri`` (keeping a ``file://`` scheme the URI already had).
    """

    schema_title: ClassVar[str] = "system.Artifact"
    schema_version: ClassVar[str] = "0.0.1"

    def __init__(
        self,
        name: str | None = None,
        uri: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        if uri is not None and not isinstance(uri, str):
            raise TypeError(f"uri must be a str, got {type(uri).__name__}")
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        self.name: str = name or ""
        self.uri: str = uri or ""
        self.metadata: dict[str, Any] = metadata if metadata is not None else {}

    @property
    def path(self) -> str:
        return uri_to_local_path(self.uri)

    @path.setter
    def path(self, path: str | os.PathLike[str]) -> None:
        self.uri = local_path_to_uri(path, file_scheme=self.uri.startswith(_FILE_SCHEME))

    def to_runtime_artifact(self) -> dict[str, Any]:
        """The artifact as KFP's executor input/output lists it (``RuntimeArtifact`` JSON)."""
        return {
            "name": self.name,
            "type": {"schemaTitle": self.schema_title, "schemaVersion": self.schema_version},
            "uri": self.uri,
            "metadata": self.metadata,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, uri={self.uri!r}, "
            f"metadata={self.metadata!r})"
        )


class Dataset(Artifact):
    """A dataset."""

    schema_title: ClassVar[str] = "system.Dataset"


class Model(Artifact):
    """A model; ``framework`` is kept in ``metadata["framework"]`` as KFP does."""

    schema_title: ClassVar[str] = "system.Model"

    @property
    def path(self) -> str:
        # KServe modelcar images keep the model files under /models (as KFP).
        local = uri_to_local_path(self.uri)
        return local + "/models" if self.uri.startswith(_OCI_SCHEME) else local

    @path.setter
    def path(self, path: str | os.PathLike[str]) -> None:
        self.uri = local_path_to_uri(path, file_scheme=self.uri.startswith(_FILE_SCHEME))

    @property
    def framework(self) -> str:
        return str(self.metadata.get("framework", ""))

    @framework.setter
    def framework(self, framework: str) -> None:
        self.metadata["framework"] = _name(framework, "framework")


class Metrics(Artifact):
    """Scalar metrics: each metric is a key of ``metadata``."""

    schema_title: ClassVar[str] = "system.Metrics"

    def log_metric(self, metric: str, value: float) -> None:
        """Set the scalar ``metric`` to ``value`` (a finite number)."""
        self.metadata[_name(metric, "metric name")] = _number(value, f"metric {metric!r}")


class ClassificationMetrics(Artifact):
    """ROC curve points and a confusion matrix, in KFP's layout."""

    schema_title: ClassVar[str] = "system.ClassificationMetrics"

    # ---- ROC

    def log_roc_data_point(
        self, fpr: float, tpr: float, threshold: float, *, precision: float | None = None
    ) -> None:
        """Append one ROC point. ``precision`` (not in KFP's signature) is stored too when
        given, under Vertex's key ``precision``, so a precision-recall curve can be drawn."""
        self._append_roc([self._roc_point(fpr, tpr, threshold, precision, "")])

    def log_roc_curve(
        self,
        fpr: Sequence[float],
        tpr: Sequence[float],
        threshold: Sequence[float],
        *,
        precision: Sequence[float] | None = None,
    ) -> None:
        """Append a whole ROC curve; the lists must have the same length."""
        fprs = _sequence(fpr, "fpr")
        tprs = _sequence(tpr, "tpr")
        thresholds = _sequence(threshold, "threshold")
        precisions: list[Any] = [None] * len(fprs)
        if precision is not None:
            precisions = _sequence(precision, "precision")
        if not len(fprs) == len(tprs) == len(thresholds) == len(precisions):
            lengths = f"{len(fprs)}, {len(tprs)} and {len(thresholds)}"
            if precision is not None:
                lengths = f"{len(fprs)}, {len(tprs)}, {len(thresholds)} and {len(precisions)}"
            raise ValueError(
                "fpr, tpr and threshold"
                + (" and precision" if precision is not None else "")
                + f" must have the same length, got lengths {lengths}"
            )
        points = [
            self._roc_point(f, t, th, p, f"[{i}]")
            for i, (f, t, th, p) in enumerate(zip(fprs, tprs, thresholds, precisions, strict=True))
        ]
        self._append_roc(points)

    @staticmethod
    def _roc_point(fpr: Any, tpr: Any, threshold: Any, precision: Any, at: str) -> dict[str, Any]:
        point: dict[str, Any] = {
            "confidenceThreshold": _number(threshold, f"threshold{at}"),
            "recall": _rate(tpr, f"tpr{at}"),
            "falsePositiveRate": _rate(fpr, f"fpr{at}"),
        }
        if precision is not None:
            point["precision"] = _rate(precision, f"precision{at}")
        return point

    def _append_roc(self, points: list[dict[str, Any]]) -> None:
        existing = self.metadata.get("confidenceMetrics")
        if existing is None:
            existing = self.metadata["confidenceMetrics"] = []
        elif not isinstance(existing, list):
            raise ValueError(
                f"metadata['confidenceMetrics'] must be a list, got {type(existing).__name__}"
            )
        existing.extend(points)

    # ---- confusion matrix

    def set_confusion_matrix_categories(self, categories: Sequence[str]) -> None:
        """Start a confusion matrix over ``categories``, all cells 0 (as KFP)."""
        names = _categories(categories)
        self.metadata["confusionMatrix"] = {
            "annotationSpecs": [{"displayName": c} for c in names],
            "rows": [{"row": [0] * len(names)} for _ in names],
        }

    def log_confusion_matrix_row(self, row_category: str, row: Sequence[float]) -> None:
        """Set the row of true label ``row_category``: one count per predicted category."""
        categories, matrix = self._confusion_matrix()
        index = self._index(categories, row_category, "row category")
        matrix["rows"][index] = {"row": _row(row, len(categories), f"row {row_category!r}")}

    def log_confusion_matrix_cell(self, row_category: str, col_category: str, value: int) -> None:
        """Set the count of true label ``row_category`` predicted as ``col_category``."""
        categories, matrix = self._confusion_matrix()
        i = self._index(categories, row_category, "row category")
        j = self._index(categories, col_category, "column category")
        count = _count(value, f"cell ({row_category!r}, {col_category!r})")
        matrix["rows"][i]["row"][j] = count

    def log_confusion_matrix(
        self, categories: Sequence[str], matrix: Sequence[Sequence[float]]
    ) -> None:
        """Set the whole matrix: ``matrix[i][j]`` counts true ``categories[i]`` predicted
        as ``categories[j]`` (scikit-learn's ``confusion_matrix`` layout)."""
        names = _categories(categories)
        rows = _sequence(matrix, "matrix")
        if len(rows) != len(names):
            raise ValueError(
                f"matrix must have {len(names)} rows (one per category), got {len(rows)}"
            )
        checked = [_row(r, len(names), f"row {c!r}") for c, r in zip(names, rows, strict=True)]
        self.metadata["confusionMatrix"] = {
            "annotationSpecs": [{"displayName": c} for c in names],
            "rows": [{"row": r} for r in checked],
        }

    def _confusion_matrix(self) -> tuple[list[str], dict[str, Any]]:
        """The categories and the stored ``confusionMatrix`` dict, checked."""
        matrix = self.metadata.get("confusionMatrix")
        if matrix is None:
            raise ValueError(
                "no confusion matrix yet: call set_confusion_matrix_categories(...) "
                "or log_confusion_matrix(...) first"
            )
        try:
            categories = [spec["displayName"] for spec in matrix["annotationSpecs"]]
            rows = [entry["row"] for entry in matrix["rows"]]
        except (KeyError, TypeError) as exc:
            raise ValueError(
                "metadata['confusionMatrix'] is malformed: expected "
                "{annotationSpecs: [{displayName}], rows: [{row: [...]}]}"
            ) from exc
        if len(rows) != len(categories) or any(
            not isinstance(r, list) or len(r) != len(categories) for r in rows
        ):
            raise ValueError(
                f"metadata['confusionMatrix'] is malformed: {len(categories)} categories "
                "need as many rows of as many values"
            )
        return categories, matrix

    @staticmethod
    def _index(categories: list[str], category: Any, what: str) -> int:
        if not isinstance(category, str):
            raise TypeError(f"{what} must be a str, got {type(category).__name__} {category!r}")
        try:
            return categories.index(category)
        except ValueError:
            raise ValueError(f"unknown {what} {category!r}: expected one of {categories}") from None


class SlicedClassificationMetrics(Artifact):
    """``ClassificationMetrics`` per slice (e.g. per country, per label).

    Stored as KFP lays it out: ``evaluationSlices: [{slice, sliceClassificationMetrics}]``,
    one entry per slice in the order slices were first logged. KFP's method names are kept
    (``log_roc_reading(slice, threshold, tpr, fpr)``, ``load_roc_readings``,
    ``load_confusion_matrix``, ...), and ``ClassificationMetrics``' names are added with a
    ``slice`` first (``log_roc_data_point(slice, fpr, tpr, threshold)``, ...).
    """

    schema_title: ClassVar[str] = "system.SlicedClassificationMetrics"

    @property
    def slices(self) -> list[str]:
        """The slice labels, in the order they were first logged."""
        return [entry["slice"] for entry in self._entries()]

    def slice_metrics(self, slice: str) -> ClassificationMetrics:
        """The slice's metrics as a ``ClassificationMetrics`` sharing its metadata dict
        (logging through it writes into this artifact). ``KeyError`` if unknown."""
        for entry in self._entries():
            if entry["slice"] == slice:
                return ClassificationMetrics(metadata=entry["sliceClassificationMetrics"])
        raise KeyError(f"no slice {slice!r}: known slices are {self.slices}")

    # ---- KFP's names

    def log_roc_reading(self, slice: str, threshold: float, tpr: float, fpr: float) -> None:
        """Append one ROC point to the slice (KFP's argument order)."""
        self._update(slice, lambda m: m.log_roc_data_point(fpr=fpr, tpr=tpr, threshold=threshold))

    def load_roc_readings(self, slice: str, readings: Sequence[Sequence[float]]) -> None:
        """Append ROC points given as ``[threshold, tpr, fpr]`` triples (KFP's order)."""
        triples = [
            _sequence(r, f"reading {i}") for i, r in enumerate(_sequence(readings, "readings"))
        ]
        for i, triple in enumerate(triples):
            if len(triple) != 3:
                raise ValueError(
                    f"reading {i} must be [threshold, tpr, fpr], got {len(triple)} values"
                )
        self._update(
            slice,
            lambda m: m.log_roc_curve(
                fpr=[t[2] for t in triples],
                tpr=[t[1] for t in triples],
                threshold=[t[0] for t in triples],
            ),
        )

    def set_confusion_matrix_categories(self, slice: str, categories: Sequence[str]) -> None:
        self._update(slice, lambda m: m.set_confusion_matrix_categories(categories))

    def log_confusion_matrix_row(self, slice: str, row_category: str, row: Sequence[float]) -> None:
        self._update(slice, lambda m: m.log_confusion_matrix_row(row_category, row))

    def log_confusion_matrix_cell(
        self, slice: str, row_category: str, col_category: str, value: int
    ) -> None:
        self._update(
            slice, lambda m: m.log_confusion_matrix_cell(row_category, col_category, value)
        )

    def load_confusion_matrix(
        self, slice: str, categories: Sequence[str], matrix: Sequence[Sequence[float]]
    ) -> None:
        """Set the slice's whole confusion matrix."""
        self._update(slice, lambda m: m.log_confusion_matrix(categories, matrix))

    # ---- ClassificationMetrics' names, with a slice first

    def log_roc_data_point(
        self,
        slice: str,
        fpr: float,
        tpr: float,
        threshold: float,
        *,
        precision: float | None = None,
    ) -> None:
        self._update(
            slice,
            lambda m: m.log_roc_data_point(fpr, tpr, threshold, precision=precision),
        )

    def log_roc_curve(
        self,
        slice: str,
        fpr: Sequence[float],
        tpr: Sequence[float],
        threshold: Sequence[float],
        *,
        precision: Sequence[float] | None = None,
    ) -> None:
        self._update(slice, lambda m: m.log_roc_curve(fpr, tpr, threshold, precision=precision))

    def log_confusion_matrix(
        self, slice: str, categories: Sequence[str], matrix: Sequence[Sequence[float]]
    ) -> None:
        self.load_confusion_matrix(slice, categories, matrix)

    # ---- storage

    def _entries(self) -> list[dict[str, Any]]:
        entries = self.metadata.get("evaluationSlices", [])
        if not isinstance(entries, list) or not all(
            isinstance(e, dict)
            and isinstance(e.get("slice"), str)
            and isinstance(e.get("sliceClassificationMetrics"), dict)
            for e in entries
        ):
            raise ValueError(
                "metadata['evaluationSlices'] is malformed: expected "
                "[{slice: str, sliceClassificationMetrics: {...}}]"
            )
        return entries

    def _update(self, slice: str, log: Callable[[ClassificationMetrics], None]) -> None:
        """Run ``log`` on the slice's metrics; a new slice is added only if it succeeds."""
        _name(slice, "slice")
        entries = self._entries()
        for entry in entries:
            if entry["slice"] == slice:
                log(ClassificationMetrics(metadata=entry["sliceClassificationMetrics"]))
                return
        metrics = ClassificationMetrics()
        log(metrics)
        entries.append({"slice": slice, "sliceClassificationMetrics": metrics.metadata})
        self.metadata["evaluationSlices"] = entries


class HTML(Artifact):
    """An HTML file (rendered sanitized by the viewers)."""

    schema_title: ClassVar[str] = "system.HTML"


class Markdown(Artifact):
    """A Markdown file (rendered sanitized by the viewers)."""

    schema_title: ClassVar[str] = "system.Markdown"


ARTIFACT_CLASSES: dict[str, type[Artifact]] = {
    cls.schema_title: cls
    for cls in (
        Artifact,
        Dataset,
        Model,
        Metrics,
        ClassificationMetrics,
        SlicedClassificationMetrics,
        HTML,
        Markdown,
    )
}


def artifact_class_for(schema_title: str) -> type[Artifact]:
    """The class for a schema title (``system.Model`` -> ``Model``); ``Artifact`` for an
    unknown title, as KFP falls back for types it does not know (``google.VertexModel``)."""
    return ARTIFACT_CLASSES.get(schema_title, Artifact)


def from_runtime_artifact(runtime_artifact: Mapping[str, Any]) -> Artifact:
    """An artifact of the right class from KFP's ``RuntimeArtifact`` JSON (an entry of
    ``executor_input.inputs.artifacts[name].artifacts``)."""
    if not isinstance(runtime_artifact, Mapping):
        raise TypeError(
            f"runtime artifact must be a mapping, got {type(runtime_artifact).__name__}"
        )
    kind = runtime_artifact.get("type") or {}
    cls = artifact_class_for(kind.get("schemaTitle", "") if isinstance(kind, Mapping) else "")
    return cls(
        name=runtime_artifact.get("name") or "",
        uri=runtime_artifact.get("uri") or "",
        metadata=dict(runtime_artifact.get("metadata") or {}),
    )


# --------------------------------------------------------------------------- MLMD storage

_RUNTIME_ONLY_KEYS = frozenset({"_kfp_workspace"})


def _struct_value(value: Any, where: str) -> Any:
    """``value`` as protobuf ``Struct`` holds it: numbers are doubles, keys are strings."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Real):
        return float(_number(value, where))
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys must be str, got {type(key).__name__} {key!r}")
            out[key] = _struct_value(item, f"{where}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_struct_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"{where}: cannot store a {type(value).__name__} in artifact metadata")


def metadata_to_custom_properties(
    metadata: Mapping[str, Any], *, display_name: str | None = None
) -> dict[str, Any]:
    """Artifact metadata as KFP's backend records it in MLMD custom properties.

    Strings stay strings, numbers become doubles, booleans become ints (1/0), lists
    become ``{"list": [...]}`` and dicts ``{"struct": {...}}`` (numbers inside them
    doubles, as protobuf ``Struct`` holds them). ``display_name`` is added when given and
    not already in the metadata (KFP sets it to the output's name). ``None`` values and
    non-finite numbers are refused, as KFP's backend refuses them.
    """
    properties: dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be str, got {type(key).__name__} {key!r}")
        if key in _RUNTIME_ONLY_KEYS:
            continue
        if isinstance(value, bool):
            properties[key] = int(value)
        elif isinstance(value, str):
            properties[key] = value
        elif isinstance(value, numbers.Real):
            properties[key] = float(_number(value, f"metadata[{key!r}]"))
        elif isinstance(value, list | tuple):
            properties[key] = {"list": _struct_value(value, key)}
        elif isinstance(value, Mapping):
            properties[key] = {"struct": _struct_value(value, key)}
        elif value is None:
            raise ValueError(f"metadata[{key!r}] is None: MLMD cannot store a null property")
        else:
            raise TypeError(
                f"metadata[{key!r}]: cannot store a {type(value).__name__} in artifact metadata"
            )
    if display_name is not None and "display_name" not in properties:
        properties["display_name"] = _name(display_name, "display_name")
    return properties


def custom_properties_to_metadata(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`metadata_to_custom_properties`: unwrap ``{"list": [...]}``
    and ``{"struct": {...}}``. Values may be plain Python values or ``lineage.model.Value``.
    """
    metadata: dict[str, Any] = {}
    for key, value in properties.items():
        python = getattr(value, "python", None)
        if callable(python):
            value = python()
        if isinstance(value, Mapping) and len(value) == 1:
            if isinstance(value.get("list"), list):
                value = value["list"]
            elif isinstance(value.get("struct"), Mapping):
                value = dict(value["struct"])
        metadata[key] = value
    return metadata
