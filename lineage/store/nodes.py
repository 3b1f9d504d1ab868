"""Artifacts, executions and contexts: create, update (with field masks) and load.

Loading is two queries whatever the number of nodes (rows with their type names, then
all their properties), so a page of 100 nodes costs the same as a page of one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from lineage import model
from lineage.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from lineage.store import types as types_ops
from lineage.store.kinds import KINDS, NodeKind
from lineage.store.prepared import Prepared, items_in
from lineage.store.schema import type_table
from lineage.store.values import VALUE_COLUMNS, value_from_columns, value_to_row

CHUNK = 500
_MASKABLE = {
    "artifact": {
        "name",
        "external_id",
        "uri",
        "state",
        "properties",
        "custom_properties",
        "type_id",
    },
    "execution": {
        "name",
        "external_id",
        "last_known_state",
        "properties",
        "custom_properties",
        "type_id",
    },
    "context": {"name", "external_id", "properties", "custom_properties", "type_id"},
}


def now_ms() -> int:
    return int(time.time() * 1000)


def chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


# --- loading ------------------------------------------------------------------------


def node_select(kind: NodeKind) -> Select:
    """Node rows with their type's name, the shape ``build_nodes`` expects: id, type_id,
    name, external_id, the two times, the kind's extra fields, then the type name."""
    t = kind.table
    return select(
        t.c.id,
        t.c.type_id,
        t.c.name,
        t.c.external_id,
        t.c.create_time_since_epoch,
        t.c.last_update_time_since_epoch,
        *(t.c[extra] for extra in kind.extra_fields),
        type_table.c.name.label("type_name"),
    ).join(type_table, type_table.c.id == t.c.type_id)


def _node_columns(kind: NodeKind) -> list[str]:
    return [
        "type_id",
        "name",
        "external_id",
        "create_time_since_epoch",
        "last_update_time_since_epoch",
        *kind.extra_fields,
    ]


def _property_columns(kind: NodeKind) -> list[str]:
    return [kind.owner_column, "name", "is_custom_property", *VALUE_COLUMNS]


# The statements every node write and read runs, per kind (see prepared.py for why).


def _select_by(kind: NodeKind, column: str, _dialect: str, size: int) -> Any:
    return node_select(kind).where(items_in(kind.table.c[column], size))


def _select_properties(kind: NodeKind, _dialect: str, size: int) -> Any:
    pt = kind.property_table
    return select(*(pt.c[c] for c in _property_columns(kind))).where(items_in(kind.owner, size))


def _insert_node(kind: NodeKind, _dialect: str, _size: int) -> Any:
    return insert(kind.table).values({c: bindparam(c) for c in _node_columns(kind)})


def _insert_properties(kind: NodeKind, _dialect: str, _size: int) -> Any:
    columns = _property_columns(kind)
    return insert(kind.property_table).values({c: bindparam(c) for c in columns})


def _select_ids(kind: NodeKind, _dialect: str, size: int) -> Any:
    return select(kind.table.c.id).where(items_in(kind.table.c.id, size))


_NODES_BY = {
    (k.name, column): Prepared(partial(_select_by, k, column))
    for k in KINDS.values()
    for column in ("id", "uri", "external_id")
    if column in k.table.c
}
_PROPERTIES_OF = {k.name: Prepared(partial(_select_properties, k)) for k in KINDS.values()}
_INSERT_NODE = {
    k.name: Prepared(partial(_insert_node, k), returning_id=True) for k in KINDS.values()
}
_INSERT_PROPERTIES = {k.name: Prepared(partial(_insert_properties, k)) for k in KINDS.values()}
_IDS_IN = {k.name: Prepared(partial(_select_ids, k)) for k in KINDS.values()}


def existing_ids(conn: Connection, kind: NodeKind, ids: Iterable[int]) -> set[int]:
    """Which of these ids name a node of this kind."""
    return {int(r[0]) for r in _IDS_IN[kind.name].chunked_rows(conn, sorted(set(ids)))}


@dataclass(frozen=True)
class NodeRows:
    """Nodes as read, before they become objects: rows of ``node_select`` (plus any
    columns a caller added after the type name) and each node's (properties, custom
    properties). The core builds dataclasses from them (:func:`nodes_from`); MLMD's
    server builds its messages straight from them on its by-id path."""

    kind: NodeKind
    rows: Sequence[Any]
    properties: dict[int, tuple[dict[str, model.Value], dict[str, model.Value]]]

    @property
    def type_name_column(self) -> int:
        """Where the type's name is in a row: after id, type_id, name, external_id, the
        two times and the kind's extra fields (in ``kind.extra_fields`` order)."""
        return 6 + len(self.kind.extra_fields)


