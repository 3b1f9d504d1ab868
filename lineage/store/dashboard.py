"""Batched reads for dashboards (the GraphQL API): pages with counts, nodes of many
contexts at once, pipeline runs, lineage with hop counts, live state changes.

Every function takes a connection and answers for *many* parents in a fixed number of
statements (one per table touched, chunked by :data:`nodes.CHUNK` ids), so a page of
100 runs with their steps costs the same number of round trips as a page of one.
Nothing here talks to the network; the GraphQL layer batches calls with DataLoaders.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from lineage import model
from lineage.errors import InvalidArgument, NotFound
from lineage.store import edges, graph, nodes, types
from lineage.store.kinds import ARTIFACT, CONTEXT, EXECUTION, KINDS, NodeKind
from lineage.store.schema import (
    artifact_table,
    association_table,
    attribution_table,
    context_table,
    execution_table,
    parent_context_table,
    type_table,
)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

PIPELINE_RUN_TYPE = "system.PipelineRun"
PIPELINE_TYPE = "system.Pipeline"
METRICS_TYPE = "system.Metrics"
LABEL_PREFIX = "label:"

ORDER_COLUMNS = {
    "ID": "id",
    "CREATE_TIME": "create_time_since_epoch",
    "LAST_UPDATE_TIME": "last_update_time_since_epoch",
}

# Derived state of a pipeline run, from the states of its executions (first match wins).
RUN_STATES = ("RUNNING", "FAILED", "CANCELED", "COMPLETE", "PENDING")
_ACTIVE = (int(model.ExecutionState.NEW), int(model.ExecutionState.RUNNING))
_FAILED = (int(model.ExecutionState.FAILED),)
_CANCELED = (int(model.ExecutionState.CANCELED),)
TERMINAL_EXECUTION_STATES = frozenset(
    int(s)
    for s in (
        model.ExecutionState.COMPLETE,
        model.ExecutionState.FAILED,
        model.ExecutionState.CACHED,
        model.ExecutionState.CANCELED,
    )
)


# --- node queries: filters, pages, counts --------------------------------------------------


@dataclass
class NodeQuery:
    """What a list of nodes is restricted to; every part is optional."""

    filter_query: str | None = None  # MLMD's filter_query language
    type_names: Sequence[str] = ()
    states: Sequence[int] = ()  # artifact state / execution last_known_state
    created_after: int | None = None  # ms since epoch, inclusive
    created_before: int | None = None  # exclusive
    updated_after: int | None = None
    updated_before: int | None = None
    context_id: int | None = None  # only nodes attributed / associated to this context
    labels: Sequence[str] = ()  # custom properties ``label:<name>`` set to true
    run_states: Sequence[str] = ()  # contexts only: derived run state
    parent_name: str | None = None  # contexts only: a parent context with this name
    parent_type: str | None = None  # ... of this type

    def fingerprint(self, kind: NodeKind, order_by: str, ascending: bool) -> str:
        raw = json.dumps(
            [
                kind.name,
                order_by,
                ascending,
                self.filter_query or "",
                sorted(self.type_names),
                sorted(self.states),
                self.created_after,
                self.created_before,
                self.updated_after,
                self.updated_before,
                self.context_id,
                sorted(self.labels),
                sorted(self.run_states),
                self.parent_name,
                self.parent_type,
            ]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


def conditions(kind: NodeKind, query: NodeQuery) -> list[ColumnElement[bool]]:
    """SQLAlchemy conditions on ``kind.table`` for ``query``; the filter text is compiled
    by :func:`lineage.query.compile_filter` (bound parameters, whitelisted names)."""
    table = kind.table
    out: list[ColumnElement[bool]] = []
    if query.filter_query and query.filter_query.strip():
        from lineage.query import compile_filter

        out.append(compile_filter(kind.name, query.filter_query))
    if query.type_names:
        out.append(
            table.c.type_id.in_(
                select(type_table.c.id).where(
                    type_table.c.type_kind == int(kind.type_kind),
                    type_table.c.name.in_(list(query.type_names)),
                )
            )
        )
    if query.states:
        if kind is CONTEXT:
            raise InvalidArgument("contexts have no state")
        column = table.c.state if kind is ARTIFACT else table.c.last_known_state
        out.append(column.in_([int(s) for s in query.states]))
    for bound, column_name, op in (
        (query.created_after, "create_time_since_epoch", ">="),
        (query.created_before, "create_time_since_epoch", "<"),
        (query.updated_after, "last_update_time_since_epoch", ">="),
        (query.updated_before, "last_update_time_since_epoch", "<"),
    ):
        if bound is not None:
            column = table.c[column_name]
            out.append(column >= bound if op == ">=" else column < bound)
    if query.context_id is not None:
        if kind is CONTEXT:
            raise InvalidArgument("contexts cannot be listed by context")
        out.append(table.c.id.in_(edges.node_ids_in_context_query(kind, query.context_id)))
    for label in query.labels:
        pt = kind.property_table
        out.append(
            table.c.id.in_(
                select(kind.owner).where(
                    pt.c.name == LABEL_PREFIX + label,
                    pt.c.is_custom_property == 1,
                    pt.c.bool_value.is_(True),
                )
            )
        )
    if query.run_states:
        if kind is not CONTEXT:
            raise InvalidArgument("run states apply to pipeline runs only")
        out.append(or_(*(run_state_condition(s) for s in query.run_states)))
    if query.parent_name is not None or query.parent_type is not None:
        if kind is not CONTEXT:
            raise InvalidArgument("parent contexts apply to contexts only")
        parent = context_table.alias("parent")
        where = [parent.c.id == parent_context_table.c.parent_context_id]
        if query.parent_name is not None:
            where.append(parent.c.name == query.parent_name)
        if query.parent_type is not None:
            where.append(
                parent.c.type_id.in_(
                    select(type_table.c.id).where(
                        type_table.c.type_kind == int(model.TypeKind.CONTEXT),
                        type_table.c.name == query.parent_type,
                    )
                )
            )
        out.append(
            table.c.id.in_(
                select(parent_context_table.c.context_id).select_from(
                    parent_context_table.join(parent, and_(*where))
                )
            )
        )
    return out


def _steps_in_state(states: Sequence[int]) -> ColumnElement[bool]:
    """EXISTS an execution of the (outer) context in one of ``states``."""
    return exists(
        select(literal(1))
        .select_from(
            association_table.join(
                execution_table, execution_table.c.id == association_table.c.execution_id
            )
        )
        .where(
            association_table.c.context_id == context_table.c.id,
            execution_table.c.last_known_state.in_(list(states)),
        )
    )


def _has_steps() -> ColumnElement[bool]:
    return exists(select(literal(1)).where(association_table.c.context_id == context_table.c.id))


def run_state_condition(state: str) -> ColumnElement[bool]:
    """Contexts whose derived run state (see :func:`run_state`) is ``state``."""
    running, failed, canceled = (
        _steps_in_state(_ACTIVE),
        _steps_in_state(_FAILED),
        _steps_in_state(_CANCELED),
    )
    if state == "RUNNING":
        return running
    if state == "FAILED":
        return and_(not_(running), failed)
    if state == "CANCELED":
        return and_(not_(running), not_(failed), canceled)
    if state == "COMPLETE":
        return and_(_has_steps(), not_(running), not_(failed), not_(canceled))
    if state == "PENDING":
        return not_(_has_steps())
    raise InvalidArgument(f"unknown run state {state!r}: one of {', '.join(RUN_STATES)}")


def run_state(states: Iterable[int | None]) -> str:
    """The state of a run from its executions' states: RUNNING while any is NEW or
    RUNNING, else FAILED if any failed, else CANCELED if any was canceled, else COMPLETE;
    PENDING when it has no execution yet. Matches :func:`run_state_condition`."""
    seen = {int(s) if s is not None else 0 for s in states}
    if not seen:
        return "PENDING"
    if seen & set(_ACTIVE):
        return "RUNNING"
    if seen & set(_FAILED):
        return "FAILED"
    if seen & set(_CANCELED):
        return "CANCELED"
    return "COMPLETE"


@dataclass
class Position:
    value: int
    id: int


@dataclass
class Page:
    nodes: list[Any]
    cursors: list[str]
    has_next: bool
    has_previous: bool


def encode_cursor(fingerprint: str, value: int, node_id: int) -> str:
    raw = json.dumps({"f": fingerprint, "v": value, "i": node_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str, what: str = "cursor") -> Position:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position = Position(int(payload["v"]), int(payload["i"]))
        made_for = payload["f"]
        if not all(-(2**63) <= n < 2**63 for n in (position.value, position.id)):
            raise ValueError("not a 64-bit position")  # no database column holds it
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        raise InvalidArgument(
            f"{what} is not a cursor of this list: pass back a cursor unchanged"
        ) from None
    if made_for != fingerprint:
        raise InvalidArgument(
            f"{what} was made for another list (other filters or order): a cursor is only "
            "valid with the arguments that produced it"
        )
    return position


def _seek(column: Any, id_column: Any, position: Position, later: bool) -> ColumnElement[bool]:
    """Rows strictly after (``later``) or before ``position`` in ascending (column, id)."""
    if column is id_column:
        return id_column > position.id if later else id_column < position.id
    if later:
        return or_(column > position.value, and_(column == position.value, id_column > position.id))
    return or_(column < position.value, and_(column == position.value, id_column < position.id))


def check_page_size(value: int | None, name: str) -> None:
    if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"{name} must be between 0 and {MAX_PAGE_SIZE}, got {value}")


def page_nodes(
    conn: Connection,
    kind: NodeKind,
    query: NodeQuery,
    *,
    order_by: str = "ID",
    ascending: bool = True,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Page:
    """A Relay page: ``first`` nodes after the cursor ``after`` (or ``last`` before
    ``before``), by keyset: the cost of a page does not depend on how deep it is."""
    if order_by not in ORDER_COLUMNS:
        raise InvalidArgument(f"cannot order by {order_by!r}: one of {', '.join(ORDER_COLUMNS)}")
    if first is not None and last is not None:
        raise InvalidArgument("pass first or last, not both")
    check_page_size(first, "first")
    check_page_size(last, "last")
    fingerprint = query.fingerprint(kind, order_by, ascending)
    table = kind.table
    column = table.c[ORDER_COLUMNS[order_by]]
    id_column = table.c.id
    where = conditions(kind, query)
    for cursor, name, later in ((after, "after", True), (before, "before", False)):
        if cursor:
            position = decode_cursor(cursor, fingerprint, name)
            # "after" in the list's order: later in ascending order, earlier in descending.
            where.append(_seek(column, id_column, position, later == ascending))
    backward = last is not None
    size = last if backward else (first if first is not None else DEFAULT_PAGE_SIZE)
    assert size is not None
    if size == 0:
        return Page([], [], False, False)
    # Read in list order when going forward; reversed when taking the last ones.
    read_ascending = ascending != backward
    order = [column, id_column] if column is not id_column else [id_column]
    statement = (
        nodes.node_select(kind)
        .where(*where)
        .order_by(*[c.asc() if read_ascending else c.desc() for c in order])
        .limit(size + 1)
    )
    rows = list(conn.execute(statement))
    more = len(rows) > size
    rows = rows[:size]
    if backward:
        rows.reverse()
    built = nodes.build_nodes(conn, kind, rows)
    cursors = [
        encode_cursor(fingerprint, int(getattr(r, ORDER_COLUMNS[order_by])), int(r.id))
        for r in rows
    ]
    if backward:
        return Page(built, cursors, has_next=bool(before), has_previous=more)
    return Page(built, cursors, has_next=more, has_previous=bool(after))


def count_nodes(conn: Connection, kind: NodeKind, query: NodeQuery) -> int:
    statement = select(func.count()).select_from(kind.table).where(*conditions(kind, query))
    return int(conn.execute(statement).scalar_one())


# --- batched reads by parent ids ----------------------------------------------------------


def _link(kind: NodeKind) -> tuple[Any, str]:
    if kind is ARTIFACT:
        return attribution_table, "artifact_id"
    if kind is EXECUTION:
        return association_table, "execution_id"
    raise ValueError("only artifacts and executions belong to contexts")


def _type_ids_subquery(kind: NodeKind, names: Sequence[str]) -> Any:
    return select(type_table.c.id).where(
        type_table.c.type_kind == int(kind.type_kind), type_table.c.name.in_(list(names))
    )


def nodes_in_contexts(
    conn: Connection,
    kind: NodeKind,
    context_ids: Sequence[int],
    *,
    type_names: Sequence[str] = (),
    limit: int | None = None,
) -> dict[int, list[Any]]:
    """For each context, its artifacts (or executions) ascending by id, the first
    ``limit`` of each when given: two statements per chunk of contexts, whatever their
    number (a window function picks the first ``limit`` of every context at once)."""
    link, column = _link(kind)
    result: dict[int, list[Any]] = {int(c): [] for c in context_ids}
    pairs: list[tuple[int, int]] = []
    rows_by_id: dict[int, Any] = {}
    for chunk in nodes.chunks(sorted(set(result))):
        links = select(link.c.context_id, link.c[column].label("node_id")).where(
            link.c.context_id.in_(chunk)
        )
        if type_names:
            links = links.join(kind.table, kind.table.c.id == link.c[column]).where(
                kind.table.c.type_id.in_(_type_ids_subquery(kind, type_names))
            )
        if limit is not None:
            rank = (
                func.row_number()
                .over(partition_by=link.c.context_id, order_by=link.c[column])
                .label("rank")
            )
            ranked = links.add_columns(rank).subquery("ranked")
            picked = select(ranked.c.context_id, ranked.c.node_id).where(ranked.c.rank <= limit)
        else:
            picked = links
        chosen = picked.subquery("chosen")
        statement = (
            nodes.node_select(kind)
            .add_columns(chosen.c.context_id.label("link_context_id"))
            .join(chosen, chosen.c.node_id == kind.table.c.id)
        )
        for row in conn.execute(statement):
            rows_by_id.setdefault(int(row.id), row)
            pairs.append((int(row.link_context_id), int(row.id)))
    built = {n.id: n for n in nodes.build_nodes(conn, kind, sorted(rows_by_id.values(), key=_id))}
    for context_id, node_id in sorted(pairs):
        result[context_id].append(built[node_id])
    return result


def count_in_contexts(
    conn: Connection, kind: NodeKind, context_ids: Sequence[int]
) -> dict[int, int]:
    """For each context, how many artifacts (or executions) it has."""
    link, column = _link(kind)
    result = {int(c): 0 for c in context_ids}
    for chunk in nodes.chunks(sorted(set(result))):
        statement = (
            select(link.c.context_id, func.count())
            .where(link.c.context_id.in_(chunk))
            .group_by(link.c.context_id)
        )
        for context_id, count in conn.execute(statement):
            result[int(context_id)] = int(count)
    return result


@dataclass
class RunStats:
    """What a run's state and times come from, aggregated in the database."""

    state_counts: dict[int, int] = field(default_factory=dict)  # execution state -> count
    first_create: int | None = None
    last_update: int | None = None

    @property
    def state(self) -> str:
        return run_state(self.state_counts)

    @property
    def step_count(self) -> int:
        return sum(self.state_counts.values())


