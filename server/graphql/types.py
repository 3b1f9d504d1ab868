"""The object types of the schema: nodes (artifacts, executions, contexts, pipeline
runs, types), their properties and edges, connections, enums and scalars.

Every node object holds the core model object it shows (``m``) and the request's
:class:`~lineage.server.graphql.loaders.Loaders`; each relation is resolved through a
DataLoader, never a query per parent.
"""

from __future__ import annotations

import base64
import enum
import time
from datetime import UTC, datetime
from typing import Any, Generic, NewType, TypeVar

import strawberry
from strawberry.scalars import JSON

from lineage import model
from lineage.artifacts import custom_properties_to_metadata
from lineage.server.graphql.ids import to_global_id
from lineage.server.graphql.loaders import Loaders
from lineage.store import dashboard

Long = NewType("Long", int)
LONG_SCALAR = strawberry.scalar(
    name="Long",
    description="A 64-bit integer (MLMD ids, int properties, milliseconds since the epoch), "
    "sent as a JSON number.",
    serialize=int,
    parse_value=lambda v: _parse_long(v),
)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Strawberry's own DateTime, with a parse error that says what is expected (its own
# appends the parser's Python message, e.g. "invalid literal for int() ...").
DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=datetime.isoformat,
    parse_value=lambda v: _parse_datetime(v),
)


