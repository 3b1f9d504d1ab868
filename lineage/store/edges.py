"""Edges: events (with paths), attributions, associations and parent contexts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from lineage import model
from lineage.errors import AlreadyExists, InvalidArgument
from lineage.store.kinds import ARTIFACT, CONTEXT, EXECUTION, NodeKind
from lineage.store.nodes import chunks, existing_ids, now_ms
from lineage.store.prepared import Prepared, items_in
from lineage.store.schema import (
    association_table,
    attribution_table,
    event_path_table,
    event_table,
    mlmd_env_table,
    parent_context_table,
)

# --- the statements of the hot paths (see prepared.py) ------------------------------

_EVENT_COLUMNS = ("artifact_id", "execution_id", "type", "milliseconds_since_epoch")
_PATH_COLUMNS = ("event_id", "is_index_step", "step_index", "step_key")


def _insert(table: Any, columns: Sequence[str], _dialect: str, _size: int) -> Any:
    return table.insert().values({c: bindparam(c) for c in columns})


def _select_where_in(table: Any, column: str, _dialect: str, size: int) -> Any:
    return select(table).where(items_in(table.c[column], size))


def _insert_links(table: Any, other: str, dialect: str, _size: int) -> Any:
    """INSERT of (context, node) pairs that skips the ones already there (also those
    another writer adds at the same moment); a SELECT first would scan on SQLite."""
    values: dict[str, Any] = {"context_id": bindparam("context_id"), other: bindparam(other)}
    if dialect == "sqlite":
        return sqlite_insert(table).values(values).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql_insert(table).values(values).on_conflict_do_nothing()
    # MySQL / MariaDB: a no-op update on the duplicate key (IGNORE hides other errors)
    statement = mysql_insert(table).values(values)
    return statement.on_duplicate_key_update(context_id=statement.inserted.context_id)


_INSERT_EVENT = Prepared(partial(_insert, event_table, _EVENT_COLUMNS), returning_id=True)
_INSERT_PATHS = Prepared(partial(_insert, event_path_table, _PATH_COLUMNS))
_PATHS_OF = Prepared(partial(_select_where_in, event_path_table, "event_id"))
EVENTS_BY = {
    column: Prepared(partial(_select_where_in, event_table, column))
    for column in ("artifact_id", "execution_id")
}
ATTRIBUTIONS_OF = Prepared(partial(_select_where_in, attribution_table, "artifact_id"))
ASSOCIATIONS_OF = Prepared(partial(_select_where_in, association_table, "execution_id"))
_INSERT_LINKS = {
    "artifact_id": Prepared(partial(_insert_links, attribution_table, "artifact_id")),
    "execution_id": Prepared(partial(_insert_links, association_table, "execution_id")),
}


def _check_exist(conn: Connection, kind: NodeKind, ids: set[int], what: str) -> None:
    if not ids:
        return
    missing = ids - existing_ids(conn, kind, ids)
    if missing:
        raise InvalidArgument(
            f"{what}: no {kind.name} with id {', '.join(map(str, sorted(missing)))}"
        )


# --- events -------------------------------------------------------------------------


def validate_event(event: model.Event) -> None:
    if not event.type:
        raise InvalidArgument("No event type is specified.")
    if event.type not in model.EventType.__members__.values():
        raise InvalidArgument(f"unknown event type {event.type}")
    for step in event.path or ():
        if (step.index is None) == (step.key is None):
            raise InvalidArgument("each event path step must set exactly one of index or key")


def put_events(
    conn: Connection,
    events: Sequence[model.Event],
    *,
    check_nodes: bool = True,
    now: int | None = None,
    known_artifacts: set[int] = frozenset(),  # type: ignore[assignment]
    known_executions: set[int] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Write events; ids in ``known_*`` were written or read in this transaction and
    are not checked again."""
    if not events:
        return
    now = now if now is not None else now_ms()
    for event in events:
        if not event.artifact_id or not event.execution_id:
            raise InvalidArgument("An event must set artifact_id and execution_id.")
        validate_event(event)
    if check_nodes:
        _check_exist(
            conn,
            ARTIFACT,
            {e.artifact_id for e in events if e.artifact_id} - known_artifacts,
            "event",
        )
        _check_exist(
            conn,
            EXECUTION,
            {e.execution_id for e in events if e.execution_id} - known_executions,
            "event",
        )
    path_rows = []
    for event in events:
        try:
            event_id = _INSERT_EVENT.insert(
                conn,
                {
                    "artifact_id": event.artifact_id,
                    "execution_id": event.execution_id,
                    "type": int(event.type or 0),
                    "milliseconds_since_epoch": event.milliseconds_since_epoch
                    if event.milliseconds_since_epoch is not None
                    else now,
                },
            )
        except IntegrityError:
            raise AlreadyExists(
                f"Given event already exists: artifact_id {event.artifact_id}, execution_id "
                f"{event.execution_id}, type {model.EventType(event.type or 0).name}"
            ) from None
        for step in event.path or ():
            if step.index is not None and not -(2**31) <= step.index < 2**31:
                # MLMD's schema keeps step_index in 32 bits (INT on PostgreSQL and MySQL).
                raise InvalidArgument(f"event path index {step.index} does not fit in 32 bits")
            path_rows.append(
                {
                    "event_id": event_id,
                    "is_index_step": 1 if step.index is not None else 0,
                    "step_index": step.index,
                    "step_key": step.key,
                }
            )
    _INSERT_PATHS.insert_many(conn, path_rows)


