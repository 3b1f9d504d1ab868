"""Recording a pipeline step: one execution with its artifacts, events and contexts.

A step report (:class:`StepReport`) says everything about one step of one run: the
pipeline and run it belongs to, its input and output artifacts, parameters, state, times
and cache key. :func:`record_step` writes it in ONE transaction (all or nothing), the way
KFP's backend records a container execution:

* types ``system.ContainerExecution``, the artifacts' schema titles (``system.Model``, ...),
  and contexts ``system.Pipeline`` / ``system.PipelineRun`` are created when missing, the
  run context a child of the pipeline context;
* the execution is associated with both contexts and every artifact attributed to both;
* events carry the input or output name as a path key (and the position as an index);
* execution custom properties use KFP's names: ``display_name``, ``task_name``,
  ``inputs`` (parameters, a struct), ``outputs`` (output parameters), ``cache_fingerprint``
  (the cache key), ``cached_execution_id``; ours carry a ``lineage_`` prefix
  (``lineage_start_time_ms``, ``lineage_end_time_ms``, ``lineage_error_message``).

Reports are idempotent: the first answer for an idempotency key is kept in
``lineage_idempotency_key`` and returned again, writing nothing, when the same key comes
back (a retry, a replay from the SDK's spool). A step reports twice, RUNNING at its start
and its final state at its end; the final report names the first one
(``running_idempotency_key``) and updates the execution it made, or makes it if the first
report never arrived (and then the first one, should it arrive later, writes nothing).

The dataclasses here need no database and no SQLAlchemy: the SDK builds reports with them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineage import model
from lineage.errors import AlreadyExists, InvalidArgument, NotFound

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from lineage.store.store import Store

__all__ = [
    "CONTAINER_EXECUTION",
    "PIPELINE_CONTEXT",
    "RUN_CONTEXT",
    "ArtifactRecord",
    "CachedStep",
    "StepArtifact",
    "StepBlob",
    "StepReport",
    "StepResult",
    "artifact_record",
    "find_cached_step",
    "record_step",
    "record_step_in",
    "resolve_artifacts",
]

CONTAINER_EXECUTION = "system.ContainerExecution"
PIPELINE_CONTEXT = "system.Pipeline"
RUN_CONTEXT = "system.PipelineRun"
DEFAULT_ARTIFACT_TYPE = "system.Artifact"

# Execution custom properties, KFP's names.
DISPLAY_NAME = "display_name"
TASK_NAME = "task_name"
INPUTS = "inputs"
OUTPUTS = "outputs"
CACHE_FINGERPRINT = "cache_fingerprint"
CACHED_EXECUTION_ID = "cached_execution_id"
# Ours.
START_TIME = "lineage_start_time_ms"
END_TIME = "lineage_end_time_ms"
ERROR_MESSAGE = "lineage_error_message"
# The return value as JSON: exact where the ``outputs`` struct holds numbers as doubles.
OUTPUT_JSON = "lineage_output_json"
# Artifact custom properties written by the blob layer (lineage.blobs.records).
BLOB_SHA256 = "lineage_sha256"
BLOB_SIZE = "lineage_size"

_STATES = {int(s) for s in model.ExecutionState} - {int(model.ExecutionState.UNKNOWN)}
_ARTIFACT_STATES = {int(s) for s in model.ArtifactState} - {int(model.ArtifactState.UNKNOWN)}
_DEAD_ARTIFACT_STATES = {
    int(model.ArtifactState.MARKED_FOR_DELETION),
    int(model.ArtifactState.DELETED),
    int(model.ArtifactState.ABANDONED),
}
MAX_KEY_LENGTH = 255


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class StepBlob:
    """The bytes behind an artifact: checksum, size, and where the blob store keeps them."""

    sha256: str
    size: int
    uri: str
    # from an in-process upload (BlobRef.blake3): recorded too; not part of equality
    blake3: str | None = field(default=None, compare=False)


@dataclass
class ArtifactRecord:
    """An artifact a step reads or writes.

    As an input it refers to a recorded artifact by ``id``, else ``external_id``, else
    ``uri`` (the newest artifact with that URI, preferring one of the same run; one is
    created, like KFP's importer, if none exists). As an output it is a new artifact
    (or, with ``id``, an existing one: a cached step's outputs).
    """

    id: int = 0
    schema_title: str = ""
    uri: str = ""
    name: str = ""
    external_id: str = ""
    state: int = 0
    # Plain values: str, int, float, bool, or dict (a struct).
    custom_properties: dict[str, Any] = field(default_factory=dict)
    blob: StepBlob | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "schema_title": self.schema_title,
            "uri": self.uri,
            "name": self.name,
            "external_id": self.external_id,
            "state": self.state,
            "custom_properties": self.custom_properties,
            "blob": None
            if self.blob is None
            else {"sha256": self.blob.sha256, "size": self.blob.size, "uri": self.blob.uri},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArtifactRecord:
        blob = data.get("blob")
        return cls(
            id=int(data.get("id") or 0),
            schema_title=data.get("schema_title") or "",
            uri=data.get("uri") or "",
            name=data.get("name") or "",
            external_id=data.get("external_id") or "",
            state=int(data.get("state") or 0),
            custom_properties=dict(data.get("custom_properties") or {}),
            blob=StepBlob(blob["sha256"], int(blob["size"]), blob.get("uri") or "")
            if blob
            else None,
        )


@dataclass
class StepArtifact:
    """An artifact under an input or output name (event path key) and position (index)."""

    key: str
    artifact: ArtifactRecord
    index: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "index": self.index, "artifact": self.artifact.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepArtifact:
        return cls(
            key=data["key"],
            index=int(data.get("index") or 0),
            artifact=ArtifactRecord.from_dict(data["artifact"]),
        )


@dataclass
class StepReport:
    """Everything about one step; see the module docstring."""

    idempotency_key: str
    pipeline: str
    run: str
    step: str
    state: int
    execution_type: str = CONTAINER_EXECUTION
    start_time_ms: int = 0
    end_time_ms: int = 0
    parameters: dict[str, Any] = field(default_factory=dict)
    custom_properties: dict[str, Any] = field(default_factory=dict)
    inputs: list[StepArtifact] = field(default_factory=list)
    outputs: list[StepArtifact] = field(default_factory=list)
    cache_key: str = ""
    error_message: str = ""
    execution_id: int = 0
    running_idempotency_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "idempotency_key": self.idempotency_key,
            "pipeline": self.pipeline,
            "run": self.run,
            "step": self.step,
            "state": self.state,
            "execution_type": self.execution_type,
            "start_time_ms": self.start_time_ms,
            "end_time_ms": self.end_time_ms,
            "parameters": self.parameters,
            "custom_properties": self.custom_properties,
            "inputs": [a.to_dict() for a in self.inputs],
            "outputs": [a.to_dict() for a in self.outputs],
            "cache_key": self.cache_key,
            "error_message": self.error_message,
            "execution_id": self.execution_id,
            "running_idempotency_key": self.running_idempotency_key,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepReport:
        return cls(
            idempotency_key=data["idempotency_key"],
            pipeline=data["pipeline"],
            run=data["run"],
            step=data["step"],
            state=int(data["state"]),
            execution_type=data.get("execution_type") or CONTAINER_EXECUTION,
            start_time_ms=int(data.get("start_time_ms") or 0),
            end_time_ms=int(data.get("end_time_ms") or 0),
            parameters=dict(data.get("parameters") or {}),
            custom_properties=dict(data.get("custom_properties") or {}),
            inputs=[StepArtifact.from_dict(a) for a in data.get("inputs") or ()],
            outputs=[StepArtifact.from_dict(a) for a in data.get("outputs") or ()],
            cache_key=data.get("cache_key") or "",
            error_message=data.get("error_message") or "",
            execution_id=int(data.get("execution_id") or 0),
            running_idempotency_key=data.get("running_idempotency_key") or "",
        )


@dataclass
class StepResult:
    """What a report recorded; ``replayed`` when its key had been recorded before."""

    execution_id: int
    input_artifact_ids: list[int] = field(default_factory=list)
    output_artifact_ids: list[int] = field(default_factory=list)
    pipeline_context_id: int = 0
    run_context_id: int = 0
    replayed: bool = False

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "execution_id": self.execution_id,
                "input_artifact_ids": self.input_artifact_ids,
                "output_artifact_ids": self.output_artifact_ids,
                "pipeline_context_id": self.pipeline_context_id,
                "run_context_id": self.run_context_id,
            }
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes | str | None, execution_id: int) -> StepResult:
        data = json.loads(raw) if raw else {}
        return cls(
            execution_id=int(data.get("execution_id") or execution_id),
            input_artifact_ids=[int(i) for i in data.get("input_artifact_ids") or ()],
            output_artifact_ids=[int(i) for i in data.get("output_artifact_ids") or ()],
            pipeline_context_id=int(data.get("pipeline_context_id") or 0),
            run_context_id=int(data.get("run_context_id") or 0),
            replayed=True,
        )


@dataclass
class CachedStep:
    """A COMPLETE execution with a given cache key, and its outputs."""

    execution_id: int
    outputs: list[StepArtifact] = field(default_factory=list)
    custom_properties: dict[str, Any] = field(default_factory=dict)
    # Outputs whose recorded bytes are no longer in the blob store: not usable.
    lost_outputs: list[str] = field(default_factory=list)

    def check_blobs(self, exists: Any) -> CachedStep:
        """Note the outputs whose stored object ``exists(sha256)`` no longer finds."""
        self.lost_outputs = [
            item.key
            for item in self.outputs
            if item.artifact.blob is not None
            and item.artifact.blob.sha256
            and not exists(item.artifact.blob.sha256)
        ]
        return self


# --------------------------------------------------------------------------- validation


def _check_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidArgument(f"{where} must be a finite number, got {value!r}")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidArgument(f"{where}: keys must be strings, got {k!r}")
            _check_value(v, f"{where}.{k}")
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_value(v, f"{where}[{i}]")
        return
    raise InvalidArgument(f"{where}: cannot store a {type(value).__name__}")


def _check_properties(props: Mapping[str, Any], where: str) -> None:
    for name, value in props.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"{where}: property names must be non-empty strings")
        if value is None or isinstance(value, list | tuple):
            raise InvalidArgument(
                f"{where}[{name!r}]: a property is a str, int, float, bool or dict, "
                f"got {type(value).__name__}"
            )
        _check_value(value, f"{where}[{name!r}]")


# The last millisecond of the year 9999: past it no calendar library reads a time back.
MAX_TIME_MS = 253_402_300_799_999


def validate_report(report: StepReport) -> None:
    """InvalidArgument with a clear message for a report that cannot be recorded."""
    for name in ("idempotency_key", "pipeline", "run", "step"):
        value = getattr(report, name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgument(f"a step report needs a non-empty {name}")
        if len(value) > MAX_KEY_LENGTH:
            raise InvalidArgument(f"{name} is longer than {MAX_KEY_LENGTH} characters")
    if len(report.running_idempotency_key) > MAX_KEY_LENGTH:
        raise InvalidArgument(f"running_idempotency_key is longer than {MAX_KEY_LENGTH} characters")
    if report.running_idempotency_key == report.idempotency_key:
        raise InvalidArgument("running_idempotency_key must differ from idempotency_key")
    if report.state not in _STATES:
        raise InvalidArgument(
            f"state {report.state} is not an execution state "
            "(RUNNING=2, COMPLETE=3, FAILED=4, CACHED=5, CANCELED=6)"
        )
    for name in ("start_time_ms", "end_time_ms"):
        ms = getattr(report, name)
        if ms and not 0 <= ms <= MAX_TIME_MS:
            raise InvalidArgument(
                f"{name} {ms} is not a time in milliseconds since the epoch (a time in "
                "microseconds or nanoseconds by mistake?)"
            )
    _check_value(report.parameters, "parameters")
    _check_properties(report.custom_properties, "custom_properties")
    for side, items in (("inputs", report.inputs), ("outputs", report.outputs)):
        for item in items:
            if not item.key:
                raise InvalidArgument(f"{side}: every artifact needs a key (its name)")
            if item.index < 0:
                raise InvalidArgument(f"{side}[{item.key!r}]: index must not be negative")
            art = item.artifact
            if art.state and art.state not in _ARTIFACT_STATES:
                raise InvalidArgument(
                    f"{side}[{item.key!r}]: state {art.state} is not an artifact state "
                    "(PENDING=1, LIVE=2, MARKED_FOR_DELETION=3, DELETED=4, ABANDONED=5, "
                    "REFERENCE=6)"
                )
            if art.blob is not None and art.blob.size < 0:
                raise InvalidArgument(
                    f"{side}[{item.key!r}]: blob size {art.blob.size} is negative"
                )
            _check_properties(art.custom_properties, f"{side}[{item.key!r}].custom_properties")
            if side == "inputs" and not (art.id or art.external_id or art.uri):
                raise InvalidArgument(
                    f"input {item.key!r}: refer to an artifact by id, external_id or uri"
                )


# --------------------------------------------------------------------------- writing


def record_step(store: Store, report: StepReport) -> StepResult:
    """Record ``report`` in one transaction (see the module docstring)."""
    validate_report(report)
    attempts = 3
    for attempt in range(attempts):
        try:
            return store.write(lambda c: record_step_in(c, report))
        except AlreadyExists:
            # The same key recorded concurrently (the other writer's answer is ours), or a
            # context or type created concurrently (the next attempt finds it).
            done = store.read(lambda c: _recorded(c, report.idempotency_key))
            if done is not None:
                return done
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _recorded(conn: Connection, key: str) -> StepResult | None:
    from sqlalchemy import select

    from lineage.store.schema import idempotency_table as t

    row = conn.execute(select(t.c.execution_id, t.c.response).where(t.c.key == key)).first()
    if row is None:
        return None
    return StepResult.from_json(row.response, int(row.execution_id))


def _type_id(conn: Connection, kind: Any, name: str) -> int:
    from lineage.store import types

    ids = types.type_ids_named(conn, kind, name, None)
    if ids:
        return ids[0]
    type_class = kind.type_class
    return types.put_type(conn, kind, type_class(name=name), can_omit_fields=True)


def _context_id(conn: Connection, type_id: int, name: str, now: int) -> int:
    from sqlalchemy import select

    from lineage.store import nodes
    from lineage.store.kinds import CONTEXT

    table = CONTEXT.table

    def find() -> int | None:
        row = conn.execute(
            select(table.c.id).where(table.c.type_id == type_id, table.c.name == name)
        ).first()
        return None if row is None else int(row.id)

    found = find()
    if found is not None:
        return found
    try:
        with conn.begin_nested():
            return nodes.create_node(
                conn,
                CONTEXT,
                model.Context(type_id=type_id, name=name),
                nodes.TypeCache(conn, CONTEXT),
                now,
            )
    except AlreadyExists:
        found = find()
        if found is None:
            raise
        return found


def _link_parent(conn: Connection, child: int, parent: int) -> None:
    from sqlalchemy import select

    from lineage.store import edges
    from lineage.store.schema import parent_context_table as pc

    exists = conn.execute(
        select(pc.c.context_id).where(pc.c.context_id == child, pc.c.parent_context_id == parent)
    ).first()
    if exists is None:
        edges.put_parent_contexts(conn, [model.ParentContext(child_id=child, parent_id=parent)])


def _check_run_pipeline(
    conn: Connection, run_id: int, pipeline_id: int, pipeline_type: int, report: StepReport
) -> None:
    """InvalidArgument if the run (its name is the context's) belongs to another pipeline:
    run contexts are unique by name, so it would mix both pipelines' steps."""
    from sqlalchemy import select

    from lineage.store.kinds import CONTEXT
    from lineage.store.schema import parent_context_table as pc

    table = CONTEXT.table
    other = conn.execute(
        select(table.c.name)
        .join(pc, pc.c.parent_context_id == table.c.id)
        .where(
            pc.c.context_id == run_id,
            table.c.type_id == pipeline_type,
            table.c.id != pipeline_id,
        )
    ).first()
    if other is not None:
        raise InvalidArgument(
            f"run {report.run!r} belongs to pipeline {other.name!r}, not {report.pipeline!r}: "
            "run names are unique across pipelines; choose another run name"
        )


def _values(props: Mapping[str, Any]) -> dict[str, model.Value]:
    return {name: model.Value.of(value) for name, value in props.items()}


def _artifact_in_run(conn: Connection, ids: list[int], run_context_id: int | None) -> int | None:
    """The newest of ``ids`` in the run context if any is, else the newest; None if none."""
    from sqlalchemy import select

    from lineage.store.schema import attribution_table as at

    if not ids:
        return None
    if run_context_id is not None:
        in_run = [
            int(r.artifact_id)
            for r in conn.execute(
                select(at.c.artifact_id).where(
                    at.c.context_id == run_context_id, at.c.artifact_id.in_(ids)
                )
            )
        ]
        if in_run:
            return max(in_run)
    return max(ids)


def _recorded_artifact(conn: Connection, item: StepArtifact, role: str) -> int | None:
    """The id of the artifact an input or output names by id (NotFound if none) or by
    external id (None if none)."""
    from sqlalchemy import select

    from lineage.store.kinds import ARTIFACT

    art = item.artifact
    table = ARTIFACT.table
    if art.id:
        row = conn.execute(select(table.c.id).where(table.c.id == art.id)).first()
        if row is None:
            raise NotFound(f"{role} {item.key!r}: there is no artifact with id {art.id}")
        return int(row.id)
    if art.external_id:
        row = conn.execute(select(table.c.id).where(table.c.external_id == art.external_id)).first()
        if row is not None:
            return int(row.id)
    return None


def _find_input(conn: Connection, item: StepArtifact, run_context_id: int | None) -> int | None:
    """The id of the recorded artifact an input refers to, or None (by uri only)."""
    from sqlalchemy import select

    from lineage.store.kinds import ARTIFACT

    found = _recorded_artifact(conn, item, "input")
    if found is not None:
        return found
    art = item.artifact
    if art.external_id and not art.uri:
        raise NotFound(
            f"input {item.key!r}: there is no artifact with external_id {art.external_id!r}"
            " (was the step that writes it recorded?)"
        )
    table = ARTIFACT.table
    ids = [int(r.id) for r in conn.execute(select(table.c.id).where(table.c.uri == art.uri))]
    if art.blob is not None and ids:
        # Other bytes under the same URI (a local file edited since) are another artifact.
        ids = _with_sha256(conn, ids, art.blob.sha256)
    return _artifact_in_run(conn, ids, run_context_id)


def _with_sha256(conn: Connection, ids: list[int], sha256: str) -> list[int]:
    """Those of ``ids`` whose recorded bytes have the checksum ``sha256``."""
    from sqlalchemy import select

    from lineage.store.schema import artifact_property_table as ap

    return [
        int(r.artifact_id)
        for r in conn.execute(
            select(ap.c.artifact_id).where(
                ap.c.artifact_id.in_(ids),
                ap.c.name == BLOB_SHA256,
                ap.c.is_custom_property == 1,
                ap.c.string_value == sha256.lower(),
            )
        )
    ]


def _create_artifact(conn: Connection, art: ArtifactRecord, default_name: str, now: int) -> int:
    from lineage.store import nodes
    from lineage.store.kinds import ARTIFACT

    type_id = _type_id(conn, ARTIFACT, art.schema_title or DEFAULT_ARTIFACT_TYPE)
    props = dict(art.custom_properties)
    props.pop(BLOB_SHA256, None)
    props.pop(BLOB_SIZE, None)
    if default_name and DISPLAY_NAME not in props:
        props[DISPLAY_NAME] = default_name
    artifact_id = nodes.create_node(
        conn,
        ARTIFACT,
        model.Artifact(
            type_id=type_id,
            uri=art.uri or (art.blob.uri if art.blob else ""),
            name=art.name or None,
            external_id=art.external_id or None,
            state=art.state or int(model.ArtifactState.LIVE),
            custom_properties=_values(props),
        ),
        nodes.TypeCache(conn, ARTIFACT),
        now,
    )
    if art.blob is not None:
        from lineage.blobs.base import BlobRef
        from lineage.blobs.records import attach_blob

        attach_blob(
            conn,
            artifact_id,
            BlobRef(art.blob.sha256, art.blob.size, art.blob.uri, blake3=art.blob.blake3),
        )
    return artifact_id


def _output_artifact(conn: Connection, item: StepArtifact, now: int) -> int:
    found = _recorded_artifact(conn, item, "output")
    if found is not None:
        return found
    return _create_artifact(conn, item.artifact, item.key, now)


def _existing_events(conn: Connection, execution_id: int) -> set[tuple[int, int]]:
    from sqlalchemy import select

    from lineage.store.schema import event_table as ev

    return {
        (int(r.artifact_id), int(r.type))
        for r in conn.execute(
            select(ev.c.artifact_id, ev.c.type).where(ev.c.execution_id == execution_id)
        )
    }


def _execution_properties(report: StepReport) -> dict[str, Any]:
    props: dict[str, Any] = {DISPLAY_NAME: report.step, TASK_NAME: report.step}
    if report.parameters:
        props[INPUTS] = dict(report.parameters)
    if report.cache_key:
        props[CACHE_FINGERPRINT] = report.cache_key
    if report.start_time_ms:
        props[START_TIME] = int(report.start_time_ms)
    if report.end_time_ms:
        props[END_TIME] = int(report.end_time_ms)
    if report.error_message:
        props[ERROR_MESSAGE] = report.error_message
    props.update(report.custom_properties)
    return props


def record_step_in(conn: Connection, report: StepReport) -> StepResult:
    """:func:`record_step` inside the caller's transaction (the caller commits)."""
    from sqlalchemy import insert

    from lineage.store import edges, nodes
    from lineage.store.kinds import CONTEXT, EXECUTION
    from lineage.store.schema import idempotency_table as idem

    done = _recorded(conn, report.idempotency_key)
    if done is not None:
        return done
    now = nodes.now_ms()

    # The execution to update, if this report follows an earlier one.
    execution_id: int | None = None
    earlier = (
        _recorded(conn, report.running_idempotency_key) if report.running_idempotency_key else None
    )
    if report.execution_id:
        if not nodes.load_by_ids(conn, EXECUTION, [report.execution_id]):
            raise NotFound(f"there is no execution with id {report.execution_id} to update")
        execution_id = report.execution_id
    elif earlier is not None:
        execution_id = earlier.execution_id

    pipeline_type = _type_id(conn, CONTEXT, PIPELINE_CONTEXT)
    run_type = _type_id(conn, CONTEXT, RUN_CONTEXT)
    pipeline_id = _context_id(conn, pipeline_type, report.pipeline, now)
    run_id = _context_id(conn, run_type, report.run, now)
    _check_run_pipeline(conn, run_id, pipeline_id, pipeline_type, report)
    _link_parent(conn, run_id, pipeline_id)

    input_ids: list[int] = []
    for item in report.inputs:
        found = _find_input(conn, item, run_id)
        if found is None:  # by uri, never recorded: record it, as KFP's importer does
            found = _create_artifact(conn, item.artifact, "", now)
        input_ids.append(found)
    output_ids = [_output_artifact(conn, item, now) for item in report.outputs]

    props = _execution_properties(report)
    if execution_id is None:
        execution_id = nodes.create_node(
            conn,
            EXECUTION,
            model.Execution(
                type_id=_type_id(conn, EXECUTION, report.execution_type or CONTAINER_EXECUTION),
                last_known_state=report.state,
                custom_properties=_values(props),
            ),
            nodes.TypeCache(conn, EXECUTION),
            now,
        )
    else:
        stored = nodes.load_by_ids(conn, EXECUTION, [execution_id])[0]
        merged = dict(stored.custom_properties)
        merged.update(_values(props))
        if report.state != int(model.ExecutionState.FAILED):
            merged.pop(ERROR_MESSAGE, None)
        stored.last_known_state = report.state
        stored.custom_properties = merged
        nodes.update_node(conn, EXECUTION, stored, nodes.TypeCache(conn, EXECUTION), now)

    present = _existing_events(conn, execution_id)
    events: list[model.Event] = []
    for items, ids, kind, when in (
        (report.inputs, input_ids, model.EventType.INPUT, report.start_time_ms),
        (report.outputs, output_ids, model.EventType.OUTPUT, report.end_time_ms),
    ):
        for item, artifact_id in zip(items, ids, strict=True):
            if (artifact_id, int(kind)) in present:
                continue
            present.add((artifact_id, int(kind)))
            events.append(
                model.Event(
                    artifact_id=artifact_id,
                    execution_id=execution_id,
                    type=int(kind),
                    path=[model.PathStep(key=item.key), model.PathStep(index=item.index)],
                    milliseconds_since_epoch=when or now,
                )
            )
    edges.put_events(conn, events, check_nodes=False, now=now)
    artifact_ids = list(dict.fromkeys(input_ids + output_ids))
    edges.put_attributions_and_associations(
        conn,
        [model.Attribution(c, a) for c in (pipeline_id, run_id) for a in artifact_ids],
        [model.Association(c, execution_id) for c in (pipeline_id, run_id)],
    )

    result = StepResult(
        execution_id=execution_id,
        input_artifact_ids=input_ids,
        output_artifact_ids=output_ids,
        pipeline_context_id=pipeline_id,
        run_context_id=run_id,
    )
    rows = [report.idempotency_key]
    if report.running_idempotency_key and earlier is None:
        # Claimed with this report's own key: a late RUNNING report then writes nothing.
        # Decided on what was read at the start: if the RUNNING report commits meanwhile
        # (another server thread), this insert collides with its key and the whole
        # report is retried (record_step), then updating that report's execution,
        # instead of committing a second execution of the step.
        rows.append(report.running_idempotency_key)
    conn.execute(
        insert(idem),
        [
            {
                "key": key,
                "execution_id": execution_id,
                "response": result.to_json(),
                "create_time_since_epoch": now,
            }
            for key in rows
        ],
    )
    return result


# --------------------------------------------------------------------------- reading


def artifact_record(conn: Connection, artifact: model.Artifact) -> ArtifactRecord:
    """A stored artifact as an :class:`ArtifactRecord` (schema title, blob, properties)."""
    from lineage.store import types
    from lineage.store.kinds import ARTIFACT

    type_name = ""
    if artifact.type_id:
        found = types.get_types_by_id(conn, ARTIFACT, [artifact.type_id])
        type_name = found[0].name if found else ""
    props = {name: value.python() for name, value in artifact.custom_properties.items()}
    blob = None
    sha = props.pop(BLOB_SHA256, None)
    size = props.pop(BLOB_SIZE, None)
    if isinstance(sha, str) and sha:
        blob = StepBlob(sha, int(size or 0), "")
    return ArtifactRecord(
        id=int(artifact.id or 0),
        schema_title=type_name,
        uri=artifact.uri or "",
        name=artifact.name or "",
        external_id=artifact.external_id or "",
        state=int(artifact.state or 0),
        custom_properties=props,
        blob=blob,
    )


def resolve_artifacts(conn: Connection, refs: list[ArtifactRecord]) -> list[ArtifactRecord | None]:
    """Each reference (by id, else external_id, else uri: the newest) as stored, or None."""
    from sqlalchemy import select

    from lineage.store import nodes
    from lineage.store.kinds import ARTIFACT

    table = ARTIFACT.table
    found: list[ArtifactRecord | None] = []
    for ref in refs:
        if ref.id:
            condition = table.c.id == ref.id
        elif ref.external_id:
            condition = table.c.external_id == ref.external_id
        elif ref.uri:
            condition = table.c.uri == ref.uri
        else:
            raise InvalidArgument("an artifact reference needs an id, external_id or uri")
        row = conn.execute(
            select(table.c.id).where(condition).order_by(table.c.id.desc()).limit(1)
        ).first()
        if row is None:
            found.append(None)
            continue
        [artifact] = nodes.load_by_ids(conn, ARTIFACT, [int(row.id)])
        found.append(artifact_record(conn, artifact))
    return found


def find_cached_step(conn: Connection, cache_key: str) -> CachedStep | None:
    """The newest COMPLETE execution recorded with ``cache_key`` whose outputs all still
    exist (none deleted or marked for deletion), with its outputs; or None."""
    from sqlalchemy import select

    from lineage.store import edges, nodes
    from lineage.store.kinds import ARTIFACT, EXECUTION
    from lineage.store.schema import execution_property_table as ep
    from lineage.store.schema import execution_table as ex

    if not cache_key:
        return None
    candidates = [
        int(r.id)
        for r in conn.execute(
            select(ex.c.id)
            .join(ep, ep.c.execution_id == ex.c.id)
            .where(
                ep.c.name == CACHE_FINGERPRINT,
                ep.c.is_custom_property == 1,
                ep.c.string_value == cache_key,
                ex.c.last_known_state == int(model.ExecutionState.COMPLETE),
            )
            .order_by(ex.c.id.desc())
            .limit(20)
        )
    ]
    for execution_id in candidates:
        events = [
            e
            for e in edges.events_by(conn, "execution_id", [execution_id])
            if e.type == int(model.EventType.OUTPUT)
        ]
        artifacts = {
            a.id: a
            for a in nodes.load_by_ids(
                conn, ARTIFACT, [e.artifact_id for e in events if e.artifact_id]
            )
        }
        if any(
            e.artifact_id not in artifacts
            or int(artifacts[e.artifact_id].state or 0) in _DEAD_ARTIFACT_STATES
            for e in events
        ):
            continue
        outputs = []
        for e in sorted(events, key=lambda e: _event_position(e.path)):
            key, index = _event_position(e.path)
            outputs.append(
                StepArtifact(
                    key=key, index=index, artifact=artifact_record(conn, artifacts[e.artifact_id])
                )
            )
        [execution] = nodes.load_by_ids(conn, EXECUTION, [execution_id])
        return CachedStep(
            execution_id=execution_id,
            outputs=outputs,
            custom_properties={k: v.python() for k, v in execution.custom_properties.items()},
        )
    return None


def _event_position(path: list[model.PathStep] | None) -> tuple[str, int]:
    key, index = "", 0
    for step in path or ():
        if step.key is not None and not key:
            key = step.key
        elif step.index is not None:
            index = step.index
    return key, index


def now_ms() -> int:
    return int(time.time() * 1000)