def with_properties(conn: Connection, kind: NodeKind, rows: Sequence[Any]) -> NodeRows:
    """``rows`` of ``node_select`` and all their properties (one more query)."""
    ids = [int(r[0]) for r in rows]
    props: dict[int, tuple[dict[str, model.Value], dict[str, model.Value]]] = {
        i: ({}, {}) for i in ids
    }
    for owner, name, custom, *columns in _PROPERTIES_OF[kind.name].chunked_rows(conn, ids):
        value = value_from_columns(*columns)
        if value is not None:
            props[int(owner)][1 if custom else 0][name] = value
    return NodeRows(kind, rows, props)


def nodes_from(found: NodeRows) -> list[Any]:
    """The dataclasses of ``found``'s nodes."""
    kind = found.kind
    extras = kind.extra_fields
    type_name = found.type_name_column
    props = found.properties
    nodes = []
    for row in found.rows:
        node_id = int(row[0])
        fields: dict[str, Any] = {
            "id": node_id,
            "type_id": int(row[1]),
            "type": row[type_name],
            "name": row[2],
            "external_id": row[3],
            "create_time_since_epoch": int(row[4]),
            "last_update_time_since_epoch": int(row[5]),
            "properties": props[node_id][0],
            "custom_properties": props[node_id][1],
        }
        for i, extra in enumerate(extras):
            fields[extra] = row[6 + i]
        nodes.append(kind.node_class(**fields))
    return nodes


def build_nodes(conn: Connection, kind: NodeKind, rows: Sequence[Any]) -> list[Any]:
    """Nodes from rows of ``node_select`` (tuples or rows), with their properties."""
    return nodes_from(with_properties(conn, kind, rows))


def rows_by_ids(conn: Connection, kind: NodeKind, ids: Sequence[int]) -> NodeRows:
    """The rows of the nodes with these ids that exist, in ascending id order."""
    rows = _NODES_BY[(kind.name, "id")].chunked_rows(conn, sorted(set(ids)))
    rows.sort(key=lambda r: r[0])
    return with_properties(conn, kind, rows)


def load_by_ids(conn: Connection, kind: NodeKind, ids: Sequence[int]) -> list[Any]:
    """The nodes with these ids that exist, in ascending id order."""
    return nodes_from(rows_by_ids(conn, kind, ids))


def load_where_in(
    conn: Connection, kind: NodeKind, column: str, values: Sequence[Any]
) -> list[Any]:
    """The nodes whose ``column`` is one of ``values``, in ascending id order."""
    rows = _NODES_BY[(kind.name, column)].chunked_rows(conn, list(dict.fromkeys(values)))
    rows.sort(key=lambda r: r[0])
    return build_nodes(conn, kind, rows)


# --- writing ------------------------------------------------------------------------


PENDING_TYPES = "lineage_pending_type_cache"


class TypeCache:
    """Declared properties of types, looked up once.

    ``shared`` (one dict per Store) keeps them across calls: a type's properties are
    only ever added, never changed or removed, so a cached entry can be stale only by
    missing a property, and a node using one triggers a reload before it is refused.
    """

    def __init__(
        self,
        conn: Connection,
        kind: NodeKind,
        shared: dict[tuple[str, int], dict[str, int]] | None = None,
    ) -> None:
        self.conn = conn
        self.kind = kind
        self._cache = shared if shared is not None else {}

    def properties(self, type_id: int, *, refresh: bool = False) -> dict[str, int]:
        key = (self.kind.name, type_id)
        pending: dict[tuple[str, int], dict[str, int]] = self.conn.info.setdefault(
            PENDING_TYPES, {}
        )
        found = None if refresh else pending.get(key) or self._cache.get(key)
        if found is None:
            found = types_ops.type_properties(self.conn, self.kind, type_id)[1]
            # Shared only once the transaction commits (Store.write): a type created
            # by a transaction that rolls back must not be remembered.
            pending[key] = found
        return found


def _validate(node: Any, cache: TypeCache) -> None:
    declared = cache.properties(node.type_id)
    if any(
        name not in declared or int(value.kind) != declared[name]
        for name, value in node.properties.items()
    ):
        declared = cache.properties(node.type_id, refresh=True)
    _validate_properties(node, declared)