def _parse_datetime(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else _not_a_datetime(value)
    except (ValueError, OverflowError):
        return _not_a_datetime(value)


def _not_a_datetime(value: Any) -> datetime:
    raise ValueError(
        f"DateTime must be an ISO 8601 date and time such as 2026-01-31T12:00:00Z, got {value!r}"
    )


def _parse_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"Long cannot represent {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"Long cannot represent {value!r}: not a whole number") from None
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError(f"Long is a 64-bit integer, {value!r} is out of range")
    return number


# --- enums ------------------------------------------------------------------------------


# MLMD's enums, defined once in the core's data model and exposed as they are.
ArtifactState = strawberry.enum(model.ArtifactState, description="MLMD's Artifact.State.")
ExecutionState = strawberry.enum(model.ExecutionState, description="MLMD's Execution.State.")
EventType = strawberry.enum(
    model.EventType, description="MLMD's Event.Type: how an execution used an artifact."
)
PropertyType = strawberry.enum(
    model.PropertyType, description="MLMD's PropertyType: the kind of a property value."
)


@strawberry.enum(description="The three kinds of MLMD nodes and types.")
class TypeKind(enum.Enum):
    ARTIFACT = "artifact"
    EXECUTION = "execution"
    CONTEXT = "context"


@strawberry.enum(
    description="A pipeline run's state, derived from its executions: RUNNING while any "
    "is NEW or RUNNING, else FAILED if any failed, else CANCELED if any was canceled, "
    "else COMPLETE; PENDING while it has no execution."
)
class RunState(enum.Enum):
    RUNNING = "RUNNING"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    COMPLETE = "COMPLETE"
    PENDING = "PENDING"


@strawberry.enum(description="What a list is ordered by (ties broken by id).")
class OrderField(enum.Enum):
    ID = "ID"
    CREATE_TIME = "CREATE_TIME"
    LAST_UPDATE_TIME = "LAST_UPDATE_TIME"


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


def _enum(cls: type[enum.Enum], value: int | None) -> Any:
    if value is None:
        return None
    try:
        return cls(int(value))
    except ValueError:
        return cls(0)


# --- small values --------------------------------------------------------------------------


def ms_to_datetime(ms: int | None) -> datetime | None:
    """A time in ms since the epoch; ``None`` when unset or past what a datetime holds
    (years 1 to 9999): times come from clients (an event's, a step's reported end), and
    one in microseconds by mistake must not fail every read that touches it (the raw
    number stays readable in the ``...SinceEpoch`` fields)."""
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def now_ms() -> int:
    return int(time.time() * 1000)


def value_to_json(value: model.Value) -> Any:
    """A property value as JSON: numbers, strings, booleans, a struct as its object, a
    proto as ``{"typeUrl", "value"}`` (value base64)."""
    if value.kind == model.PropertyType.PROTO:
        proto = value.data
        return {"typeUrl": proto.type_url, "value": base64.b64encode(proto.value).decode()}
    return value.python()


@strawberry.type(description="A property (declared by the type) or custom property of a node.")
class Property:
    name: str
    type: PropertyType
    value: JSON | None = strawberry.field(
        description="The value as JSON: number, string, boolean, or object (a struct; a proto "
        "as {typeUrl, value})."
    )
    int_value: Long | None
    double_value: float | None
    string_value: str | None
    bool_value: bool | None

    @staticmethod
    def of(name: str, value: model.Value) -> Property:
        kind = value.kind
        return Property(
            name=name,
            type=PropertyType(int(kind)),
            value=value_to_json(value),
            int_value=Long(value.data) if kind == model.PropertyType.INT else None,
            double_value=value.data if kind == model.PropertyType.DOUBLE else None,
            string_value=value.data if kind == model.PropertyType.STRING else None,
            bool_value=value.data if kind == model.PropertyType.BOOLEAN else None,
        )


def _properties(props: dict[str, model.Value]) -> list[Property]:
    return [Property.of(name, props[name]) for name in sorted(props)]


@strawberry.type(description="One step of an event's path: an index or a key.")
class PathStep:
    index: int | None
    key: str | None


@strawberry.type(description="An event: an execution read (input) or wrote (output) an artifact.")
class Event:
    e: strawberry.Private[model.Event]
    loaders: strawberry.Private[Loaders]

    @strawberry.field
    def type(self) -> EventType:
        return _enum(EventType, self.e.type)  # type: ignore[no-any-return]

    @strawberry.field
    def milliseconds_since_epoch(self) -> Long | None:
        ms = self.e.milliseconds_since_epoch
        return Long(ms) if ms is not None else None

    @strawberry.field
    def time(self) -> datetime | None:
        return ms_to_datetime(self.e.milliseconds_since_epoch)

    @strawberry.field
    def path(self) -> list[PathStep]:
        return [PathStep(index=s.index, key=s.key) for s in self.e.path or ()]

    @strawberry.field
    async def artifact(self) -> Artifact | None:
        found = await self.loaders.artifact.load(int(self.e.artifact_id or 0))
        return Artifact.of(found, self.loaders) if found else None

    @strawberry.field
    async def execution(self) -> Execution | None:
        found = await self.loaders.execution.load(int(self.e.execution_id or 0))
        return Execution.of(found, self.loaders) if found else None


@strawberry.type(description="A scalar metric: a number a KFP Metrics artifact logged.")
class Metric:
    name: str = strawberry.field(description="The metric's name (its custom property).")
    qualified_name: str = strawberry.field(
        description="'<artifact display name>.<name>': unique within a run."
    )
    value: float
    a: strawberry.Private[model.Artifact]
    loaders: strawberry.Private[Loaders]

    @strawberry.field(description="The Metrics artifact that holds it.")
    def artifact(self) -> Artifact:
        return Artifact.of(self.a, self.loaders)


def artifact_label(artifact: model.Artifact) -> str:
    """KFP's display name of an output (``display_name``), else its name, else its id."""
    shown = artifact.custom_properties.get("display_name")
    if shown is not None and shown.kind == model.PropertyType.STRING and shown.data:
        return str(shown.data)
    return artifact.name or f"artifact-{artifact.id}"


def scalar_metrics(artifact: model.Artifact, loaders: Loaders) -> list[Metric]:
    """The numeric custom properties of a Metrics artifact (KFP's layout: one custom
    property per metric), by name."""
    label = artifact_label(artifact)
    out = []
    for name in sorted(artifact.custom_properties):
        value = artifact.custom_properties[name]
        if value.kind in (model.PropertyType.INT, model.PropertyType.DOUBLE):
            out.append(
                Metric(
                    name=name,
                    qualified_name=f"{label}.{name}",
                    value=float(value.data),
                    a=artifact,
                    loaders=loaders,
                )
            )
    return out


# --- nodes -------------------------------------------------------------------------------


@strawberry.interface(description="An object with a global id (Relay): fetch it with node(id:).")
class Node:
    id: strawberry.ID


@strawberry.type(description="A property a type declares.")
class PropertyDefinition:
    name: str
    type: PropertyType


@strawberry.interface(description="An artifact, execution or context type.")
class NodeType(Node):
    t: strawberry.Private[Any]

    @strawberry.field
    def mlmd_id(self) -> Long:
        return Long(int(self.t.id))

    @strawberry.field
    def name(self) -> str:
        return str(self.t.name)

    @strawberry.field
    def version(self) -> str | None:
        return self.t.version  # type: ignore[no-any-return]

    @strawberry.field
    def description(self) -> str | None:
        return self.t.description  # type: ignore[no-any-return]

    @strawberry.field
    def external_id(self) -> str | None:
        return self.t.external_id  # type: ignore[no-any-return]

    @strawberry.field(description="MLMD's base type (SystemTypeExtension), when set.")
    def base_type(self) -> int | None:
        return self.t.base_type  # type: ignore[no-any-return]

    @strawberry.field
    def properties(self) -> list[PropertyDefinition]:
        return [
            PropertyDefinition(name=n, type=PropertyType(int(k)))
            for n, k in sorted(self.t.properties.items())
        ]


@strawberry.type
class ArtifactType(NodeType):
    @staticmethod
    def of(t: model.ArtifactType) -> ArtifactType:
        return ArtifactType(id=strawberry.ID(to_global_id("ArtifactType", int(t.id or 0))), t=t)


@strawberry.type
class ExecutionType(NodeType):
    @staticmethod
    def of(t: model.ExecutionType) -> ExecutionType:
        return ExecutionType(id=strawberry.ID(to_global_id("ExecutionType", int(t.id or 0))), t=t)

    @strawberry.field(description="MLMD's input_type (ArtifactStructType) as JSON text.")
    def input_type(self) -> str | None:
        return self.t.input_type  # type: ignore[no-any-return]

    @strawberry.field(description="MLMD's output_type (ArtifactStructType) as JSON text.")
    def output_type(self) -> str | None:
        return self.t.output_type  # type: ignore[no-any-return]


@strawberry.type
class ContextType(NodeType):
    @staticmethod
    def of(t: model.ContextType) -> ContextType:
        return ContextType(id=strawberry.ID(to_global_id("ContextType", int(t.id or 0))), t=t)


def labels_of(node: Any) -> list[str]:
    prefix = dashboard.LABEL_PREFIX
    return sorted(
        name[len(prefix) :]
        for name, value in node.custom_properties.items()
        if name.startswith(prefix) and value.kind == model.PropertyType.BOOLEAN and value.data
    )


def note_of(node: Any) -> str | None:
    value = node.custom_properties.get("note")
    if value is not None and value.kind == model.PropertyType.STRING:
        return str(value.data)
    return None


@strawberry.interface(
    description="What artifacts, executions and contexts (and pipeline runs) share."
)
class MetadataNode(Node):
    # Scalar fields are plain attributes filled when the object is made (strawberry
    # resolves those without a resolver call: a page of hundreds of nodes stays cheap).
    mlmd_id: Long = strawberry.field(
        description="The MLMD id (what MLMD's API and filter_query call id)."
    )
    name: str | None
    external_id: str | None
    type_name: str = strawberry.field(description="The name of the node's type, like system.Model.")
    create_time: datetime
    last_update_time: datetime
    create_time_since_epoch: Long
    last_update_time_since_epoch: Long
    labels: list[str] = strawberry.field(
        description="Labels set with addLabels (custom properties 'label:<name>' = true)."
    )
    note: str | None = strawberry.field(
        description="The note set with setNote (custom property 'note')."
    )
    m: strawberry.Private[Any]
    loaders: strawberry.Private[Loaders]

    @strawberry.field(description="Properties declared by the type, by name.")
    def properties(self) -> list[Property]:
        return _properties(self.m.properties)

    @strawberry.field(description="Custom properties, by name.")
    def custom_properties(self) -> list[Property]:
        return _properties(self.m.custom_properties)

    @strawberry.field(description="One declared property, or null.")
    def property(self, name: str) -> Property | None:
        value = self.m.properties.get(name)
        return Property.of(name, value) if value is not None else None

    @strawberry.field(description="One custom property, or null.")
    def custom_property(self, name: str) -> Property | None:
        value = self.m.custom_properties.get(name)
        return Property.of(name, value) if value is not None else None


def _common(typename: str, m: Any, loaders: Loaders) -> dict[str, Any]:
    created = int(m.create_time_since_epoch or 0)
    updated = int(m.last_update_time_since_epoch or 0)
    return {
        "id": strawberry.ID(to_global_id(typename, int(m.id or 0))),
        "mlmd_id": Long(int(m.id or 0)),
        "name": m.name,
        "external_id": m.external_id,
        "type_name": str(m.type or ""),
        "create_time": ms_to_datetime(created),
        "last_update_time": ms_to_datetime(updated),
        "create_time_since_epoch": Long(created),
        "last_update_time_since_epoch": Long(updated),
        "labels": labels_of(m),
        "note": note_of(m),
        "m": m,
        "loaders": loaders,
    }


def _terminal(state: int | None) -> bool:
    return state is not None and int(state) in dashboard.TERMINAL_EXECUTION_STATES


def _duration(start: int | None, end: int | None) -> float | None:
    if start is None:
        return None
    return max(0, (end if end is not None else now_ms()) - start) / 1000


@strawberry.type(
    description="An artifact: data a step read or wrote (system.Dataset, system.Model, "
    "system.Metrics, ...)."
)
class Artifact(MetadataNode):
    uri: str | None
    state: ArtifactState | None
    display_name: str = strawberry.field(
        description="KFP's display name of the output, else the name."
    )

    @staticmethod
    def of(m: model.Artifact, loaders: Loaders) -> Artifact:
        return Artifact(
            **_common("Artifact", m, loaders),
            uri=m.uri,
            state=_enum(ArtifactState, m.state),
            display_name=artifact_label(m),
        )

    @strawberry.field
    async def type(self) -> ArtifactType | None:
        found = await self.loaders.artifact_type.load(int(self.m.type_id))
        return ArtifactType.of(found) if found else None

    @strawberry.field(
        description="The custom properties in KFP's artifact metadata layout (lists and "
        "structs unwrapped), as the viewers read them."
    )
    def metadata(self) -> JSON:
        return custom_properties_to_metadata(self.m.custom_properties)  # type: ignore[return-value]

    @strawberry.field(description="Numeric custom properties, as metrics (KFP Metrics artifacts).")
    def metrics(self) -> list[Metric]:
        return scalar_metrics(self.m, self.loaders)

    @strawberry.field
    async def events(self) -> list[Event]:
        found = await self.loaders.artifact_events.load(int(self.m.id))
        return [Event(e=e, loaders=self.loaders) for e in found]

    @strawberry.field(description="The execution that wrote it (an output event), if any.")
    async def producer(self) -> Execution | None:
        events = await self.loaders.artifact_events.load(int(self.m.id))
        ids = [int(e.execution_id) for e in events if e.type in _OUTPUT_TYPES]
        if not ids:
            return None
        found = await self.loaders.execution.load(ids[0])
        return Execution.of(found, self.loaders) if found else None

    @strawberry.field(description="The executions that read it (input events).")
    async def consumers(self) -> list[Execution]:
        events = await self.loaders.artifact_events.load(int(self.m.id))
        ids = list(dict.fromkeys(int(e.execution_id) for e in events if e.type in _INPUT_TYPES))
        found = await self.loaders.execution.load_many(ids)
        return [Execution.of(x, self.loaders) for x in found if x is not None]

    @strawberry.field
    async def contexts(self) -> list[Context]:
        found = await self.loaders.artifact_contexts.load(int(self.m.id))
        return [Context.of(c, self.loaders) for c in found]


_INPUT_TYPES = {int(t) for t in model.INPUT_EVENT_TYPES}
_OUTPUT_TYPES = {int(t) for t in model.OUTPUT_EVENT_TYPES}


def step_label(execution: model.Execution) -> str:
    """KFP's task name of a step (``display_name`` / ``task_name``), else its name."""
    for key in ("display_name", "task_name"):
        shown = execution.custom_properties.get(key)
        if shown is not None and shown.kind == model.PropertyType.STRING and shown.data:
            return str(shown.data)
    return execution.name or f"execution-{execution.id}"


STEP_START_TIME = "lineage_start_time_ms"
STEP_END_TIME = "lineage_end_time_ms"


def _int_property(node: Any, name: str) -> int | None:
    value = node.custom_properties.get(name)
    if value is not None and value.kind == model.PropertyType.INT:
        return int(value.data)
    return None


def execution_parameters(execution: model.Execution) -> dict[str, Any]:
    """A step's input parameters as KFP records them: the ``inputs`` struct custom
    property (KFP v2), ``input:<name>`` custom properties (KFP v1), or a ``parameters``
    struct."""
    out: dict[str, Any] = {}
    for key in ("inputs", "parameters"):
        value = execution.custom_properties.get(key)
        if value is not None and value.kind == model.PropertyType.STRUCT:
            data = value.python()
            if isinstance(data, dict):
                out.update(custom_properties_to_metadata(data))
    for key, value in execution.custom_properties.items():
        if key.startswith("input:") and len(key) > len("input:"):
            out[key[len("input:") :]] = value_to_json(value)
    return out


@strawberry.type(description="An execution: one run of a step (system.ContainerExecution, ...).")
class Execution(MetadataNode):
    state: ExecutionState | None = strawberry.field(description="MLMD's last_known_state.")
    display_name: str = strawberry.field(
        description="KFP's task name (display_name, task_name), else the name."
    )
    start_time: datetime = strawberry.field(
        description="When it started (the SDK's lineage_start_time_ms, else its creation)."
    )
    end_time: datetime | None = strawberry.field(
        description="Once in a final state: when it ended (the SDK's lineage_end_time_ms, "
        "else its last update); else null."
    )
    duration_seconds: float | None = strawberry.field(
        description="Seconds from start to end (to now while not finished)."
    )

    @staticmethod
    def of(m: model.Execution, loaders: Loaders) -> Execution:
        common = _common("Execution", m, loaders)
        # The SDK records the step's own clock (lineage_start/end_time_ms); else the
        # execution's creation and, once final, its last update.
        start = _int_property(m, STEP_START_TIME) or m.create_time_since_epoch
        end = None
        if _terminal(m.last_known_state):
            end = _int_property(m, STEP_END_TIME) or m.last_update_time_since_epoch
        return Execution(
            **common,
            state=_enum(ExecutionState, m.last_known_state),
            display_name=step_label(m),
            start_time=ms_to_datetime(start) or common["create_time"],
            end_time=ms_to_datetime(end),
            duration_seconds=_duration(start, end),
        )

    @strawberry.field
    async def type(self) -> ExecutionType | None:
        found = await self.loaders.execution_type.load(int(self.m.type_id))
        return ExecutionType.of(found) if found else None

    @strawberry.field(
        description="Input parameters (KFP: the 'inputs' struct or 'input:<name>' custom "
        "properties), by name."
    )
    def parameters(self) -> JSON:
        return execution_parameters(self.m)  # type: ignore[return-value]

    @strawberry.field
    async def events(self) -> list[Event]:
        found = await self.loaders.execution_events.load(int(self.m.id))
        return [Event(e=e, loaders=self.loaders) for e in found]

    async def _artifacts(self, wanted: set[int]) -> list[Artifact]:
        events = await self.loaders.execution_events.load(int(self.m.id))
        ids = list(dict.fromkeys(int(e.artifact_id) for e in events if e.type in wanted))
        found = await self.loaders.artifact.load_many(ids)
        return [Artifact.of(a, self.loaders) for a in found if a is not None]

    @strawberry.field(description="Artifacts it read (input events).")
    async def inputs(self) -> list[Artifact]:
        return await self._artifacts(_INPUT_TYPES)

    @strawberry.field(description="Artifacts it wrote (output events).")
    async def outputs(self) -> list[Artifact]:
        return await self._artifacts(_OUTPUT_TYPES)

    @strawberry.field
    async def contexts(self) -> list[Context]:
        found = await self.loaders.execution_contexts.load(int(self.m.id))
        return [Context.of(c, self.loaders) for c in found]

    @strawberry.field(description="The pipeline run it belongs to (a system.PipelineRun context).")
    async def run(self) -> PipelineRun | None:
        found = await self.loaders.execution_contexts.load(int(self.m.id))
        for context in found:
            if context.type == dashboard.PIPELINE_RUN_TYPE:
                return PipelineRun.of(context, self.loaders)
        return None


CONTEXT_LIST_LIMIT = 100


def _check_limit(first: int) -> int:
    from lineage.errors import InvalidArgument

    if not 0 <= first <= CONTEXT_LIST_LIMIT:
        raise InvalidArgument(f"first must be between 0 and {CONTEXT_LIST_LIMIT}, got {first}")
    return first


@strawberry.type(
    description="A context: a group of nodes (system.Pipeline, system.PipelineRun, ...)."
)
class Context(MetadataNode):
    @staticmethod
    def of(m: model.Context, loaders: Loaders) -> Context:
        return Context(**_common("Context", m, loaders))

    @strawberry.field
    async def type(self) -> ContextType | None:
        found = await self.loaders.context_type.load(int(self.m.type_id))
        return ContextType.of(found) if found else None

    @strawberry.field(
        description="Its first artifacts by id (at most 100; page through all of them with "
        "artifacts(contextId:))."
    )
    async def artifacts(self, first: int = 20) -> list[Artifact]:
        found = await self.loaders.context_artifacts.load((int(self.m.id), _check_limit(first)))
        return [Artifact.of(a, self.loaders) for a in found]

    @strawberry.field(description="How many artifacts it has.")
    async def artifact_count(self) -> int:
        return await self.loaders.context_artifact_count.load(int(self.m.id))

    @strawberry.field(
        description="Its first executions by id (at most 100; page through all of them with "
        "executions(contextId:))."
    )
    async def executions(self, first: int = 20) -> list[Execution]:
        found = await self.loaders.context_executions.load((int(self.m.id), _check_limit(first)))
        return [Execution.of(e, self.loaders) for e in found]

    @strawberry.field(description="How many executions it has.")
    async def execution_count(self) -> int:
        return await self.loaders.context_execution_count.load(int(self.m.id))

    @strawberry.field
    async def parents(self) -> list[Context]:
        found = await self.loaders.context_parents.load(int(self.m.id))
        return [Context.of(c, self.loaders) for c in found]

    @strawberry.field
    async def children(self) -> list[Context]:
        found = await self.loaders.context_children.load(int(self.m.id))
        return [Context.of(c, self.loaders) for c in found]

    @strawberry.field(description="This context as a pipeline run, if it is one.")
    def as_pipeline_run(self) -> PipelineRun | None:
        if self.m.type != dashboard.PIPELINE_RUN_TYPE:
            return None
        return PipelineRun.of(self.m, self.loaders)


@strawberry.type(description="How many steps of a run are in one state.")
class StateCount:
    state: ExecutionState
    count: int


@strawberry.type(description="An input parameter of a run (of one of its steps).")
class Parameter:
    name: str = strawberry.field(
        description="The parameter's name; '<step>.<name>' for a step's own inputs "
        "(unprefixed for the pipeline's root DAG execution)."
    )
    value: JSON | None
    x: strawberry.Private[model.Execution]
    loaders: strawberry.Private[Loaders]

    @strawberry.field(description="The execution it was given to.")
    def step(self) -> Execution:
        return Execution.of(self.x, self.loaders)


DAG_EXECUTION_TYPES = ("system.DAGExecution",)


def run_parameters(steps: list[model.Execution], loaders: Loaders) -> list[Parameter]:
    """Parameters of a run: the root DAG execution's inputs by name, each step's as
    '<step>.<name>'; sorted by name."""
    out: dict[str, Parameter] = {}
    for step in steps:
        prefix = "" if step.type in DAG_EXECUTION_TYPES else step_label(step) + "."
        for name, value in execution_parameters(step).items():
            out.setdefault(
                prefix + name, Parameter(name=prefix + name, value=value, x=step, loaders=loaders)
            )
    return [out[k] for k in sorted(out)]


@strawberry.type(
    description="A pipeline run: a system.PipelineRun context with its steps (executions), "
    "derived state and timings, metrics and parameters."
)
class PipelineRun(MetadataNode):
    display_name: str = strawberry.field(description="KFP's display name, else the run's name.")

    @staticmethod
    def of(m: model.Context, loaders: Loaders) -> PipelineRun:
        shown = m.custom_properties.get("display_name")
        display = (
            str(shown.data)
            if shown is not None and shown.kind == model.PropertyType.STRING and shown.data
            else str(m.name)
        )
        return PipelineRun(**_common("PipelineRun", m, loaders), display_name=display)

    @strawberry.field(description="The run's context.")
    def context(self) -> Context:
        return Context.of(self.m, self.loaders)

    @strawberry.field(description="The pipeline: a parent context of type system.Pipeline.")
    async def pipeline(self) -> Context | None:
        parents = await self.loaders.context_parents.load(int(self.m.id))
        for parent in parents:
            if parent.type == dashboard.PIPELINE_TYPE:
                return Context.of(parent, self.loaders)
        return None

    @strawberry.field
    async def state(self) -> RunState:
        stats = await self.loaders.run_stats.load(int(self.m.id))
        return RunState(stats.state)

    @strawberry.field(description="When its first step was created (null before any step).")
    async def start_time(self) -> datetime | None:
        stats = await self.loaders.run_stats.load(int(self.m.id))
        return ms_to_datetime(stats.first_create)

    @strawberry.field(description="The last update of its steps, once the run is over.")
    async def end_time(self) -> datetime | None:
        stats = await self.loaders.run_stats.load(int(self.m.id))
        if stats.state in ("RUNNING", "PENDING"):
            return None
        return ms_to_datetime(stats.last_update)

    @strawberry.field(description="Seconds from start to end (to now while running).")
    async def duration_seconds(self) -> float | None:
        stats = await self.loaders.run_stats.load(int(self.m.id))
        end = None if stats.state in ("RUNNING", "PENDING") else stats.last_update
        return _duration(stats.first_create, end)

    @strawberry.field
    async def step_count(self) -> int:
        stats = await self.loaders.run_stats.load(int(self.m.id))
        return stats.step_count

    @strawberry.field(description="How many steps are in each state.")
    async def step_counts(self) -> list[StateCount]:
        stats = await self.loaders.run_stats.load(int(self.m.id))
        return [
            StateCount(state=_enum(ExecutionState, s), count=n)
            for s, n in sorted(stats.state_counts.items())
        ]

    @strawberry.field(description="Its executions, by id.")
    async def steps(self) -> list[Execution]:
        found = await self.loaders.run_steps.load(int(self.m.id))
        return [Execution.of(x, self.loaders) for x in found]

    @strawberry.field(description="Its first artifacts by id (at most 100).")
    async def artifacts(self, first: int = 20) -> list[Artifact]:
        found = await self.loaders.context_artifacts.load((int(self.m.id), _check_limit(first)))
        return [Artifact.of(a, self.loaders) for a in found]

    @strawberry.field(
        description="Scalar metrics of its system.Metrics artifacts, by artifact then name."
    )
    async def metrics(self) -> list[Metric]:
        found = await self.loaders.run_metrics_artifacts.load(int(self.m.id))
        return [metric for a in found for metric in scalar_metrics(a, self.loaders)]

    @strawberry.field(description="Input parameters of its executions.")
    async def parameters(self) -> list[Parameter]:
        steps = await self.loaders.run_steps.load(int(self.m.id))
        return run_parameters(steps, self.loaders)


# --- connections --------------------------------------------------------------------------

T = TypeVar("T")


@strawberry.type(description="Relay page info.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A node and its cursor.")
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="A page of a list (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    nodes: list[T] = strawberry.field(description="The nodes of the edges, for short queries.")
    page_info: PageInfo
    count: strawberry.Private[Any]  # async () -> int, run only when totalCount is asked

    @strawberry.field(description="How many nodes match, across all pages.")
    async def total_count(self) -> int:
        return int(await self.count())


__all__ = [
    "DATETIME_SCALAR",
    "LONG_SCALAR",
    "Artifact",
    "ArtifactState",
    "ArtifactType",
    "Connection",
    "Context",
    "ContextType",
    "Edge",
    "Event",
    "EventType",
    "Execution",
    "ExecutionState",
    "ExecutionType",
    "Long",
    "MetadataNode",
    "Metric",
    "Node",
    "NodeType",
    "OrderDirection",
    "OrderField",
    "PageInfo",
    "Parameter",
    "PipelineRun",
    "Property",
    "PropertyType",
    "RunState",
    "TypeKind",
]