def run_stats(conn: Connection, context_ids: Sequence[int]) -> dict[int, RunStats]:
    """For each context, its executions counted by state, the first creation and the
    last update: one grouped statement per chunk of contexts."""
    result = {int(c): RunStats() for c in context_ids}
    state = func.coalesce(execution_table.c.last_known_state, 0)
    for chunk in nodes.chunks(sorted(set(result))):
        statement = (
            select(
                association_table.c.context_id,
                state.label("state"),
                func.count(),
                func.min(execution_table.c.create_time_since_epoch),
                func.max(execution_table.c.last_update_time_since_epoch),
            )
            .select_from(
                association_table.join(
                    execution_table, execution_table.c.id == association_table.c.execution_id
                )
            )
            .where(association_table.c.context_id.in_(chunk))
            .group_by(association_table.c.context_id, state)
        )
        for context_id, step_state, count, first, last in conn.execute(statement):
            stats = result[int(context_id)]
            stats.state_counts[int(step_state)] = int(count)
            if first is not None:
                first = int(first)
                stats.first_create = (
                    first if stats.first_create is None else min(stats.first_create, first)
                )
            if last is not None:
                last = int(last)
                stats.last_update = (
                    last if stats.last_update is None else max(stats.last_update, last)
                )
    return result


def _id(row: Any) -> int:
    return int(row.id)


