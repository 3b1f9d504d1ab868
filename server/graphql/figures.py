"""Figures for the web UI, built on the server by :mod:`lineage.viewers`.

``figure(artifactId, kind, normalize)`` and ``figures(artifactId)`` answer plotly figures
(``{data, layout}``, what ``Plotly.newPlot`` takes) of an artifact's stored metadata;
``compareFigure(runIds, kind)`` compares runs (metrics side by side, ROC curves overlaid);
``document(artifactId)`` renders a ``system.HTML`` or ``system.Markdown`` artifact's bytes,
sanitized. The browser never parses KFP's metadata layout itself, so the UI, the static
report (``lineage report``) and notebooks show the same figures.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import strawberry
from sqlalchemy import select
from sqlalchemy.engine import Connection
from strawberry.scalars import JSON
from strawberry.types import Info

from lineage import model
from lineage.artifacts import custom_properties_to_metadata
from lineage.errors import InvalidArgument, NotFound
from lineage.server.graphql.ids import parse_id
from lineage.server.graphql.loaders import Loaders
from lineage.store import dashboard
from lineage.store.kinds import ARTIFACT

CLASSIFICATION_TYPES = ("system.ClassificationMetrics", "system.SlicedClassificationMetrics")
DOCUMENT_TYPES = {"system.HTML": "html", "system.Markdown": "markdown"}
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024


@strawberry.enum(description="A figure of one artifact's metadata.")
class FigureKind(enum.Enum):
    METRICS_TABLE = "METRICS_TABLE"
    CONFUSION_MATRIX = "CONFUSION_MATRIX"
    ROC_CURVE = "ROC_CURVE"
    PRECISION_RECALL = "PRECISION_RECALL"
    SLICED_METRICS = "SLICED_METRICS"


@strawberry.enum(description="A figure comparing runs.")
class CompareFigureKind(enum.Enum):
    METRICS = "METRICS"
    ROC = "ROC"


@strawberry.type(description="A plotly figure built by lineage.viewers.")
class Figure:
    kind: str = strawberry.field(description="The FigureKind or CompareFigureKind.")
    title: str
    figure: JSON = strawberry.field(
        description="The plotly figure as JSON ({data, layout}): Plotly.newPlot(el, data, layout)."
    )


@strawberry.type(description="An HTML or Markdown artifact's content, sanitized.")
class RenderedDocument:
    format: str = strawberry.field(description="html or markdown.")
    html: str = strawberry.field(description="Sanitized HTML, safe to embed.")
    size: int = strawberry.field(description="The stored size in bytes.")
    truncated: bool = strawberry.field(
        description=f"True when only the first {MAX_DOCUMENT_BYTES} bytes were rendered."
    )


# ------------------------------------------------------------------ building


def metadata_of(artifact: model.Artifact) -> dict[str, Any]:
    return dict(custom_properties_to_metadata(artifact.custom_properties))


def _label(artifact: model.Artifact) -> str:
    metadata = metadata_of(artifact)
    return str(metadata.get("display_name") or artifact.name or f"artifact {artifact.id}")


def to_json(fig: Any) -> dict[str, Any]:
    """A figure as plain JSON (numpy arrays and the like turned into lists)."""
    return json.loads(fig.to_json())  # type: ignore[no-any-return]


def _builders(normalize: bool) -> dict[FigureKind, Callable[[Any], Any]]:
    from lineage import viewers

    return {
        FigureKind.METRICS_TABLE: viewers.metrics_table_figure,
        FigureKind.CONFUSION_MATRIX: lambda m: viewers.confusion_matrix_figure(
            m, normalize=normalize
        ),
        FigureKind.ROC_CURVE: viewers.roc_curve_figure,
        FigureKind.PRECISION_RECALL: viewers.precision_recall_figure,
        FigureKind.SLICED_METRICS: viewers.sliced_metrics_figure,
    }


_TITLES = {
    FigureKind.METRICS_TABLE: "Metrics",
    FigureKind.CONFUSION_MATRIX: "Confusion matrix",
    FigureKind.ROC_CURVE: "ROC curve",
    FigureKind.PRECISION_RECALL: "Precision-recall",
    FigureKind.SLICED_METRICS: "Sliced metrics",
}


def applicable_kinds(type_name: str | None, metadata: dict[str, Any]) -> list[FigureKind]:
    """The figures an artifact's metadata has data for, in display order."""
    kinds = []
    if type_name == dashboard.METRICS_TYPE or (
        type_name not in CLASSIFICATION_TYPES
        and "confusionMatrix" not in metadata
        and str(type_name or "").endswith("Metrics")
    ):
        kinds.append(FigureKind.METRICS_TABLE)
    if "confusionMatrix" in metadata:
        kinds.append(FigureKind.CONFUSION_MATRIX)
    if "confidenceMetrics" in metadata:
        kinds += [FigureKind.ROC_CURVE, FigureKind.PRECISION_RECALL]
    if "evaluationSlices" in metadata:
        kinds.append(FigureKind.SLICED_METRICS)
    return kinds


