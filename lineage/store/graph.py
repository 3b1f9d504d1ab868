"""Lineage traversal as one recursive query over ``Event``.

Nodes of the walk share one integer space: an artifact is its id, an execution the
negative of its id. Each step joins ``Event`` twice (once on ``artifact_id`` for artifact
rows, once on ``execution_id`` for execution rows, both indexed), so the work done is
proportional to the edges walked, never to the size of the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)

from lineage import model
from lineage.store.prepared import MAX_ITEMS, Prepared, items_in
from lineage.store.schema import artifact_table, event_table, execution_table

UPSTREAM = 1
DOWNSTREAM = 2
BIDIRECTIONAL = 3

_INPUTS = [int(t) for t in model.INPUT_EVENT_TYPES]
_OUTPUTS = [int(t) for t in model.OUTPUT_EVENT_TYPES]


@dataclass
class Walk:
    """Where to start and when to stop."""

    start_artifacts: ColumnElement[bool] | None = None  # filter on artifact_table
    start_executions: ColumnElement[bool] | None = None  # filter on execution_table
    max_hops: int = 20
    direction: int = BIDIRECTIONAL
    # Nodes matching these are reached but not walked through.
    stop_artifacts: ColumnElement[bool] | None = None
    stop_executions: ColumnElement[bool] | None = None
    # Nodes not matching these are neither reached nor walked through.
    keep_artifacts: ColumnElement[bool] | None = None
    keep_executions: ColumnElement[bool] | None = None
    start_limit: int | None = None
    # Instead of a start filter: ("artifact" | "execution", ids).
    seed_ids: tuple[str, tuple[int, ...]] | None = None

    def is_plain(self) -> bool:
        return all(
            f is None
            for f in (
                self.start_artifacts,
                self.start_executions,
                self.stop_artifacts,
                self.stop_executions,
                self.keep_artifacts,
                self.keep_executions,
                self.start_limit,
            )
        )


@dataclass
class Reached:
    """Node ids with the hop count at which each was first reached."""

    artifacts: dict[int, int] = field(default_factory=dict)
    executions: dict[int, int] = field(default_factory=dict)
    stopped_artifacts: set[int] = field(default_factory=set)
    stopped_executions: set[int] = field(default_factory=set)


def _matches(
    table: Any, node_id: Any, condition: ColumnElement[bool] | None
) -> ColumnElement[bool]:
    if condition is None:
        return true()
    return exists(
        select(literal(1)).where(table.c.id == node_id, condition).correlate_except(table)
    )


def _seed_matches(table: Any, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Whether a row of ``table`` itself satisfies a filter: the filter runs on an
    uncorrelated copy (an EXISTS on the same table would see only its own rows)."""
    return table.c.id.in_(select(table.c.id).where(condition).correlate(None))


def walk(conn: Connection, spec: Walk) -> Reached:
    if spec.seed_ids is not None and spec.is_plain() and len(spec.seed_ids[1]) <= MAX_ITEMS:
        # The most common walk (from given node ids, no filters): one statement built
        # once per direction, with the ids and hop limit bound at execution.
        kind, ids = spec.seed_ids
        statement = _PLAIN[(spec.direction, kind)]
        return _reached(statement.rows(conn, {"hops": spec.max_hops}, list(ids)))
    if spec.seed_ids is not None:
        # Seeds with filters on the way (or very many): a start condition on the ids.
        kind, ids = spec.seed_ids
        table = artifact_table if kind == "artifact" else execution_table
        condition = table.c.id.in_(list(ids))
        spec = replace(
            spec,
            seed_ids=None,
            start_artifacts=condition if kind == "artifact" else None,
            start_executions=condition if kind == "execution" else None,
        )
    statement = _statement(spec)
    if statement is None:
        return Reached()
    return _reached(conn.execute(statement, {"hops": spec.max_hops}))


def _plain_statement(direction: int, kind: str, _dialect: str, size: int) -> Any:
    seeds = artifact_table.c.id if kind == "artifact" else execution_table.c.id
    spec = Walk(direction=direction)
    if kind == "artifact":
        spec.start_artifacts = items_in(seeds, size)
    else:
        spec.start_executions = items_in(seeds, size)
    return _statement(spec)


_PLAIN = {
    (direction, kind): Prepared(partial(_plain_statement, direction, kind))
    for direction in (UPSTREAM, DOWNSTREAM, BIDIRECTIONAL)
    for kind in ("artifact", "execution")
}


def _reached(rows: Any) -> Reached:
    reached = Reached()
    for node, depth, expand in rows:
        node = int(node)
        if node > 0:
            reached.artifacts[node] = int(depth)
            if not expand:
                reached.stopped_artifacts.add(node)
        else:
            reached.executions[-node] = int(depth)
            if not expand:
                reached.stopped_executions.add(-node)
    return reached