def contexts_of_nodes(
    conn: Connection, kind: NodeKind, node_ids: Sequence[int]
) -> dict[int, list[model.Context]]:
    """For each artifact (or execution), the contexts it belongs to, ascending by id."""
    link, column = _link(kind)
    result: dict[int, list[model.Context]] = {int(n): [] for n in node_ids}
    pairs: list[tuple[int, int]] = []
    rows_by_id: dict[int, Any] = {}
    for chunk in nodes.chunks(sorted(set(result))):
        statement = (
            nodes.node_select(CONTEXT)
            .add_columns(link.c[column].label("link_node_id"))
            .join(link, link.c.context_id == context_table.c.id)
            .where(link.c[column].in_(chunk))
        )
        for row in conn.execute(statement):
            rows_by_id.setdefault(int(row.id), row)
            pairs.append((int(row.link_node_id), int(row.id)))
    built = {
        n.id: n for n in nodes.build_nodes(conn, CONTEXT, sorted(rows_by_id.values(), key=_id))
    }
    for node_id, context_id in sorted(pairs):
        result[node_id].append(built[context_id])
    return result


def related_contexts(
    conn: Connection, context_ids: Sequence[int], *, parents: bool
) -> dict[int, list[model.Context]]:
    """For each context, its parent (or child) contexts, ascending by id."""
    ids = edges.related_context_ids(conn, context_ids, parents)
    wanted = sorted({i for linked in ids.values() for i in linked})
    loaded = {c.id: c for c in nodes.load_by_ids(conn, CONTEXT, wanted)} if wanted else {}
    return {k: [loaded[i] for i in v if i in loaded] for k, v in ids.items()}


