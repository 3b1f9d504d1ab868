"""MLMD's generated messages to and from the core's dataclasses, field by field.

The dataclasses use MLMD's field names, so most of the work is generic: a field set on
the message is set on the dataclass and the reverse; maps of property values and event
paths are the only shapes that need code of their own.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage import model
from lineage.errors import InvalidArgument
from lineage.store.nodes import NodeRows
from lineage.store.values import struct_to_dict

_VALUE_FIELDS = {
    "int_value": model.PropertyType.INT,
    "double_value": model.PropertyType.DOUBLE,
    "string_value": model.PropertyType.STRING,
    "struct_value": model.PropertyType.STRUCT,
    "proto_value": model.PropertyType.PROTO,
    "bool_value": model.PropertyType.BOOLEAN,
}


# --- text -----------------------------------------------------------------------------


def text(what: str, data: Any) -> Any:
    """A field as given, unless it is a string that is not valid UTF-8: MLMD's messages
    are proto2, whose parser passes such a string on as bytes, and bytes stored where
    text belongs would break every later read of the row."""
    if isinstance(data, bytes):
        raise InvalidArgument(f"{what} is not valid UTF-8")
    return data


def _items(field: Any, what: str) -> list[tuple[str, Any]]:
    """The entries of a map field keyed by name (a key that is not UTF-8 is refused)."""
    try:
        return list(field.items())
    except UnicodeDecodeError:
        raise InvalidArgument(f"{what}: a name is not valid UTF-8") from None


# --- values ---------------------------------------------------------------------------


def value_from_pb(name: str, message: pb.Value) -> model.Value:
    which = message.WhichOneof("value")
    if which is None:
        raise InvalidArgument(f"property {name!r} has no value set")
    kind = _VALUE_FIELDS[which]
    if kind == model.PropertyType.STRUCT:
        return model.Value(kind, model.StructValue(struct_to_dict(message.struct_value)))
    if kind == model.PropertyType.PROTO:
        return model.Value(
            kind, model.ProtoValue(message.proto_value.type_url, message.proto_value.value)
        )
    return model.Value(kind, text(f"property {name!r}", getattr(message, which)))


def value_to_pb(value: model.Value, target: pb.Value) -> None:
    kind = value.kind
    if kind == model.PropertyType.INT:
        target.int_value = value.data
    elif kind == model.PropertyType.DOUBLE:
        target.double_value = value.data
    elif kind == model.PropertyType.STRING:
        target.string_value = value.data
    elif kind == model.PropertyType.STRUCT:
        target.struct_value.update(value.data.data)
    elif kind == model.PropertyType.PROTO:
        target.proto_value.type_url = value.data.type_url
        target.proto_value.value = value.data.value
    elif kind == model.PropertyType.BOOLEAN:
        target.bool_value = value.data


def _props_from_pb(field: Any) -> dict[str, model.Value]:
    return {name: value_from_pb(name, v) for name, v in _items(field, "properties")}


def _props_to_pb(props: dict[str, model.Value], field: Any) -> None:
    for name, value in props.items():
        value_to_pb(value, field[name])


# --- nodes and types ------------------------------------------------------------------

_NODE_CLASSES = {
    pb.Artifact: model.Artifact,
    pb.Execution: model.Execution,
    pb.Context: model.Context,
}


@functools.cache
def _scalar_fields(cls: type) -> tuple[str, ...]:
    """A node class's fields other than the two property maps, looked up once."""
    return tuple(
        f.name for f in dataclasses.fields(cls) if f.name not in ("properties", "custom_properties")
    )


def node_from_pb(message: Any, cls: type) -> Any:
    values: dict[str, Any] = {
        name: text(name, getattr(message, name))
        for name in _scalar_fields(cls)
        if message.HasField(name)
    }
    values["properties"] = _props_from_pb(message.properties)
    values["custom_properties"] = _props_from_pb(message.custom_properties)
    return cls(**values)


def node_to_pb(node: Any, message: Any) -> Any:
    for name in _scalar_fields(type(node)):
        data = getattr(node, name)
        if data is not None:
            setattr(message, name, data)
    if node.properties:
        _props_to_pb(node.properties, message.properties)
    if node.custom_properties:
        _props_to_pb(node.custom_properties, message.custom_properties)
    return message


def add_nodes(repeated: Any, nodes: Iterable[Any]) -> None:
    """Append the dataclasses ``nodes`` to a repeated field of nodes, each message
    filled where it will live (extend() would copy each one in)."""
    add = repeated.add
    for node in nodes:
        node_to_pb(node, add())


def add_node_rows(repeated: Any, found: NodeRows) -> None:
    """Append ``found``'s nodes to a repeated field of nodes (``response.artifacts``...),
    each message built straight from its row: what :func:`node_to_pb` makes of the
    dataclass :func:`~lineage.store.nodes.nodes_from` would build, without building it
    (the by-id calls that follow every lineage question run this)."""
    extras = found.kind.extra_fields
    type_name = found.type_name_column
    props = found.properties
    for row in found.rows:
        node_id = int(row[0])
        message = repeated.add(
            id=node_id,
            type_id=int(row[1]),
            create_time_since_epoch=int(row[4]),
            last_update_time_since_epoch=int(row[5]),
        )
        if row[type_name] is not None:
            message.type = row[type_name]
        if row[2] is not None:
            message.name = row[2]
        if row[3] is not None:
            message.external_id = row[3]
        for i, extra in enumerate(extras):
            if row[6 + i] is not None:
                setattr(message, extra, row[6 + i])
        declared, custom = props[node_id]
        if declared:
            _props_to_pb(declared, message.properties)
        if custom:
            _props_to_pb(custom, message.custom_properties)