def build_figure(artifact: model.Artifact, kind: FigureKind, *, normalize: bool = False) -> Figure:
    """One figure of an artifact; InvalidArgument (with the viewer's reason) if its
    metadata has no data for it."""
    from lineage.viewers import MetadataError

    try:
        return _figure(metadata_of(artifact), kind, normalize)
    except MetadataError as exc:
        raise InvalidArgument(
            f"artifact {artifact.id} ({artifact.type}) has no {_TITLES[kind].lower()}: {exc}"
        ) from None


def _figure(metadata: Any, kind: FigureKind, normalize: bool) -> Figure:
    """The figure of ``kind`` (MetadataError when the metadata cannot make it)."""
    fig = _builders(normalize)[kind](metadata)
    title = _TITLES[kind]
    if kind == FigureKind.CONFUSION_MATRIX and normalize:
        title += " (normalized)"
    return Figure(kind=kind.value, title=title, figure=to_json(fig))


def _drawn(artifact: model.Artifact, normalize: bool) -> tuple[list[Figure], list[str]]:
    """Every figure the artifact's metadata has data for, and a line for each one that
    data is malformed for."""
    from lineage.viewers import MetadataError

    metadata = metadata_of(artifact)
    figures: list[Figure] = []
    problems: list[str] = []
    for kind in applicable_kinds(artifact.type, metadata):
        try:
            figures.append(_figure(metadata, kind, normalize))
        except MetadataError as exc:
            problems.append(f"{_TITLES[kind]}: {exc}")
    return figures, problems


def artifact_figures(artifact: model.Artifact, *, normalize: bool = False) -> list[Figure]:
    """Every figure the artifact's metadata has data for (malformed ones left out)."""
    return _drawn(artifact, normalize)[0]


def artifact_figure_problems(artifact: model.Artifact) -> list[str]:
    """Why figures the artifact's metadata looks like it holds cannot be drawn, one line
    each (what artifact_figures leaves out)."""
    return _drawn(artifact, False)[1]


def short_labels(names: list[str]) -> list[str]:
    """Names without the prefix all of them share (cut at a separator), so legends and
    axes of many runs of one pipeline stay readable: ``pipe-20260101-1-a``, ``pipe-20260101-2-b``
    become ``1-a``, ``2-b``."""
    if len(names) < 2:
        return names
    prefix = os.path.commonprefix(names)
    cut = max(prefix.rfind(c) for c in "-_/.: ")
    if cut < 0:
        return names
    out = [n[cut + 1 :] for n in names]
    if any(not n for n in out) or len(set(out)) != len(set(names)):
        return names
    return out


