"""Types: put with MLMD's evolution rules, and reads.

A type is identified by (kind, name, version). Putting an existing type may add
properties (``can_add_fields``) or leave some out (``can_omit_fields``) but never change
a property's data type. ``base_type`` links to one of the nine simple types MLMD seeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from lineage import model
from lineage.errors import AlreadyExists, InvalidArgument, NotFound, Unimplemented
from lineage.store import type_catalog
from lineage.store.kinds import NodeKind
from lineage.store.rows import inserted_id
from lineage.store.schema import (
    mlmd_env_table,
    parent_type_table,
    type_property_table,
    type_table,
)

SIMPLE_TYPE_IDS = range(1, 10)


def _base_type_to_parent_id(kind: NodeKind, base_type: int | None) -> int | None:
    if not base_type:
        return None
    offset = type_catalog.BASE_OFFSET.get(int(kind.type_kind))
    if offset is None or not 1 <= base_type <= type_catalog.BASE_COUNT[int(kind.type_kind)]:
        raise InvalidArgument(f"unknown base_type {base_type} for a {kind.name} type")
    return offset + base_type


def _find_type_row(conn: Connection, kind: NodeKind, name: str, version: str | None) -> Any:
    version_clause = (
        type_table.c.version.is_(None) if not version else type_table.c.version == version
    )
    return conn.execute(
        select(type_table.c.id).where(
            type_table.c.name == name,
            version_clause,
            type_table.c.type_kind == int(kind.type_kind),
        )
    ).first()


def put_type(
    conn: Connection,
    kind: NodeKind,
    given: model.AnyType,
    *,
    can_add_fields: bool = False,
    can_omit_fields: bool = False,
) -> int:
    if not given.name:
        raise InvalidArgument("No type name is specified.")
    for prop, data_type in given.properties.items():
        if not data_type or data_type not in model.PropertyType.__members__.values():
            raise InvalidArgument(f"Property {prop} is UNKNOWN.")
    if given.base_type is not None and int(given.base_type) == 0:
        # MLMD's answer too (UNSET reads as deleting the base type, which it refuses).
        raise Unimplemented(
            f"Type {given.name!r}: base_type UNSET is not supported (removing a base type "
            "is not supported); leave base_type unset instead"
        )
    # MLMD's schema has no unique key on type names: serialize type writers on the
    # MLMDEnv row (FOR UPDATE is a no-op on SQLite, whose writers are serial anyway).
    conn.execute(select(mlmd_env_table.c.schema_version).with_for_update())
    existing = _find_type_row(conn, kind, given.name, given.version)
    if existing is None:
        return _insert_type(conn, kind, given)
    type_id = int(existing.id)
    stored = _load_properties(conn, [type_id]).get(type_id, {})
    for prop, data_type in given.properties.items():
        if prop in stored and stored[prop] != data_type:
            raise AlreadyExists(
                f"Type {given.name!r} already exists with different properties: property "
                f"{prop!r} is {model.PropertyType(stored[prop]).name}, given "
                f"{model.PropertyType(data_type).name}"
            )
    added = [p for p in given.properties if p not in stored]
    if added and not can_add_fields:
        raise AlreadyExists(
            f"Type {given.name!r} already exists with different properties: "
            f"can_add_fields is false while the given type has more properties ({', '.join(sorted(added))})"
        )
    omitted = [p for p in stored if p not in given.properties]
    if omitted and not can_omit_fields:
        raise AlreadyExists(
            f"Type {given.name!r} already exists with different properties: "
            f"can_omit_fields is false while stored type has more properties ({', '.join(sorted(omitted))})"
        )
    if added:
        conn.execute(
            type_property_table.insert(),
            [{"type_id": type_id, "name": p, "data_type": int(given.properties[p])} for p in added],
        )
    if given.base_type:
        _link_base_type(conn, kind, given, type_id)
    if given.external_id:
        _replace_external_id(conn, given.external_id, type_id)
    return type_id


def _replace_external_id(conn: Connection, external_id: str, type_id: int) -> None:
    """As MLMD: a type put again with another (non-empty) external_id takes it."""
    stored = conn.execute(select(type_table.c.external_id).where(type_table.c.id == type_id))
    if stored.scalar() == external_id:
        return
    _check_external_id_free(conn, external_id, besides=type_id)
    conn.execute(
        update(type_table).where(type_table.c.id == type_id).values(external_id=external_id)
    )
    conn.info[type_catalog.CHANGED_IN_PLACE] = True


def _link_base_type(conn: Connection, kind: NodeKind, given: model.AnyType, type_id: int) -> None:
    """An existing type may gain a base type, never change it (as MLMD)."""
    parent_id = _base_type_to_parent_id(kind, given.base_type)
    stored = conn.execute(
        select(parent_type_table.c.parent_type_id).where(parent_type_table.c.type_id == type_id)
    ).first()
    if stored is None:
        conn.execute(parent_type_table.insert().values(type_id=type_id, parent_type_id=parent_id))
    elif int(stored.parent_type_id) != parent_id:
        raise Unimplemented(
            f"Type {given.name!r} already has another base_type; changing a base_type is "
            "not supported"
        )


def _check_external_id_free(conn: Connection, external_id: str, besides: int | None = None) -> None:
    """AlreadyExists if a type (other than ``besides``) holds ``external_id``."""
    taken = select(type_table.c.id).where(type_table.c.external_id == external_id)
    if besides is not None:
        taken = taken.where(type_table.c.id != besides)
    clash = conn.execute(taken).first()
    if clash is not None:
        raise AlreadyExists(
            f"Conflict of external_id: {external_id!r} already names type {clash.id}"
        )


def _insert_type(conn: Connection, kind: NodeKind, given: model.AnyType) -> int:
    if given.external_id:
        _check_external_id_free(conn, given.external_id)
    parent_id = _base_type_to_parent_id(kind, given.base_type)
    values: dict[str, Any] = {
        "name": given.name,
        "version": given.version or None,
        "type_kind": int(kind.type_kind),
        "description": given.description,
        "external_id": given.external_id or None,
    }
    if isinstance(given, model.ExecutionType):
        values["input_type"] = given.input_type
        values["output_type"] = given.output_type
    try:
        type_id = inserted_id(conn.execute(type_table.insert().values(**values)))
    except IntegrityError:
        raise AlreadyExists(f"type {given.name!r} was created concurrently; retry") from None
    if given.properties:
        conn.execute(
            type_property_table.insert(),
            [
                {"type_id": type_id, "name": p, "data_type": int(t)}
                for p, t in given.properties.items()
            ],
        )
    if parent_id is not None:
        conn.execute(parent_type_table.insert().values(type_id=type_id, parent_type_id=parent_id))
    return type_id


def _load_properties(conn: Connection, type_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    ids = list(type_ids)
    result: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return result
    rows = conn.execute(select(type_property_table).where(type_property_table.c.type_id.in_(ids)))
    for row in rows:
        result.setdefault(row.type_id, {})[row.name] = row.data_type
    return result


# --- reads: from the type catalog (one statement while the types are unchanged) ----


def _user_types(conn: Connection, kind: NodeKind, include_simple: bool = False) -> list[Any]:
    """Every type of a kind, by id; MLMD's seeded simple types only when asked."""
    found = type_catalog.snapshot(conn).all_of_kind(int(kind.type_kind))
    return [t for t in found if include_simple or t.id not in SIMPLE_TYPE_IDS]