def _build_events(conn: Connection, rows: Sequence[Any]) -> list[model.Event]:
    """Events from Event rows (id, artifact_id, execution_id, type, milliseconds)."""
    paths: dict[int, list[model.PathStep]] = defaultdict(list)
    for event_id, is_index_step, step_index, step_key in _PATHS_OF.chunked_rows(
        conn, [int(r[0]) for r in rows]
    ):
        step = model.PathStep(index=step_index) if is_index_step else model.PathStep(key=step_key)
        paths[int(event_id)].append(step)
    return [
        model.Event(
            artifact_id=int(artifact_id),
            execution_id=int(execution_id),
            type=int(event_type),
            milliseconds_since_epoch=milliseconds,
            path=paths.get(int(event_id)) or None,
        )
        for event_id, artifact_id, execution_id, event_type, milliseconds in rows
    ]


def events_by(conn: Connection, column: str, ids: Sequence[int]) -> list[model.Event]:
    rows = EVENTS_BY[column].chunked_rows(conn, sorted(set(ids)))
    rows.sort(key=lambda r: r[0])
    return _build_events(conn, rows)


# --- attributions and associations -------------------------------------------------


def put_attributions_and_associations(
    conn: Connection,
    attributions: Sequence[model.Attribution],
    associations: Sequence[model.Association],
    *,
    known: bool = False,
) -> None:
    """Link contexts to artifacts and executions; ``known``: every id was written or
    read in this transaction, so existence is not checked again."""
    if attributions and not known:
        _check_exist(conn, CONTEXT, {a.context_id for a in attributions}, "attribution")
        _check_exist(conn, ARTIFACT, {a.artifact_id for a in attributions}, "attribution")
    if attributions:
        _insert_missing(
            conn,
            attribution_table,
            "artifact_id",
            [(a.context_id, a.artifact_id) for a in attributions],
        )
    if associations and not known:
        _check_exist(conn, CONTEXT, {a.context_id for a in associations}, "association")
        _check_exist(conn, EXECUTION, {a.execution_id for a in associations}, "association")
    if associations:
        _insert_missing(
            conn,
            association_table,
            "execution_id",
            [(a.context_id, a.execution_id) for a in associations],
        )


def _insert_missing(conn: Connection, table: Any, other: str, pairs: list[tuple[int, int]]) -> None:
    """Insert the (context, node) pairs not there yet; an existing pair is not an error."""
    rows = [{"context_id": c, other: n} for c, n in dict.fromkeys(pairs)]
    _INSERT_LINKS[other].insert_many(conn, rows)


# --- parent contexts -----------------------------------------------------------------


def ancestors(conn: Connection, context_id: int) -> set[int]:
    """Every context above this one, by one recursive query."""
    pc = parent_context_table
    seed = select(pc.c.parent_context_id.label("id")).where(pc.c.context_id == context_id)
    tree = seed.cte("ancestors", recursive=True)
    step = select(pc.c.parent_context_id).where(pc.c.context_id == tree.c.id)
    tree = tree.union(step)
    return {int(r.id) for r in conn.execute(select(tree.c.id))}


def put_parent_contexts(conn: Connection, links: Sequence[model.ParentContext]) -> None:
    if not links:
        return
    ids = {link.child_id for link in links} | {link.parent_id for link in links}
    found = existing_ids(conn, CONTEXT, ids)
    for link in links:
        if link.child_id not in found or link.parent_id not in found:
            raise InvalidArgument(
                "Given parent / child id in the parent_context cannot be found: "
                f"child_id {link.child_id}, parent_id {link.parent_id}"
            )
        if link.child_id == link.parent_id:
            raise InvalidArgument(f"a context cannot be its own parent (id {link.child_id})")
    # A cycle can close through links other writers are adding: serialize the writers of
    # parent contexts on the MLMDEnv row, as types.put_type does, so that each one's
    # cycle check sees the links of the others.
    conn.execute(select(mlmd_env_table.c.schema_version).with_for_update())
    for link in links:
        if link.child_id in ancestors(conn, link.parent_id):
            raise InvalidArgument(
                f"There is a cycle detected of the given relationship: context {link.child_id} "
                f"is already an ancestor of {link.parent_id}"
            )
        try:
            conn.execute(
                parent_context_table.insert().values(
                    context_id=link.child_id, parent_context_id=link.parent_id
                )
            )
        except IntegrityError:
            raise AlreadyExists(
                f"Given parent_context already exists: child_id {link.child_id}, parent_id {link.parent_id}"
            ) from None


def related_context_ids(
    conn: Connection, context_ids: Sequence[int], parents: bool
) -> dict[int, list[int]]:
    """For each context, the ids of its parents (or children), ascending."""
    pc = parent_context_table
    key, other = (
        (pc.c.context_id, pc.c.parent_context_id)
        if parents
        else (pc.c.parent_context_id, pc.c.context_id)
    )
    result: dict[int, list[int]] = {int(c): [] for c in context_ids}
    for chunk in chunks(sorted(set(context_ids))):
        for row in conn.execute(select(key, other).where(key.in_(chunk)).order_by(other)):
            result[int(row[0])].append(int(row[1]))
    return result


def context_ids_of(conn: Connection, kind: NodeKind, node_id: int) -> list[int]:
    table, column = (
        (attribution_table, "artifact_id")
        if kind is ARTIFACT
        else (association_table, "execution_id")
    )
    return [
        int(r.context_id)
        for r in conn.execute(
            select(table.c.context_id)
            .where(table.c[column] == node_id)
            .order_by(table.c.context_id)
        )
    ]


def node_ids_in_context_query(kind: NodeKind, context_id: int) -> Any:
    """Subquery of the ids of a context's artifacts or executions."""
    table, column = (
        (attribution_table, "artifact_id")
        if kind is ARTIFACT
        else (association_table, "execution_id")
    )
    return select(table.c[column]).where(table.c.context_id == context_id)