def events_of(conn: Connection, kind: NodeKind, ids: Sequence[int]) -> dict[int, list[model.Event]]:
    """For each artifact (or execution), its events, ascending by event id."""
    column = "artifact_id" if kind is ARTIFACT else "execution_id"
    result: dict[int, list[model.Event]] = {int(i): [] for i in ids}
    for event in edges.events_by(conn, column, list(result)):
        result[int(getattr(event, column))].append(event)
    return result


def types_by_id(conn: Connection, kind: NodeKind, ids: Sequence[int]) -> dict[int, Any]:
    return {int(t.id): t for t in types.get_types_by_id(conn, kind, sorted(set(ids)))}


def nodes_by_id(conn: Connection, kind: NodeKind, ids: Sequence[int]) -> dict[int, Any]:
    return {int(n.id): n for n in nodes.load_by_ids(conn, kind, ids)}


def list_types(
    conn: Connection, kinds: Sequence[NodeKind], name: str | None = None
) -> list[model.AnyType]:
    """Every type of these kinds (optionally with this name), by id, MLMD's seeded
    simple types left out."""
    out: list[Any] = []
    for kind in kinds:
        for t in types.get_types(conn, kind):
            if name is None or t.name == name:
                out.append(t)
    return sorted(out, key=lambda t: int(t.id))