def compare_figure(
    kind: CompareFigureKind,
    runs: list[model.Context],
    artifacts_by_run: dict[int, list[model.Artifact]],
) -> Figure:
    """Runs compared: their Metrics artifacts' values side by side, or their
    ClassificationMetrics artifacts' ROC curves overlaid (one curve per run and artifact)."""
    from lineage import viewers
    from lineage.viewers import MetadataError

    pairs: list[tuple[str, Any]] = []
    labels = short_labels([str(run.name or f"run {run.id}") for run in runs])
    for run, label in zip(runs, labels, strict=True):
        found = artifacts_by_run.get(int(run.id or 0), [])
        if kind == CompareFigureKind.METRICS:
            merged: dict[str, Any] = {}
            for artifact in found:
                merged.update(
                    {k: v for k, v in metadata_of(artifact).items() if k != "display_name"}
                )
            if merged:
                pairs.append((label, merged))
        else:
            with_roc = [a for a in found if "confidenceMetrics" in metadata_of(a)]
            for artifact in with_roc:
                name = label if len(with_roc) == 1 else f"{label} · {_label(artifact)}"
                pairs.append((name, metadata_of(artifact)))
    what = "scalar metrics" if kind == CompareFigureKind.METRICS else "ROC curves"
    if not pairs:
        raise InvalidArgument(f"none of the runs has {what}")
    try:
        if kind == CompareFigureKind.METRICS:
            fig = viewers.compare_metrics_figure(pairs)
            title = "Metrics"
        else:
            fig = viewers.compare_roc_figure(pairs)
            title = "ROC curves"
    except MetadataError as exc:
        raise InvalidArgument(f"cannot compare {what}: {exc}") from None
    return Figure(kind=kind.value, title=title, figure=to_json(fig))


def _blob_location(conn: Connection, artifact_id: int) -> tuple[str, str, int] | None:
    """(sha256, location, size) of the bytes the server stored for an artifact."""
    from lineage.blobs import blob_of_artifact
    from lineage.store.schema import blob_table

    owned = blob_of_artifact(conn, artifact_id)
    if owned is None:
        return None
    row = conn.execute(
        select(blob_table.c.location, blob_table.c.size).where(blob_table.c.sha256 == owned[0])
    ).first()
    if row is None:
        return None
    return owned[0], str(row.location), int(row.size)


def read_document(location: str, sha256: str, size: int) -> tuple[bytes, bool]:
    """The first MAX_DOCUMENT_BYTES of a stored blob (checked against its sha256 when
    read whole); and whether it was cut."""
    from lineage.blobs import open_uri

    store, key = open_uri(location)
    with store.open_key(key) as reader:
        data = reader.read(MAX_DOCUMENT_BYTES + 1)
    truncated = len(data) > MAX_DOCUMENT_BYTES
    if truncated:
        data = data[:MAX_DOCUMENT_BYTES]
    elif hashlib.sha256(data).hexdigest() != sha256:
        raise InvalidArgument("the stored bytes do not match their recorded sha256")
    return data, truncated


class _RenderedDocuments:
    """Sanitized documents by (type, sha256), the most recent first, at most
    ``max_chars`` of HTML in all. The bytes behind a sha256 never change, so an entry
    never goes stale; sanitizing a large report costs up to seconds (nh3 is quadratic in
    how deep elements nest), and every view of its page would pay it again."""

    def __init__(self, max_chars: int = 32 * 1024 * 1024) -> None:
        self._max = max_chars
        self._chars = 0
        self._entries: OrderedDict[tuple[str, str], tuple[str, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[str, bool] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], value: tuple[str, bool]) -> None:
        if len(value[0]) > self._max:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self._chars += len(value[0]) - (len(old[0]) if old else 0)
            self._entries[key] = value
            while self._chars > self._max:
                _, (html, _) = self._entries.popitem(last=False)
                self._chars -= len(html)


RENDERED = _RenderedDocuments()


def render_document(type_name: str, data: bytes) -> str:
    from lineage import viewers

    if DOCUMENT_TYPES[type_name] == "markdown":
        return viewers.render_markdown(data)
    return viewers.render_html(data)


# ------------------------------------------------------------------ resolvers


def _loaders(info: Info) -> Loaders:
    return info.context.loaders  # type: ignore[no-any-return]


async def _artifact(loaders: Loaders, artifact_id: str) -> model.Artifact:
    mlmd_id = parse_id(artifact_id, ("Artifact",), what="artifactId")[1]
    artifact = await loaders.artifact.load(mlmd_id)
    if artifact is None:
        raise NotFound(f"artifactId: no artifact {artifact_id!r}")
    return artifact