def _validate_properties(node: Any, declared: dict[str, int]) -> None:
    for name, value in node.properties.items():
        if name not in declared:
            raise InvalidArgument(
                f"Cannot validate properties of type_id: {node.type_id}: Found unknown property: {name}"
            )
        if int(value.kind) != declared[name]:
            raise InvalidArgument(
                f"Cannot validate properties of type_id: {node.type_id}: Found unmatched "
                f"property type: {name} is declared {model.PropertyType(declared[name]).name}, "
                f"given {model.PropertyType(value.kind).name}"
            )


def _row_values(kind: NodeKind, node: Any) -> dict[str, Any]:
    values = {
        "type_id": node.type_id,
        "name": node.name or None,
        "external_id": node.external_id or None,
    }
    for extra in kind.extra_fields:
        values[extra] = getattr(node, extra)
    return values


def _property_rows(kind: NodeKind, node_id: int, node: Any) -> list[dict[str, Any]]:
    rows = []
    for custom, props in ((0, node.properties), (1, node.custom_properties)):
        for name, value in props.items():
            row = value_to_row(value)
            row.update({kind.owner_column: node_id, "name": name, "is_custom_property": custom})
            rows.append(row)
    return rows


def _describe_clash(kind: NodeKind, node: Any) -> str:
    parts = [f"type_id: {node.type_id}"]
    if node.name:
        parts.append(f"name: {node.name!r}")
    if node.external_id:
        parts.append(f"external_id: {node.external_id!r}")
    return f"Given node already exists: {kind.title} with {', '.join(parts)}"


def create_node(conn: Connection, kind: NodeKind, node: Any, cache: TypeCache, now: int) -> int:
    if not node.type_id:
        raise InvalidArgument("Type id is missing.")
    _validate(node, cache)
    if kind.name == "context" and not node.name:
        raise InvalidArgument(
            f"Cannot create node for type_id: {node.type_id}: Context name should not be empty"
        )
    values = _row_values(kind, node)
    values["create_time_since_epoch"] = now
    values["last_update_time_since_epoch"] = now
    # No savepoint: a clash aborts the whole call (every write is one transaction).
    try:
        node_id = _INSERT_NODE[kind.name].insert(conn, values)
    except IntegrityError:
        raise AlreadyExists(_describe_clash(kind, node)) from None
    _INSERT_PROPERTIES[kind.name].insert_many(conn, _property_rows(kind, node_id, node))
    return node_id


def _mask_fields(
    kind: NodeKind, mask: Sequence[str]
) -> tuple[set[str], set[str], set[str], bool, bool]:
    """Split a field mask: plain fields, named properties, named custom properties, and
    whether all properties / all custom properties are covered."""
    plain: set[str] = set()
    props: set[str] = set()
    custom: set[str] = set()
    all_props = all_custom = False
    for path in mask:
        head, dot, rest = path.partition(".")
        if head not in _MASKABLE[kind.name] or (dot and not rest):
            # Not a field of the kind, or a property path naming no property
            # ("custom_properties."): ignored, as MLMD ignores it.
            continue
        if head == "properties":
            if rest:
                props.add(rest)
            else:
                all_props = True
        elif head == "custom_properties":
            if rest:
                custom.add(rest)
            else:
                all_custom = True
        else:
            plain.add(head)
    return plain, props, custom, all_props, all_custom


def lock_node(conn: Connection, kind: NodeKind, node_id: int) -> None:
    """Hold the node's row until the transaction ends, so that a concurrent update of the
    same node waits and then reads what this one wrote: updates write the difference
    from the stored node, which must not be stale. SQLite's writers are serial (BEGIN
    IMMEDIATE), so there it costs no statement."""
    if conn.dialect.name != "sqlite":  # its writers hold the database: nothing to add
        conn.execute(select(kind.table.c.id).where(kind.table.c.id == node_id).with_for_update())