def artifact_from_pb(m: pb.Artifact) -> model.Artifact:
    artifact: model.Artifact = node_from_pb(m, model.Artifact)
    if artifact.uri is None:
        # MLMD stores an artifact's uri as given, unset as '': it then reads back set
        # to '', and matches uri = '' (not uri IS NULL) in filters and GetArtifactsByURI.
        artifact.uri = ""
    return artifact


def execution_from_pb(m: pb.Execution) -> model.Execution:
    return node_from_pb(m, model.Execution)


def context_from_pb(m: pb.Context) -> model.Context:
    return node_from_pb(m, model.Context)


def artifact_to_pb(a: model.Artifact) -> pb.Artifact:
    return node_to_pb(a, pb.Artifact())


def execution_to_pb(e: model.Execution) -> pb.Execution:
    return node_to_pb(e, pb.Execution())


def context_to_pb(c: model.Context) -> pb.Context:
    return node_to_pb(c, pb.Context())


def _struct_type_to_json(message: Any) -> str:
    return json.dumps(json_format.MessageToDict(message), separators=(",", ":"))


def type_from_pb(message: Any, cls: type) -> Any:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name == "properties":
            values["properties"] = {
                name: model.PropertyType(data_type)
                if data_type in model.PropertyType._value2member_map_
                else data_type
                for name, data_type in _items(message.properties, "type properties")
            }
        elif f.name in ("input_type", "output_type"):
            if message.HasField(f.name):
                values[f.name] = _struct_type_to_json(getattr(message, f.name))
        elif message.HasField(f.name):
            values[f.name] = text(f.name, getattr(message, f.name))
    return cls(**values)


def type_to_pb(t: Any, message: Any) -> Any:
    for f in dataclasses.fields(t):
        data = getattr(t, f.name)
        if data is None:
            continue
        if f.name == "properties":
            for name, data_type in data.items():
                message.properties[name] = int(data_type)
        elif f.name in ("input_type", "output_type"):
            json_format.Parse(data, getattr(message, f.name))
        else:
            setattr(message, f.name, data)
    return message


def add_types(repeated: Any, found: Iterable[Any]) -> None:
    """Append the type dataclasses ``found`` to a repeated field of types, in place."""
    add = repeated.add
    for t in found:
        type_to_pb(t, add())


def artifact_type_to_pb(t: model.ArtifactType) -> pb.ArtifactType:
    return type_to_pb(t, pb.ArtifactType())


def execution_type_to_pb(t: model.ExecutionType) -> pb.ExecutionType:
    return type_to_pb(t, pb.ExecutionType())


def context_type_to_pb(t: model.ContextType) -> pb.ContextType:
    return type_to_pb(t, pb.ContextType())


# --- edges ------------------------------------------------------------------------------


def event_from_pb(m: pb.Event) -> model.Event:
    path = None
    if m.HasField("path"):
        path = []
        for step in m.path.steps:
            which = step.WhichOneof("value")
            if which == "index":
                path.append(model.PathStep(index=step.index))
            elif which == "key":
                path.append(model.PathStep(key=text("an event path key", step.key)))
            # A step that sets neither names nothing: dropped, as MLMD drops it.
    return model.Event(
        artifact_id=m.artifact_id if m.HasField("artifact_id") else None,
        execution_id=m.execution_id if m.HasField("execution_id") else None,
        type=m.type if m.HasField("type") else None,
        milliseconds_since_epoch=m.milliseconds_since_epoch
        if m.HasField("milliseconds_since_epoch")
        else None,
        path=path,
    )


def event_to_pb(e: model.Event) -> pb.Event:
    return _event_into(e, pb.Event())


def _event_into(e: model.Event, m: pb.Event) -> pb.Event:
    if e.artifact_id is not None:
        m.artifact_id = e.artifact_id
    if e.execution_id is not None:
        m.execution_id = e.execution_id
    if e.type is not None:
        m.type = e.type
    if e.milliseconds_since_epoch is not None:
        m.milliseconds_since_epoch = e.milliseconds_since_epoch
    if e.path:
        steps = m.path.steps
        for step in e.path:
            if step.index is not None:
                steps.add(index=step.index)
            else:
                steps.add(key=step.key or "")
    return m


def add_events(repeated: Any, events: Iterable[model.Event]) -> None:
    """Append ``events`` to a repeated field of events, in place."""
    add = repeated.add
    for e in events:
        _event_into(e, add())


def lineage_graph_to_pb(g: model.LineageGraph, target: pb.LineageGraph) -> None:
    # Each message is filled where it will live (add()): extend() would copy it there.
    add_types(target.artifact_types, g.artifact_types)
    add_types(target.execution_types, g.execution_types)
    add_types(target.context_types, g.context_types)
    add_nodes(target.artifacts, g.artifacts)
    add_nodes(target.executions, g.executions)
    add_nodes(target.contexts, g.contexts)
    add_events(target.events, g.events)
    add_attribution = target.attributions.add
    for a in g.attributions:
        add_attribution(artifact_id=a.artifact_id, context_id=a.context_id)
    add_association = target.associations.add
    for b in g.associations:
        add_association(execution_id=b.execution_id, context_id=b.context_id)