@strawberry.type
class FigureQuery:
    @strawberry.field(
        description="One plotly figure of an artifact's metadata (KFP's layout), built by "
        "lineage.viewers; normalize: confusion matrix rows as fractions. INVALID_ARGUMENT "
        "when the metadata has no data for it."
    )
    async def figure(
        self,
        info: Info,
        artifact_id: strawberry.ID,
        kind: FigureKind,
        normalize: bool = False,
    ) -> Figure:
        artifact = await _artifact(_loaders(info), artifact_id)
        return await anyio.to_thread.run_sync(
            lambda: build_figure(artifact, kind, normalize=normalize)
        )

    @strawberry.field(
        description="Every figure an artifact's metadata has data for (metrics table, "
        "confusion matrix, ROC and precision-recall curves, sliced metrics), in that order."
    )
    async def figures(
        self, info: Info, artifact_id: strawberry.ID, normalize: bool = False
    ) -> list[Figure]:
        artifact = await _artifact(_loaders(info), artifact_id)
        return await anyio.to_thread.run_sync(
            lambda: artifact_figures(artifact, normalize=normalize)
        )

    @strawberry.field(
        description="Why figures an artifact's metadata seems to hold cannot be drawn (a "
        "ragged confusion matrix, ROC rates outside 0..1, ...): one line each, empty when "
        "every one can be. The figures field leaves those out."
    )
    async def figure_problems(self, info: Info, artifact_id: strawberry.ID) -> list[str]:
        artifact = await _artifact(_loaders(info), artifact_id)
        return await anyio.to_thread.run_sync(lambda: artifact_figure_problems(artifact))

    @strawberry.field(
        description="Runs compared in one figure: METRICS (their system.Metrics values side "
        "by side) or ROC (their classification metrics' ROC curves overlaid); at most 20 runs."
    )
    async def compare_figure(
        self, info: Info, run_ids: list[strawberry.ID], kind: CompareFigureKind
    ) -> Figure:
        from lineage.server.graphql.query import load_runs

        if len(run_ids) > 20:
            raise InvalidArgument(f"runIds: at most 20 runs, got {len(run_ids)}")
        loaders = _loaders(info)
        runs = await load_runs(loaders, run_ids)
        types = (
            [dashboard.METRICS_TYPE] if kind == CompareFigureKind.METRICS else CLASSIFICATION_TYPES
        )
        found = await loaders.read(
            dashboard.nodes_in_contexts,
            ARTIFACT,
            [int(r.id or 0) for r in runs],
            type_names=list(types),
        )
        return await anyio.to_thread.run_sync(lambda: compare_figure(kind, runs, found))

    @strawberry.field(
        description="A system.HTML or system.Markdown artifact's stored content as sanitized "
        "HTML (scripts, styles, event handlers and unsafe URLs removed); null when the "
        "server stored no bytes for it."
    )
    async def document(self, info: Info, artifact_id: strawberry.ID) -> RenderedDocument | None:
        loaders = _loaders(info)
        artifact = await _artifact(loaders, artifact_id)
        if artifact.type not in DOCUMENT_TYPES:
            raise InvalidArgument(
                f"artifact {artifact.id} is a {artifact.type}, not one of "
                f"{', '.join(sorted(DOCUMENT_TYPES))}"
            )
        located = await loaders.read(_blob_location, int(artifact.id or 0))
        if located is None:
            return None
        sha256, location, size = located
        type_name = str(artifact.type)

        def work() -> RenderedDocument:
            key = (type_name, sha256)
            found = RENDERED.get(key)
            if found is None:
                data, truncated = read_document(location, sha256, size)
                found = (render_document(type_name, data), truncated)
                RENDERED.put(key, found)
            html, truncated = found
            return RenderedDocument(
                format=DOCUMENT_TYPES[type_name], html=html, size=size, truncated=truncated
            )

        return await anyio.to_thread.run_sync(work)
