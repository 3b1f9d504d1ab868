"""The three node kinds (artifact, execution, context) and the tables each lives in.

Most store code is the same for the three kinds; it looks up what differs here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Column, Table

from lineage import model
from lineage.store import schema

KindName = Literal["artifact", "execution", "context"]


@dataclass(frozen=True)
class NodeKind:
    name: KindName
    title: str  # "Artifact", for messages
    table: Table
    property_table: Table
    owner_column: str  # the property table's column pointing at the node
    type_kind: model.TypeKind
    node_class: type
    type_class: type
    # Node columns besides id/type_id/name/external_id/times, as (model field, column).
    extra_fields: tuple[str, ...]
    # Whether an update may change a node's name. MLMD keeps an artifact's or an
    # execution's name as first written (an update's name is ignored, silently); a
    # context's name may change but never be empty.
    renamable: bool = False

    @property
    def owner(self) -> Column:
        return self.property_table.c[self.owner_column]


ARTIFACT = NodeKind(
    name="artifact",
    title="Artifact",
    table=schema.artifact_table,
    property_table=schema.artifact_property_table,
    owner_column="artifact_id",
    type_kind=model.TypeKind.ARTIFACT,
    node_class=model.Artifact,
    type_class=model.ArtifactType,
    extra_fields=("uri", "state"),
)
EXECUTION = NodeKind(
    name="execution",
    title="Execution",
    table=schema.execution_table,
    property_table=schema.execution_property_table,
    owner_column="execution_id",
    type_kind=model.TypeKind.EXECUTION,
    node_class=model.Execution,
    type_class=model.ExecutionType,
    extra_fields=("last_known_state",),
)
CONTEXT = NodeKind(
    name="context",
    title="Context",
    table=schema.context_table,
    property_table=schema.context_property_table,
    owner_column="context_id",
    type_kind=model.TypeKind.CONTEXT,
    node_class=model.Context,
    type_class=model.ContextType,
    extra_fields=(),
    renamable=True,
)

KINDS: dict[str, NodeKind] = {k.name: k for k in (ARTIFACT, EXECUTION, CONTEXT)}
BY_TYPE_KIND: dict[model.TypeKind, NodeKind] = {k.type_kind: k for k in KINDS.values()}


def kind_of(obj: object) -> NodeKind:
    for kind in KINDS.values():
        if isinstance(obj, kind.node_class | kind.type_class):
            return kind
    raise TypeError(f"not a node or type: {type(obj).__name__}")