# --- lineage ---------------------------------------------------------------------------------


@dataclass
class LineageResult:
    artifacts: list[model.Artifact] = field(default_factory=list)
    executions: list[model.Execution] = field(default_factory=list)
    events: list[model.Event] = field(default_factory=list)
    artifact_hops: dict[int, int] = field(default_factory=dict)
    execution_hops: dict[int, int] = field(default_factory=dict)
    truncated: bool = False


def lineage(
    conn: Connection,
    *,
    artifact_id: int | None = None,
    execution_id: int | None = None,
    direction: int = graph.BIDIRECTIONAL,
    depth: int = 3,
    max_nodes: int = 500,
) -> LineageResult:
    """The nodes within ``depth`` hops of one artifact or execution, walked by the
    store's recursive query (:func:`lineage.store.graph.walk`, the one behind
    ``GetLineageSubgraph``), with the hop count of each node. When more than
    ``max_nodes`` are reached the nearest are kept and ``truncated`` is set."""
    if (artifact_id is None) == (execution_id is None):
        raise InvalidArgument("lineage: start from one artifact or one execution")
    if depth < 0:
        raise InvalidArgument(f"lineage: depth must not be negative, got {depth}")
    spec = graph.Walk(
        start_artifacts=artifact_table.c.id == artifact_id if artifact_id is not None else None,
        start_executions=execution_table.c.id == execution_id if execution_id is not None else None,
        max_hops=depth,
        direction=direction,
    )
    reached = graph.walk(conn, spec)
    if not reached.artifacts and not reached.executions:
        what = f"artifact {artifact_id}" if artifact_id is not None else f"execution {execution_id}"
        raise NotFound(f"lineage: no {what}")
    ranked = sorted(
        [(d, 0, i) for i, d in reached.artifacts.items()]
        + [(d, 1, i) for i, d in reached.executions.items()]
    )
    result = LineageResult(truncated=len(ranked) > max_nodes)
    ranked = ranked[:max_nodes]
    result.artifact_hops = {i: d for d, k, i in ranked if k == 0}
    result.execution_hops = {i: d for d, k, i in ranked if k == 1}
    result.artifacts = nodes.load_by_ids(conn, ARTIFACT, sorted(result.artifact_hops))
    result.executions = nodes.load_by_ids(conn, EXECUTION, sorted(result.execution_hops))
    rows = graph.events_between(conn, set(result.artifact_hops), set(result.execution_hops))
    result.events = [
        model.Event(
            artifact_id=int(artifact_id),
            execution_id=int(execution_id),
            type=int(event_type),
            milliseconds_since_epoch=milliseconds,
        )
        for _, artifact_id, execution_id, event_type, milliseconds in rows
    ]
    return result