def get_type(conn: Connection, kind: NodeKind, name: str, version: str | None = None) -> Any:
    # MLMD's seeded simple types (mlmd.Dataset, ...) are found by name too.
    for t in _user_types(conn, kind, include_simple=True):
        if t.name == name and t.version == (version or None):
            return type_catalog.copy_type(t)
    raise NotFound(
        f"No {kind.name} type found with name {name!r}"
        + (f" and version {version!r}" if version else "")
    )


def get_types(conn: Connection, kind: NodeKind, *, include_simple: bool = False) -> list[Any]:
    return [type_catalog.copy_type(t) for t in _user_types(conn, kind, include_simple)]


def get_types_by_id(conn: Connection, kind: NodeKind, ids: Sequence[int]) -> list[Any]:
    if not ids:
        return []
    # As MLMD: in the order asked, repeats repeated, MLMD's simple types included,
    # unknown ids and types of another kind left out.
    snapshot = type_catalog.snapshot(conn)
    found = (snapshot.of_kind(int(kind.type_kind), int(type_id)) for type_id in ids)
    return [type_catalog.copy_type(t) for t in found if t is not None]


def get_types_by_external_ids(
    conn: Connection, kind: NodeKind, external_ids: Sequence[str]
) -> list[Any]:
    if any(not e for e in external_ids):
        raise InvalidArgument("external_ids must not be empty strings")
    wanted = set(external_ids)
    return [type_catalog.copy_type(t) for t in _user_types(conn, kind) if t.external_id in wanted]


def type_ids_named(conn: Connection, kind: NodeKind, name: str, version: str | None) -> list[int]:
    """Ids of the types of a kind with a name (and version, when given)."""
    return [
        t.id
        for t in _user_types(conn, kind, include_simple=True)
        if t.name == name and t.version == (version or None)
    ]


def type_properties(conn: Connection, kind: NodeKind, type_id: int) -> tuple[str, dict[str, int]]:
    """The name and declared properties of a type; NotFound if no such type of this kind."""
    snapshot = type_catalog.snapshot(conn)
    t = snapshot.of_kind(int(kind.type_kind), type_id)
    if t is None:
        raise NotFound(f"Cannot find type for type_id: {type_id}")
    return t.name, dict(snapshot.declared.get(type_id, {}))