def update_node(
    conn: Connection,
    kind: NodeKind,
    node: Any,
    cache: TypeCache,
    now: int,
    mask: Sequence[str] = (),
    abort_if_changed: bool = False,
) -> int:
    lock_node(conn, kind, node.id)
    stored_list = load_by_ids(conn, kind, [node.id])
    if not stored_list:
        raise InvalidArgument(f"Cannot find the given id {node.id}")
    stored = stored_list[0]
    if node.type_id and node.type_id != stored.type_id:
        raise InvalidArgument(
            f"Given type_id {node.type_id} is different from the one known before: {stored.type_id}"
        )
    if (
        abort_if_changed
        and node.last_update_time_since_epoch != stored.last_update_time_since_epoch
    ):
        raise FailedPrecondition(
            f"{kind.title} {node.id} changed since it was read: last_update_time_since_epoch is "
            f"{stored.last_update_time_since_epoch}, the update was based on "
            f"{node.last_update_time_since_epoch}"
        )
    node.type_id = stored.type_id
    # The node as it will be: the stored one with the given fields applied.
    target = kind.node_class(**{**stored.__dict__})
    target.properties = dict(stored.properties)
    target.custom_properties = dict(stored.custom_properties)
    plain_fields = ["name", "external_id", *kind.extra_fields]
    given_fields = [f for f in plain_fields if f != "name" or kind.renamable]
    if not mask:
        for f in given_fields:
            setattr(target, f, getattr(node, f))
        target.properties = dict(node.properties)
        target.custom_properties = dict(node.custom_properties)
    else:
        plain, props, custom, all_props, all_custom = _mask_fields(kind, mask)
        for f in plain & set(given_fields):
            setattr(target, f, getattr(node, f))
        if all_props:
            target.properties = dict(node.properties)
        for p in props:
            _apply(target.properties, node.properties, p)
        if all_custom:
            target.custom_properties = dict(node.custom_properties)
        for p in custom:
            _apply(target.custom_properties, node.custom_properties, p)
    _validate(target, cache)
    if kind.name == "context" and not target.name:
        raise InvalidArgument(f"Context {node.id}: name should not be empty")
    changed_row = any(getattr(target, f) != getattr(stored, f) for f in plain_fields)
    changed_props = (
        target.properties != stored.properties
        or target.custom_properties != stored.custom_properties
    )
    if not changed_row and not changed_props:
        return int(stored.id)
    values = _row_values(kind, target)
    values["last_update_time_since_epoch"] = max(now, stored.last_update_time_since_epoch)
    try:
        conn.execute(update(kind.table).where(kind.table.c.id == stored.id).values(**values))
    except IntegrityError:
        raise AlreadyExists(_describe_clash(kind, target)) from None
    if changed_props:
        _write_property_diff(conn, kind, int(stored.id), stored, target)
    return int(stored.id)


def _apply(target: dict[str, model.Value], given: dict[str, model.Value], name: str) -> None:
    if name in given:
        target[name] = given[name]
    else:
        target.pop(name, None)


def _write_property_diff(
    conn: Connection, kind: NodeKind, node_id: int, old: Any, new: Any
) -> None:
    pt = kind.property_table
    for custom, before, after in (
        (0, old.properties, new.properties),
        (1, old.custom_properties, new.custom_properties),
    ):
        gone = [n for n in before if n not in after or after[n] != before[n]]
        if gone:
            conn.execute(
                delete(pt).where(
                    and_(
                        kind.owner == node_id,
                        pt.c.is_custom_property == custom,
                        pt.c.name.in_(gone),
                    )
                )
            )
        fresh = [n for n in after if n not in before or after[n] != before[n]]
        if fresh:
            rows = []
            for n in fresh:
                row = value_to_row(after[n])
                row.update({kind.owner_column: node_id, "name": n, "is_custom_property": custom})
                rows.append(row)
            _INSERT_PROPERTIES[kind.name].insert_many(conn, rows)


def put_nodes(
    conn: Connection,
    kind: NodeKind,
    nodes: Sequence[Any],
    *,
    field_mask_paths: Sequence[str] = (),
    abort_if_latest_updated_time_changed: bool = False,
    now: int | None = None,
    type_cache: dict[tuple[str, int], dict[str, int]] | None = None,
) -> list[int]:
    now = now if now is not None else now_ms()
    cache = TypeCache(conn, kind, type_cache)
    ids = []
    for node in nodes:
        if node.id:
            ids.append(
                update_node(
                    conn,
                    kind,
                    node,
                    cache,
                    now,
                    field_mask_paths,
                    abort_if_latest_updated_time_changed,
                )
            )
        else:
            ids.append(create_node(conn, kind, node, cache, now))
    return ids


def require_ids(conn: Connection, kind: NodeKind, ids: Iterable[int]) -> None:
    wanted = set(ids)
    missing = wanted - existing_ids(conn, kind, wanted) if wanted else set()
    if missing:
        raise NotFound(f"No {kind.name} with id {', '.join(map(str, sorted(missing)))}")
