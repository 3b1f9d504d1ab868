"""What a ``filter_query`` may name, for each node kind: the whitelist.

Every table and column the compiler puts in SQL comes from here (or from the schema
through names listed here); nothing the user writes becomes an identifier.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sqlalchemy import Table

from lineage import model
from lineage.store import kinds, schema


class VType(enum.Enum):
    """The value types of the language (ZetaSQL's, as MLMD declares its columns)."""

    INT = "an integer"
    DOUBLE = "a double"
    STRING = "a string"
    BOOL = "a boolean"
    NULL = "NULL"

    @property
    def numeric(self) -> bool:
        return self in (VType.INT, VType.DOUBLE)


# Enum attributes: names usable after =, !=, <>, IN and NOT IN (case-insensitive).
ARTIFACT_STATES: dict[str, int] = {s.name: int(s) for s in model.ArtifactState}
EXECUTION_STATES: dict[str, int] = {s.name: int(s) for s in model.ExecutionState}
EVENT_TYPES: dict[str, int] = {t.name: int(t) for t in model.EventType}


@dataclass(frozen=True)
class Attribute:
    column: str  # column of the table; "" for the special ``type`` (the type's name)
    vtype: VType
    enum_name: str = ""  # "state", "last_known_state", "event type" when an enum
    enum_values: dict[str, int] | None = None


_COMMON = {
    "id": Attribute("id", VType.INT),
    "name": Attribute("name", VType.STRING),
    "external_id": Attribute("external_id", VType.STRING),
    "type_id": Attribute("type_id", VType.INT),
    "type": Attribute("", VType.STRING),
    "create_time_since_epoch": Attribute("create_time_since_epoch", VType.INT),
    "last_update_time_since_epoch": Attribute("last_update_time_since_epoch", VType.INT),
}

PROPERTY_VALUE_FIELDS: dict[str, VType] = {
    "int_value": VType.INT,
    "double_value": VType.DOUBLE,
    "string_value": VType.STRING,
    "bool_value": VType.BOOL,
}


@dataclass(frozen=True)
class Neighbor:
    """A prefix like ``contexts_`` and how it links a node to the nodes it names."""

    prefix: str  # "contexts_"
    target: str  # kind of the linked nodes, or "event"
    link: Table  # Attribution, Association, ParentContext or Event
    self_column: str  # link column pointing at the filtered node
    other_column: str  # link column pointing at the linked node ("" for events)
    title: str  # for messages: "the contexts the artifact is attributed to"


@dataclass(frozen=True)
class NodeSchema:
    """What a filter on one node kind can name; the tables come from the store's kind."""

    node: kinds.NodeKind
    plural: str
    attributes: dict[str, Attribute]
    neighbors: dict[str, Neighbor] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.node.name

    @property
    def table(self) -> Table:
        return self.node.table

    @property
    def property_table(self) -> Table:
        return self.node.property_table

    @property
    def owner_column(self) -> str:
        return self.node.owner_column

    @property
    def type_kind(self) -> int:
        return int(self.node.type_kind)


EVENT_ATTRIBUTES_OF_ARTIFACT = {
    "type": Attribute("type", VType.INT, "event type", EVENT_TYPES),
    "milliseconds_since_epoch": Attribute("milliseconds_since_epoch", VType.INT),
    "execution_id": Attribute("execution_id", VType.INT),
}
EVENT_ATTRIBUTES_OF_EXECUTION = {
    "type": Attribute("type", VType.INT, "event type", EVENT_TYPES),
    "milliseconds_since_epoch": Attribute("milliseconds_since_epoch", VType.INT),
    "artifact_id": Attribute("artifact_id", VType.INT),
}

ARTIFACT = NodeSchema(
    node=kinds.ARTIFACT,
    plural="artifacts",
    attributes={
        **_COMMON,
        "uri": Attribute("uri", VType.STRING),
        "state": Attribute("state", VType.INT, "state", ARTIFACT_STATES),
    },
    neighbors={
        "contexts_": Neighbor(
            "contexts_",
            "context",
            schema.attribution_table,
            "artifact_id",
            "context_id",
            "a context the artifact is attributed to",
        ),
        "events_": Neighbor(
            "events_",
            "event",
            schema.event_table,
            "artifact_id",
            "",
            "an event of the artifact",
        ),
    },
)

EXECUTION = NodeSchema(
    node=kinds.EXECUTION,
    plural="executions",
    attributes={
        **_COMMON,
        "last_known_state": Attribute(
            "last_known_state", VType.INT, "last_known_state", EXECUTION_STATES
        ),
    },
    neighbors={
        "contexts_": Neighbor(
            "contexts_",
            "context",
            schema.association_table,
            "execution_id",
            "context_id",
            "a context the execution is associated with",
        ),
        "events_": Neighbor(
            "events_",
            "event",
            schema.event_table,
            "execution_id",
            "",
            "an event of the execution",
        ),
    },
)

CONTEXT = NodeSchema(
    node=kinds.CONTEXT,
    plural="contexts",
    attributes=dict(_COMMON),
    neighbors={
        "parent_contexts_": Neighbor(
            "parent_contexts_",
            "context",
            schema.parent_context_table,
            "context_id",
            "parent_context_id",
            "a parent context",
        ),
        "child_contexts_": Neighbor(
            "child_contexts_",
            "context",
            schema.parent_context_table,
            "parent_context_id",
            "context_id",
            "a child context",
        ),
        "artifacts_": Neighbor(
            "artifacts_",
            "artifact",
            schema.attribution_table,
            "context_id",
            "artifact_id",
            "an artifact attributed to the context",
        ),
        "executions_": Neighbor(
            "executions_",
            "execution",
            schema.association_table,
            "context_id",
            "execution_id",
            "an execution associated with the context",
        ),
    },
)

SCHEMAS: dict[str, NodeSchema] = {s.kind: s for s in (ARTIFACT, EXECUTION, CONTEXT)}

# Every prefix of every kind, longest first (``parent_contexts_`` before ``contexts_``).
ALL_PREFIXES: tuple[str, ...] = tuple(
    sorted({p for s in SCHEMAS.values() for p in s.neighbors}, key=len, reverse=True)
)
