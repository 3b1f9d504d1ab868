"""Every type of a store, read once and reused while the type tables are unchanged.

Three of the six calls behind one MLMD lineage question read types, and so do most
node reads. Types are only ever added to (a new type, a new property, a new base type
link) but for one field: putting a type again may replace its ``external_id``. So the
number of rows and the highest type id of the three type tables, with the number and
total length of external ids, identify their content, and one cheap statement per read
tells whether the copy in memory is the one this transaction sees, also when other
servers write to the same database. An external_id replaced by one of the same length
is the blind spot: the writer calls :func:`forget` after its commit, so its own process
never serves the old one.

A copy is kept only when it was read outside a write transaction: a transaction that
adds a type and then rolls back must not leave its type behind.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from lineage import model
from lineage.store.prepared import Prepared
from lineage.store.schema import parent_type_table, type_property_table, type_table

_MARK = Prepared(
    lambda _dialect, _size: select(
        select(func.count()).select_from(type_table).scalar_subquery(),
        select(func.max(type_table.c.id)).scalar_subquery(),
        select(func.count()).select_from(type_property_table).scalar_subquery(),
        select(func.count()).select_from(parent_type_table).scalar_subquery(),
        # The one field of a type MLMD updates in place: its external_id (see forget()).
        select(func.count(type_table.c.external_id)).scalar_subquery(),
        select(func.sum(func.length(type_table.c.external_id))).scalar_subquery(),
    )
)
_TYPES = Prepared(
    lambda _dialect, _size: select(
        type_table.c.id,
        type_table.c.name,
        type_table.c.version,
        type_table.c.type_kind,
        type_table.c.description,
        type_table.c.input_type,
        type_table.c.output_type,
        type_table.c.external_id,
    ).order_by(type_table.c.id)
)
_PROPERTIES = Prepared(
    lambda _dialect, _size: select(
        type_property_table.c.type_id, type_property_table.c.name, type_property_table.c.data_type
    )
)
_PARENTS = Prepared(
    lambda _dialect, _size: select(parent_type_table.c.type_id, parent_type_table.c.parent_type_id)
)

_CLASSES: dict[int, type[Any]] = {
    int(model.TypeKind.ARTIFACT): model.ArtifactType,
    int(model.TypeKind.EXECUTION): model.ExecutionType,
    int(model.TypeKind.CONTEXT): model.ContextType,
}
# Simple type ids MLMD seeds: artifact base types 1-4 map to ids 1-4, execution 1-5 to 5-9.
BASE_OFFSET = {int(model.TypeKind.ARTIFACT): 0, int(model.TypeKind.EXECUTION): 4}
BASE_COUNT = {int(model.TypeKind.ARTIFACT): 4, int(model.TypeKind.EXECUTION): 5}


def parent_id_to_base_type(type_kind: int, parent_id: int) -> int | None:
    offset = BASE_OFFSET.get(type_kind)
    if offset is None:
        return None
    base = parent_id - offset
    return base if 1 <= base <= BASE_COUNT[type_kind] else None


@dataclass
class Snapshot:
    """The types as of one state of the type tables (treat as read-only: hand out
    :func:`copy_type` copies)."""

    mark: tuple[Any, ...]
    by_id: dict[int, tuple[int, Any]] = field(default_factory=dict)  # id -> (kind, type)
    declared: dict[int, dict[str, int]] = field(default_factory=dict)  # id -> properties

    def of_kind(self, type_kind: int, type_id: int) -> Any | None:
        found = self.by_id.get(type_id)
        return found[1] if found is not None and found[0] == type_kind else None

    def all_of_kind(self, type_kind: int) -> list[Any]:
        return [t for kind, t in self.by_id.values() if kind == type_kind]


def copy_type(t: Any) -> Any:
    return dataclasses.replace(t, properties=dict(t.properties))


def _load(conn: Connection, mark: tuple[Any, ...]) -> Snapshot:
    snapshot = Snapshot(mark)
    for type_id, name, data_type in _PROPERTIES.rows(conn):
        snapshot.declared.setdefault(int(type_id), {})[name] = int(data_type)
    parents = {int(t): int(p) for t, p in _PARENTS.rows(conn)}
    for row in _TYPES.rows(conn):
        type_id, name, version, type_kind, description, input_type, output_type, external_id = row
        type_kind = int(type_kind)
        cls = _CLASSES.get(type_kind)
        if cls is None:
            continue
        declared = snapshot.declared.get(int(type_id), {})
        t = cls(
            id=int(type_id),
            name=name,
            version=version or None,
            description=description,
            external_id=external_id,
            properties={n: model.PropertyType(d) for n, d in declared.items()},
        )
        if int(type_id) in parents:
            t.base_type = parent_id_to_base_type(type_kind, parents[int(type_id)])
        if isinstance(t, model.ExecutionType):
            t.input_type = input_type
            t.output_type = output_type
        snapshot.by_id[int(type_id)] = (type_kind, t)
    return snapshot


class TypeCatalog:
    """The last snapshot read for one database."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._snapshot = None

    def snapshot(self, conn: Connection) -> Snapshot:
        read_only = conn.get_execution_options().get("lineage_read_only")
        if read_only:
            # A read transaction sees one snapshot of the database: the types checked
            # once in it hold for the rest of it (a write may change them: checked each time).
            seen = conn.info.get(_CHECKED_IN)
            transaction = conn.get_transaction()
            if seen is not None and transaction is not None and seen[0] is transaction:
                return seen[1]
        mark = tuple(_MARK.rows(conn)[0])
        current = self._snapshot
        if current is None or current.mark != mark:
            current = _load(conn, mark)
            if read_only:
                with self._lock:
                    self._snapshot = current
        if read_only and (transaction := conn.get_transaction()) is not None:
            conn.info[_CHECKED_IN] = (transaction, current)
        return current


# conn.info key: (the read transaction, the snapshot checked in it). Holding the
# transaction object keeps its identity from being reused by a later one.
_CHECKED_IN = "lineage_types_checked_in"


_catalogs: weakref.WeakKeyDictionary[Any, TypeCatalog] = weakref.WeakKeyDictionary()
_catalogs_lock = threading.Lock()


def forget(engine: Any) -> None:
    """Drop the copy kept for ``engine``'s database (after a commit that changed a type
    in a way the mark may not show)."""
    catalog = _catalogs.get(engine.pool)
    if catalog is not None:
        catalog.forget()


# conn.info key: set by a write that replaced a type's external_id (Store.write forgets).
CHANGED_IN_PLACE = "lineage_type_changed_in_place"


def snapshot(conn: Connection) -> Snapshot:
    """The types this connection's transaction sees (one statement when unchanged).

    One catalog per connection pool: an engine and its read-only variant share it."""
    pool = conn.engine.pool
    catalog = _catalogs.get(pool)
    if catalog is None:
        with _catalogs_lock:
            catalog = _catalogs.setdefault(pool, TypeCatalog())
    return catalog.snapshot(conn)