def _statement(spec: Walk) -> Any:
    seeds = []
    if spec.start_artifacts is not None:
        start = select(
            cast(artifact_table.c.id, BigInteger).label("node"),
            literal(0, Integer).label("depth"),
            case((_seed_matches(artifact_table, spec.stop_artifacts), 0), else_=1)
            if spec.stop_artifacts is not None
            else literal(1, Integer),
        ).where(spec.start_artifacts)
        if spec.start_limit:
            start = select(start.order_by(artifact_table.c.id).limit(spec.start_limit).subquery())
        seeds.append(start)
    if spec.start_executions is not None:
        start = select(
            cast(-execution_table.c.id, BigInteger).label("node"),
            literal(0, Integer).label("depth"),
            case((_seed_matches(execution_table, spec.stop_executions), 0), else_=1)
            if spec.stop_executions is not None
            else literal(1, Integer),
        ).where(spec.start_executions)
        if spec.start_limit:
            start = select(
                start.order_by(execution_table.c.id.desc()).limit(spec.start_limit).subquery()
            )
        seeds.append(start)
    if not seeds:
        return None
    base = seeds[0] if len(seeds) == 1 else seeds[0].union_all(*seeds[1:])
    tree = base.cte("walk", recursive=True)
    tree_node, tree_depth, tree_expand = tree.c[0], tree.c[1], tree.c[2]

    from_artifact = event_table.alias("ea")  # events of an artifact row: to executions
    from_execution = event_table.alias("ee")  # events of an execution row: to artifacts
    a_types, e_types = _event_types(spec.direction)
    join_a = and_(from_artifact.c.artifact_id == tree_node)
    if a_types is not None:
        join_a = and_(join_a, from_artifact.c.type.in_([literal(t) for t in a_types]))
    join_e = and_(from_execution.c.execution_id == -tree_node)
    if e_types is not None:
        join_e = and_(join_e, from_execution.c.type.in_([literal(t) for t in e_types]))

    next_execution = from_artifact.c.execution_id
    next_artifact = from_execution.c.artifact_id
    next_node = func.coalesce(-next_execution, next_artifact)
    keep = or_(
        and_(tree_node > 0, _matches(execution_table, next_execution, spec.keep_executions)),
        and_(tree_node < 0, _matches(artifact_table, next_artifact, spec.keep_artifacts)),
    )
    stop = or_(
        and_(tree_node > 0, _matches(execution_table, next_execution, spec.stop_executions))
        if spec.stop_executions is not None
        else false(),
        and_(tree_node < 0, _matches(artifact_table, next_artifact, spec.stop_artifacts))
        if spec.stop_artifacts is not None
        else false(),
    )
    step = (
        select(
            cast(next_node, BigInteger),
            cast(tree_depth + 1, Integer),
            case((stop, 0), else_=1),
        )
        .select_from(tree.outerjoin(from_artifact, join_a).outerjoin(from_execution, join_e))
        .where(
            tree_depth < bindparam("hops"),
            tree_expand == 1,
            next_node.is_not(None),
        )
    )
    if spec.keep_artifacts is not None or spec.keep_executions is not None:
        step = step.where(keep)
    tree = tree.union(step)
    return select(tree.c[0], func.min(tree.c[1]), func.min(tree.c[2])).group_by(tree.c[0])


def _event_types(direction: int) -> tuple[list[int] | None, list[int] | None]:
    """Event types to follow from an artifact row and from an execution row."""
    if direction == UPSTREAM:
        # artifact <- produced by execution <- consumed artifacts
        return _OUTPUTS, _INPUTS
    if direction == DOWNSTREAM:
        return _INPUTS, _OUTPUTS
    return None, None


def events_between(conn: Connection, artifact_ids: set[int], execution_ids: set[int]) -> list[Any]:
    """Event rows (id, artifact_id, execution_id, type, milliseconds) whose two ends are
    both in the given sets, by id."""
    from lineage.store.edges import EVENTS_BY

    if not artifact_ids or not execution_ids:
        return []
    by_artifacts = len(artifact_ids) <= len(execution_ids)
    column = "artifact_id" if by_artifacts else "execution_id"
    rows = [
        row
        for row in EVENTS_BY[column].chunked_rows(
            conn, sorted(artifact_ids if by_artifacts else execution_ids)
        )
        if int(row[1]) in artifact_ids and int(row[2]) in execution_ids
    ]
    rows.sort(key=lambda r: r[0])
    return rows


def walked_events(rows: list[Any], reached: Reached, direction: int, max_hops: int) -> list[Any]:
    """Of ``rows`` (events between nodes of the answer), those MLMD's breadth-first walk
    adds: an event counts when a node it may be walked from in ``direction`` was
    expanded (reached before the last hop, not an ending node) and the other end was
    then new, an ending node kept in the answer, or (walking one way only) reached
    already. So a directional answer holds no edge pointing the other way, even between
    two of its nodes, and a starting node that is an ending node is never walked from."""
    from_artifact, from_execution = _event_types(direction)
    directional = direction != BIDIRECTIONAL

    def counts(depth: int, other_depth: int, other_stopped: bool) -> bool:
        return other_stopped or other_depth == depth + 1 or (directional and other_depth <= depth)

    kept = []
    for row in rows:
        artifact, execution, kind = int(row[1]), int(row[2]), int(row[3])
        a_depth, e_depth = reached.artifacts[artifact], reached.executions[execution]
        a_stopped = artifact in reached.stopped_artifacts
        e_stopped = execution in reached.stopped_executions
        if (
            (from_artifact is None or kind in from_artifact)
            and not a_stopped
            and a_depth < max_hops
            and counts(a_depth, e_depth, e_stopped)
        ) or (
            (from_execution is None or kind in from_execution)
            and not e_stopped
            and e_depth < max_hops
            and counts(e_depth, a_depth, a_stopped)
        ):
            kept.append(row)
    return kept