# --- live state changes -------------------------------------------------------------------


@dataclass(frozen=True)
class StateStamp:
    execution_id: int
    state: int | None
    last_update: int


def execution_stamps(conn: Connection, context_id: int, since_ms: int) -> list[StateStamp]:
    """(id, state, last update) of the executions of a context updated at or after
    ``since_ms``: one indexed statement, proportional to the run, not to the store."""
    statement = (
        select(
            execution_table.c.id,
            execution_table.c.last_known_state,
            execution_table.c.last_update_time_since_epoch,
        )
        .where(
            execution_table.c.id.in_(
                select(association_table.c.execution_id).where(
                    association_table.c.context_id == context_id
                )
            ),
            execution_table.c.last_update_time_since_epoch >= since_ms if since_ms > 0 else true(),
        )
        .order_by(execution_table.c.last_update_time_since_epoch, execution_table.c.id)
    )
    return [
        StateStamp(
            int(r.id),
            int(r.last_known_state) if r.last_known_state is not None else None,
            int(r.last_update_time_since_epoch),
        )
        for r in conn.execute(statement)
    ]


# --- writes a dashboard makes ----------------------------------------------------------------


def set_custom_properties(
    conn: Connection,
    kind_name: str,
    node_id: int,
    values: dict[str, model.Value],
    remove: Sequence[str] = (),
    *,
    expected_last_update: int | None = None,
) -> None:
    """Set and remove custom properties of one node, leaving every other field as is.
    ``expected_last_update``: refuse (FAILED_PRECONDITION) if the node changed since."""
    kind = KINDS[kind_name]
    nodes.require_ids(conn, kind, [node_id])
    clash = set(values) & set(remove)
    if clash:
        raise InvalidArgument(
            f"custom property {sorted(clash)[0]!r} is both set and removed in one call"
        )
    node = kind.node_class(id=node_id, custom_properties=dict(values))
    if expected_last_update is not None:
        node.last_update_time_since_epoch = expected_last_update
    mask = [f"custom_properties.{name}" for name in [*values, *remove]]
    if not mask:
        return
    nodes.put_nodes(
        conn,
        kind,
        [node],
        field_mask_paths=mask,
        abort_if_latest_updated_time_changed=expected_last_update is not None,
    )


def set_artifact_state(conn: Connection, artifact_id: int, state: int) -> None:
    nodes.require_ids(conn, ARTIFACT, [artifact_id])
    nodes.put_nodes(
        conn, ARTIFACT, [model.Artifact(id=artifact_id, state=state)], field_mask_paths=["state"]
    )


def context_is_of_type(conn: Connection, context_id: int, type_name: str) -> bool:
    row = conn.execute(
        select(type_table.c.name)
        .select_from(context_table.join(type_table, type_table.c.id == context_table.c.type_id))
        .where(context_table.c.id == context_id)
    ).first()
    return row is not None and row.name == type_name


__all__ = [
    "LABEL_PREFIX",
    "MAX_PAGE_SIZE",
    "METRICS_TYPE",
    "PIPELINE_RUN_TYPE",
    "PIPELINE_TYPE",
    "RUN_STATES",
    "LineageResult",
    "NodeQuery",
    "Page",
    "RunStats",
    "StateStamp",
    "conditions",
    "contexts_of_nodes",
    "count_in_contexts",
    "count_nodes",
    "events_of",
    "execution_stamps",
    "lineage",
    "list_types",
    "nodes_by_id",
    "nodes_in_contexts",
    "page_nodes",
    "related_contexts",
    "run_state",
    "run_stats",
    "run_state_condition",
    "set_artifact_state",
    "set_custom_properties",
    "types_by_id",
]
