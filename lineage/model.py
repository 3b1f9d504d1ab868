"""The data model: MLMD's messages as plain dataclasses.

The core does not import ``ml_metadata`` (a pipeline step must not need it), so these
mirror MLMD's protos field for field, with the same names; ``None`` means "not set".
The gRPC layer converts them to and from MLMD's generated messages by field name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class PropertyType(enum.IntEnum):
    UNKNOWN = 0
    INT = 1
    DOUBLE = 2
    STRING = 3
    STRUCT = 4
    PROTO = 5
    BOOLEAN = 6


class TypeKind(enum.IntEnum):
    """Values of ``Type.type_kind``."""

    EXECUTION = 0
    ARTIFACT = 1
    CONTEXT = 2


class ArtifactState(enum.IntEnum):
    UNKNOWN = 0
    PENDING = 1
    LIVE = 2
    MARKED_FOR_DELETION = 3
    DELETED = 4
    ABANDONED = 5
    REFERENCE = 6


class ExecutionState(enum.IntEnum):
    UNKNOWN = 0
    NEW = 1
    RUNNING = 2
    COMPLETE = 3
    FAILED = 4
    CACHED = 5
    CANCELED = 6


class EventType(enum.IntEnum):
    UNKNOWN = 0
    DECLARED_OUTPUT = 1
    DECLARED_INPUT = 2
    INPUT = 3
    OUTPUT = 4
    INTERNAL_INPUT = 5
    INTERNAL_OUTPUT = 6
    PENDING_OUTPUT = 7


INPUT_EVENT_TYPES = (EventType.INPUT, EventType.DECLARED_INPUT, EventType.INTERNAL_INPUT)
OUTPUT_EVENT_TYPES = (
    EventType.OUTPUT,
    EventType.DECLARED_OUTPUT,
    EventType.INTERNAL_OUTPUT,
    EventType.PENDING_OUTPUT,
)


@dataclass(frozen=True)
class ProtoValue:
    """A ``google.protobuf.Any``: its type URL and serialized bytes."""

    type_url: str
    value: bytes


@dataclass(frozen=True)
class StructValue:
    """A ``google.protobuf.Struct`` as JSON-shaped Python data (dict at the top)."""

    data: dict[str, Any]


@dataclass(frozen=True)
class Value:
    """One property value; exactly one of MLMD's ``Value`` oneof kinds."""

    kind: PropertyType
    data: Any

    @staticmethod
    def of(data: Any) -> Value:
        """Infer the kind from a Python value (bool before int, as bool is an int)."""
        if isinstance(data, Value):
            return data
        if isinstance(data, bool):
            return Value(PropertyType.BOOLEAN, data)
        if isinstance(data, int):
            return Value(PropertyType.INT, data)
        if isinstance(data, float):
            return Value(PropertyType.DOUBLE, data)
        if isinstance(data, str):
            return Value(PropertyType.STRING, data)
        if isinstance(data, StructValue):
            return Value(PropertyType.STRUCT, data)
        if isinstance(data, dict):
            return Value(PropertyType.STRUCT, StructValue(data))
        if isinstance(data, ProtoValue):
            return Value(PropertyType.PROTO, data)
        raise TypeError(f"cannot store a {type(data).__name__} as a property value")

    def python(self) -> Any:
        """The plain Python value (a struct as its dict)."""
        if self.kind == PropertyType.STRUCT:
            return self.data.data
        return self.data


Properties = dict[str, Value]


@dataclass
class _TypeFields:
    """What every type has: MLMD's ArtifactType, ExecutionType and ContextType."""

    id: int | None = None
    name: str | None = None
    version: str | None = None
    description: str | None = None
    external_id: str | None = None
    properties: dict[str, PropertyType] = field(default_factory=dict)
    base_type: int | None = None


@dataclass
class ArtifactType(_TypeFields):
    pass


@dataclass
class ExecutionType(_TypeFields):
    # MLMD's ArtifactStructType, kept as its JSON form (what MLMD stores in the column).
    input_type: str | None = None
    output_type: str | None = None


@dataclass
class ContextType(_TypeFields):
    pass


AnyType = ArtifactType | ExecutionType | ContextType


@dataclass
class _NodeFields:
    """What every node has: MLMD's Artifact, Execution and Context."""

    id: int | None = None
    name: str | None = None
    type_id: int | None = None
    type: str | None = None
    external_id: str | None = None
    properties: Properties = field(default_factory=dict)
    custom_properties: Properties = field(default_factory=dict)
    create_time_since_epoch: int | None = None
    last_update_time_since_epoch: int | None = None


@dataclass
class Artifact(_NodeFields):
    uri: str | None = None
    state: int | None = None


@dataclass
class Execution(_NodeFields):
    last_known_state: int | None = None


@dataclass
class Context(_NodeFields):
    pass


Node = Artifact | Execution | Context


@dataclass(frozen=True)
class PathStep:
    """One step of an event path: an index or a key."""

    index: int | None = None
    key: str | None = None


@dataclass
class Event:
    artifact_id: int | None = None
    execution_id: int | None = None
    path: list[PathStep] | None = None
    type: int | None = None
    milliseconds_since_epoch: int | None = None


@dataclass(frozen=True)
class Attribution:
    context_id: int
    artifact_id: int


@dataclass(frozen=True)
class Association:
    context_id: int
    execution_id: int


@dataclass(frozen=True)
class ParentContext:
    child_id: int
    parent_id: int


@dataclass
class LineageGraph:
    """A subgraph of the store, as MLMD's ``LineageGraph`` message."""

    artifact_types: list[ArtifactType] = field(default_factory=list)
    execution_types: list[ExecutionType] = field(default_factory=list)
    context_types: list[ContextType] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    contexts: list[Context] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)
