"""The metadata store: MLMD's operations over one database, each one transaction.

This is the one object every interface (MLMD gRPC, native gRPC, GraphQL, the embedded
SDK) goes through. It holds an engine and nothing else, so any number of server
replicas can share a database.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from lineage import model
from lineage.errors import (
    Aborted,
    AlreadyExists,
    InvalidArgument,
    NotFound,
    OutOfRange,
    Unavailable,
)
from lineage.store import edges, graph, nodes, paging, type_catalog, types
from lineage.store.data_version import data_version_of
from lineage.store.engine import driver_reason, is_sqlite, make_engine, read_only
from lineage.store.kinds import ARTIFACT, CONTEXT, EXECUTION, KINDS, NodeKind
from lineage.store.migrate import upgrade
from lineage.store.paging import ListOptions
from lineage.store.prepared import Prepared
from lineage.store.wal import WalCheckpointer

T = TypeVar("T")

log = logging.getLogger("lineage.store")

# The most hops a lineage walk takes, as MLMD's GetLineageSubgraph: the walk revisits
# nodes at every depth, so its cost grows with the hops asked for, however few nodes.
MAX_HOPS = 100


@dataclass
class ArtifactAndEvent:
    """One artifact of ``put_execution`` with the event linking it (either may be None)."""

    artifact: model.Artifact | None = None
    event: model.Event | None = None


@dataclass
class SubgraphOptions:
    """MLMD's ``LineageSubgraphQueryOptions``."""

    starting_artifacts: str | None = None  # a filter_query; "" selects all
    starting_executions: str | None = None
    max_num_hops: int = 20
    direction: int = graph.BIDIRECTIONAL
    ending_artifacts: str | None = None
    ending_executions: str | None = None
    include_ending_artifacts: bool = False
    include_ending_executions: bool = False


@dataclass
class GraphOptions:
    """MLMD's ``LineageGraphQueryOptions``."""

    artifacts_options: ListOptions | None = None
    max_num_hops: int | None = None
    boundary_artifacts: str | None = None
    boundary_executions: str | None = None
    max_node_size: int = 20


@dataclass
class EdgeMask:
    """Which parts of a lineage graph to return (MLMD's read mask)."""

    parts: set[str] = field(
        default_factory=lambda: {
            "artifacts",
            "executions",
            "contexts",
            "events",
            "attributions",
            "associations",
            "artifact_types",
            "execution_types",
            "context_types",
        }
    )


def _filter(kind: NodeKind, query: str | None) -> Any:
    if query is None or query.strip() == "":
        return None
    from lineage.query import compile_filter

    return compile_filter(kind.name, query)


class ReadView:
    """By-id reads on one connection, so that they see one snapshot (Store.read_view)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def node_rows_by_id(self, kind: str, ids: Sequence[int]) -> nodes.NodeRows:
        """The nodes with these ids that exist, as rows (ascending id), for callers that
        build their own objects from them."""
        return nodes.rows_by_ids(self._conn, KINDS[kind], ids)

    def types_by_id(self, kind: str, ids: Sequence[int]) -> list[Any]:
        return types.get_types_by_id(self._conn, KINDS[kind], ids)

    def node_rows_and_types_by_id(
        self, kind: str, ids: Sequence[int]
    ) -> tuple[nodes.NodeRows, list[Any]]:
        """The nodes with these ids, as rows, and their types (each once, by id)."""
        found = self.node_rows_by_id(kind, ids)
        return found, self.types_by_id(kind, sorted({int(r[1]) for r in found.rows}))


class Store:
    """MLMD's API over a SQLAlchemy engine."""

    def __init__(self, engine: Engine, *, migrate: bool = True) -> None:
        self.engine = engine
        self._reader = read_only(engine)
        # Declared properties by (kind, type id); see nodes.TypeCache for why sharing is safe.
        self.type_cache: dict[tuple[str, int], dict[str, int]] = {}
        self._checkpointer: WalCheckpointer | None = None
        self._data_version = data_version_of(engine)
        if migrate:
            upgrade(engine)

    @classmethod
    def open(cls, url: str, **engine_options: Any) -> Store:
        return cls(make_engine(url, **engine_options))

    def close(self) -> None:
        if self._data_version is not None:
            self._data_version.close()
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.engine.dispose()

    def checkpoint_in_background(self) -> None:
        """On SQLite, fold the write-ahead log into the database from a background
        thread rather than inside commits (for long-running servers; see wal.py)."""
        if self._checkpointer is None and is_sqlite(self.engine):
            self._checkpointer = WalCheckpointer(self.engine)
            self._checkpointer.start()

    def data_version(self) -> int | None:
        """A token that stays equal while nothing is committed to the database, by anyone;
        ``None`` where the backend cannot tell (PostgreSQL, MySQL): see data_version.py."""
        return self._data_version.token() if self._data_version is not None else None

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        self.read(lambda c: c.execute(select(1)).scalar())

    # --- transactions ------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def write(self, work: Callable[[Connection], T], retries: int = 5) -> T:
        """Run ``work`` in one transaction, retrying when the database asks to."""
        delay = 0.01
        for attempt in range(retries):
            try:
                with self.engine.begin() as conn:
                    try:
                        result = work(conn)
                    finally:
                        learned = conn.info.pop(nodes.PENDING_TYPES, None)
                        changed = conn.info.pop(type_catalog.CHANGED_IN_PLACE, False)
                if learned:
                    self.type_cache.update(learned)
                if changed:
                    type_catalog.forget(self.engine)
                return result
            except IntegrityError:
                raise AlreadyExists(
                    "a row with the same unique key was written concurrently"
                ) from None
            except OperationalError as exc:
                if not _retryable(exc) or attempt == retries - 1:
                    raise _db_error(exc) from None
                time.sleep(delay)
                delay *= 4
            except DBAPIError as exc:
                raise _db_error(exc) from None
        raise Aborted("transaction retried too many times")

    def read(self, work: Callable[[Connection], T]) -> T:
        try:
            with self._reader.connect() as conn:
                try:
                    return work(conn)
                finally:
                    conn.info.pop(nodes.PENDING_TYPES, None)
        except DBAPIError as exc:
            raise _db_error(exc) from None
        except RecursionError:  # compiling the SQL of a deeply nested filter_query
            raise InvalidArgument(_TOO_COMPLEX) from None

    def read_view(self, work: Callable[[ReadView], T]) -> T:
        """Run ``work`` with several by-id reads that share one read transaction."""
        return self.read(lambda c: work(ReadView(c)))

    # --- types -------------------------------------------------------------------

    def put_type(
        self,
        t: model.AnyType,
        *,
        can_add_fields: bool = False,
        can_omit_fields: bool = False,
    ) -> int:
        kind = _kind_of_type(t)
        return self.write(
            lambda c: types.put_type(
                c, kind, t, can_add_fields=can_add_fields, can_omit_fields=can_omit_fields
            )
        )

    def put_types(
        self,
        artifact_types: Sequence[model.ArtifactType] = (),
        execution_types: Sequence[model.ExecutionType] = (),
        context_types: Sequence[model.ContextType] = (),
        *,
        can_add_fields: bool = False,
        can_omit_fields: bool = False,
    ) -> tuple[list[int], list[int], list[int]]:
        def work(c: Connection) -> tuple[list[int], list[int], list[int]]:
            out: list[list[int]] = []
            for kind, given in (
                (ARTIFACT, artifact_types),
                (EXECUTION, execution_types),
                (CONTEXT, context_types),
            ):
                out.append(
                    [
                        types.put_type(
                            c,
                            kind,
                            t,
                            can_add_fields=can_add_fields,
                            can_omit_fields=can_omit_fields,
                        )
                        for t in given
                    ]
                )
            return out[0], out[1], out[2]

        return self.write(work)

    def get_type(self, kind: str, name: str, version: str | None = None) -> Any:
        return self.read(lambda c: types.get_type(c, KINDS[kind], name, version))

    def get_types(self, kind: str) -> list[Any]:
        return self.read(lambda c: types.get_types(c, KINDS[kind]))

    def get_types_by_id(self, kind: str, ids: Sequence[int]) -> list[Any]:
        return self.read(lambda c: types.get_types_by_id(c, KINDS[kind], ids))

    def get_types_by_external_ids(self, kind: str, external_ids: Sequence[str]) -> list[Any]:
        return self.read(lambda c: types.get_types_by_external_ids(c, KINDS[kind], external_ids))

    # --- nodes -------------------------------------------------------------------

    def put_nodes(
        self,
        kind: str,
        items: Sequence[Any],
        *,
        field_mask_paths: Sequence[str] = (),
        abort_if_latest_updated_time_changed: bool = False,
    ) -> list[int]:
        return self.write(
            lambda c: nodes.put_nodes(
                c,
                KINDS[kind],
                items,
                field_mask_paths=field_mask_paths,
                abort_if_latest_updated_time_changed=abort_if_latest_updated_time_changed,
                type_cache=self.type_cache,
            )
        )

    def get_nodes_by_id(self, kind: str, ids: Sequence[int]) -> list[Any]:
        return self.read(lambda c: nodes.load_by_ids(c, KINDS[kind], ids))

    def list_nodes(
        self,
        kind: str,
        options: ListOptions | None = None,
        *,
        type_name: str | None = None,
        type_version: str | None = None,
        context_id: int | None = None,
    ) -> tuple[list[Any], str | None]:
        """A page of nodes, optionally of one type or in one context; and the next token."""
        node_kind = KINDS[kind]
        options = options or ListOptions(max_result_size=paging.MAX_PAGE_SIZE)
        condition = _filter(node_kind, options.filter_query)

        def work(c: Connection) -> tuple[list[Any], str | None]:
            query = nodes.node_select(node_kind)
            if type_name is not None:
                type_ids = types.type_ids_named(c, node_kind, type_name, type_version)
                if not type_ids:
                    return [], None
                query = query.where(node_kind.table.c.type_id.in_(type_ids))
            if context_id is not None:
                query = query.where(
                    node_kind.table.c.id.in_(edges.node_ids_in_context_query(node_kind, context_id))
                )
            if condition is not None:
                query = query.where(condition)
            rows = list(c.execute(paging.page(query, node_kind.table, options)))
            rows, token = paging.next_token(options, rows)
            return nodes.build_nodes(c, node_kind, rows), token

        return self.read(work)

    def list_all(self, kind: str, options: ListOptions | None = None, **where: Any) -> list[Any]:
        """Every node matching, following page tokens."""
        options = options or ListOptions(max_result_size=paging.MAX_PAGE_SIZE)
        result: list[Any] = []
        while True:
            page, token = self.list_nodes(kind, options, **where)
            result.extend(page)
            if not token:
                return result
            options = ListOptions(
                max_result_size=options.max_result_size,
                order_by=options.order_by,
                is_asc=options.is_asc,
                next_page_token=token,
                filter_query=options.filter_query,
            )

    def get_node_by_type_and_name(
        self, kind: str, type_name: str, name: str, type_version: str | None = None
    ) -> Any | None:
        node_kind = KINDS[kind]
        if not type_name or not name:
            raise InvalidArgument("type_name and node name must both be given")

        def work(c: Connection) -> Any | None:
            type_ids = types.type_ids_named(c, node_kind, type_name, type_version)
            if not type_ids:
                return None
            rows = c.execute(
                nodes.node_select(node_kind).where(
                    node_kind.table.c.type_id.in_(type_ids), node_kind.table.c.name == name
                )
            ).all()
            built = nodes.build_nodes(c, node_kind, rows)
            return built[0] if built else None

        return self.read(work)

    def get_artifacts_by_uri(self, uris: Sequence[str]) -> list[model.Artifact]:
        return self.read(lambda c: nodes.load_where_in(c, ARTIFACT, "uri", uris))

    def get_nodes_by_external_ids(self, kind: str, external_ids: Sequence[str]) -> list[Any]:
        if any(not e for e in external_ids):
            raise InvalidArgument("external_ids must not be empty strings")
        return self.read(lambda c: nodes.load_where_in(c, KINDS[kind], "external_id", external_ids))

    # --- edges -------------------------------------------------------------------

    def put_events(self, events: Sequence[model.Event]) -> None:
        self.write(lambda c: edges.put_events(c, events))

    def get_events_by_execution_ids(self, ids: Sequence[int]) -> list[model.Event]:
        return self.read(lambda c: edges.events_by(c, "execution_id", ids))

    def get_events_by_artifact_ids(self, ids: Sequence[int]) -> list[model.Event]:
        return self.read(lambda c: edges.events_by(c, "artifact_id", ids))

    def put_attributions_and_associations(
        self,
        attributions: Sequence[model.Attribution],
        associations: Sequence[model.Association],
    ) -> None:
        self.write(lambda c: edges.put_attributions_and_associations(c, attributions, associations))

    def put_parent_contexts(self, links: Sequence[model.ParentContext]) -> None:
        self.write(lambda c: edges.put_parent_contexts(c, links))

    def get_contexts_by_node(self, kind: str, node_id: int) -> list[model.Context]:
        def work(c: Connection) -> list[model.Context]:
            ids = edges.context_ids_of(c, KINDS[kind], node_id)
            return nodes.load_by_ids(c, CONTEXT, ids)

        return self.read(work)

    def get_related_contexts(
        self, context_ids: Sequence[int], *, parents: bool
    ) -> dict[int, list[model.Context]]:
        def work(c: Connection) -> dict[int, list[model.Context]]:
            related = edges.related_context_ids(c, context_ids, parents)
            all_ids = {i for ids in related.values() for i in ids}
            by_id = {ctx.id: ctx for ctx in nodes.load_by_ids(c, CONTEXT, sorted(all_ids))}
            return {cid: [by_id[i] for i in ids if i in by_id] for cid, ids in related.items()}

        return self.read(work)

    # --- composite writes ----------------------------------------------------------

    def put_execution(
        self,
        execution: model.Execution,
        artifact_event_pairs: Sequence[ArtifactAndEvent] = (),
        contexts: Sequence[model.Context] = (),
        *,
        reuse_context_if_already_exist: bool = False,
        reuse_artifact_if_already_exist_by_external_id: bool = False,
    ) -> tuple[int, list[int], list[int]]:
        """An execution with its artifacts, events and contexts, all or nothing."""

        def work(c: Connection) -> tuple[int, list[int], list[int]]:
            return put_execution_in(
                c,
                execution,
                artifact_event_pairs,
                contexts,
                reuse_context_if_already_exist=reuse_context_if_already_exist,
                reuse_artifact_if_already_exist_by_external_id=reuse_artifact_if_already_exist_by_external_id,
                type_cache=self.type_cache,
            )

        return self.write(work)

    def put_lineage_subgraph(
        self,
        executions: Sequence[model.Execution],
        artifacts: Sequence[model.Artifact],
        contexts: Sequence[model.Context],
        event_edges: Sequence[tuple[int | None, int | None, model.Event]],
        *,
        reuse_context_if_already_exist: bool = False,
        reuse_artifact_if_already_exist_by_external_id: bool = False,
    ) -> tuple[list[int], list[int], list[int]]:
        """Nodes, contexts and events (by index into the given lists), all or nothing."""

        def work(c: Connection) -> tuple[list[int], list[int], list[int]]:
            now = nodes.now_ms()
            context_ids = _put_contexts_reusing(c, contexts, reuse_context_if_already_exist, now)
            artifact_ids = _put_artifacts_reusing(
                c, artifacts, reuse_artifact_if_already_exist_by_external_id, now
            )
            execution_ids = nodes.put_nodes(c, EXECUTION, executions, now=now)
            events = [
                model.Event(
                    execution_id=_edge_end(
                        "execution", execution_index, event.execution_id, execution_ids
                    ),
                    artifact_id=_edge_end(
                        "artifact", artifact_index, event.artifact_id, artifact_ids
                    ),
                    type=event.type,
                    path=event.path,
                    milliseconds_since_epoch=event.milliseconds_since_epoch,
                )
                for execution_index, artifact_index, event in event_edges
            ]
            # Nodes named by an event's own id (not an index) are checked to exist.
            edges.put_events(
                c,
                events,
                now=now,
                known_artifacts=set(artifact_ids),
                known_executions=set(execution_ids),
            )
            if context_ids:
                edges.put_attributions_and_associations(
                    c,
                    [model.Attribution(ci, ai) for ci in context_ids for ai in artifact_ids],
                    [model.Association(ci, ei) for ci in context_ids for ei in execution_ids],
                )
            return execution_ids, artifact_ids, context_ids

        return self.write(work)

    # --- lineage -----------------------------------------------------------------

    def get_lineage_subgraph(
        self, options: SubgraphOptions, mask: EdgeMask | None = None, *, details: bool = True
    ) -> model.LineageGraph:
        return self.get_lineage_subgraph_then(options, mask, details=details)[0]

    def get_lineage_subgraph_then(
        self,
        options: SubgraphOptions,
        mask: EdgeMask | None = None,
        *,
        details: bool = True,
        then: Callable[[ReadView, model.LineageGraph], T] | None = None,
    ) -> tuple[model.LineageGraph, T | None]:
        """The subgraph, and what ``then`` reads about it in the same read transaction
        (one snapshot, one connection). ``then`` failing costs only its own answer:
        ``None`` in its place, the failure logged."""
        if options.starting_artifacts is None and options.starting_executions is None:
            raise InvalidArgument("lineage subgraph: set starting_artifacts or starting_executions")
        if options.starting_artifacts is not None and options.starting_executions is not None:
            raise InvalidArgument(
                "lineage subgraph: set only one of starting_artifacts and starting_executions"
            )
        if options.max_num_hops < 0:
            raise InvalidArgument(f"max_num_hops must not be negative, got {options.max_num_hops}")
        if options.direction not in (graph.UPSTREAM, graph.DOWNSTREAM, graph.BIDIRECTIONAL):
            raise InvalidArgument(
                "lineage subgraph: direction must be UPSTREAM, DOWNSTREAM or BIDIRECTIONAL"
            )
        seed_ids = _plain_id_filter(options.starting_artifacts, options.starting_executions)
        spec = graph.Walk(
            start_artifacts=None
            if seed_ids
            else _start_filter(ARTIFACT, options.starting_artifacts),
            start_executions=None
            if seed_ids
            else _start_filter(EXECUTION, options.starting_executions),
            seed_ids=seed_ids,
            max_hops=min(options.max_num_hops, MAX_HOPS),
            direction=options.direction,
            stop_artifacts=_filter(ARTIFACT, options.ending_artifacts),
            stop_executions=_filter(EXECUTION, options.ending_executions),
        )

        def work(c: Connection) -> tuple[model.LineageGraph, T | None]:
            reached = graph.walk(c, spec)
            if not reached.artifacts and not reached.executions:
                raise NotFound("lineage subgraph: no node matches the starting filter_query")
            artifact_ids = set(reached.artifacts)
            execution_ids = set(reached.executions)
            # Ending nodes, starting ones included (as MLMD), only if asked for.
            if options.ending_artifacts and not options.include_ending_artifacts:
                artifact_ids -= reached.stopped_artifacts
            if options.ending_executions and not options.include_ending_executions:
                execution_ids -= reached.stopped_executions
            found = _assemble(
                c,
                artifact_ids,
                execution_ids,
                mask or EdgeMask(),
                details,
                keep_events=partial(
                    graph.walked_events,
                    reached=reached,
                    direction=options.direction,
                    max_hops=spec.max_hops,
                ),
            )
            if then is None:
                return found, None
            try:
                return found, then(ReadView(c), found)
            except Exception:
                log.warning("reading after the lineage subgraph failed", exc_info=True)
                return found, None

        return self.read(work)

    def get_lineage_graph(self, options: GraphOptions) -> model.LineageGraph:
        list_options = options.artifacts_options or ListOptions()
        paging.validate(list_options)
        hops = options.max_num_hops if options.max_num_hops is not None else 20
        if hops < 0:
            raise InvalidArgument(f"max_num_hops must not be negative, got {hops}")
        start = _filter(ARTIFACT, list_options.filter_query)
        spec = graph.Walk(
            start_artifacts=start if start is not None else ARTIFACT.table.c.id.is_not(None),
            max_hops=min(hops, MAX_HOPS),
            direction=graph.BIDIRECTIONAL,
            keep_artifacts=_filter(ARTIFACT, options.boundary_artifacts),
            keep_executions=_filter(EXECUTION, options.boundary_executions),
            start_limit=min(list_options.max_result_size, paging.MAX_PAGE_SIZE),
        )

        def work(c: Connection) -> model.LineageGraph:
            reached = graph.walk(c, spec)
            ranked = sorted(
                [(d, 0, i) for i, d in reached.artifacts.items()]
                + [(d, 1, i) for i, d in reached.executions.items()]
            )
            if options.max_node_size > 0:
                ranked = ranked[: options.max_node_size]
            artifact_ids = {i for _, k, i in ranked if k == 0}
            execution_ids = {i for _, k, i in ranked if k == 1}
            return _assemble(c, artifact_ids, execution_ids, EdgeMask())

        return self.read(work)


# --- helpers ---------------------------------------------------------------------------


def _edge_end(kind: str, index: int | None, given_id: int | None, written: Sequence[int]) -> int:
    """The node at one end of a ``put_lineage_subgraph`` event edge, as MLMD finds it:
    by its index into the call's nodes, else by the event's own id (a stored node)."""
    if index is None:
        if not given_id:
            raise InvalidArgument(
                f"event_edges: an edge needs {kind}_index or event.{kind}_id to name its {kind}"
            )
        return given_id
    if not 0 <= index < len(written):
        raise OutOfRange(f"event_edges: {kind}_index {index} is out of range")
    if given_id and given_id != written[index]:
        raise InvalidArgument(f"event_edges: event.{kind}_id does not match {kind}_index")
    return written[index]


def _kind_of_type(t: model.AnyType) -> NodeKind:
    for kind in KINDS.values():
        if isinstance(t, kind.type_class):
            return kind
    raise TypeError(f"not a type: {type(t).__name__}")


_PLAIN_ID = re.compile(r"\s*id\s*=\s*(\d{1,18})\s*")


def _plain_id_filter(
    artifacts: str | None, executions: str | None
) -> tuple[str, tuple[int, ...]] | None:
    """``id = N``, the most common start of a lineage question, as ids (fast path)."""
    for kind, text in (("artifact", artifacts), ("execution", executions)):
        if text is not None:
            match = _PLAIN_ID.fullmatch(text)
            return (kind, (int(match.group(1)),)) if match else None
    return None


def _start_filter(kind: NodeKind, query: str | None) -> Any:
    if query is None:
        return None
    condition = _filter(kind, query)
    return condition if condition is not None else kind.table.c.id.is_not(None)


def _retryable(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return any(
        word in text
        for word in (
            "database is locked",
            "deadlock",
            "could not serialize",
            "lock wait timeout",
            "busy",
        )
    )


# What the databases say when a statement is too deeply nested for their parser.
_TOO_COMPLEX_ERRORS = (
    "parser stack overflow",  # SQLite
    "expression tree is too large",  # SQLite
    "stack depth limit exceeded",  # PostgreSQL
    "thread stack overrun",  # MySQL
)
_TOO_COMPLEX = (
    "filter_query: the query is too complex for the database (too deeply nested or too "
    "many conditions); simplify it"
)


def _db_error(exc: DBAPIError) -> Exception:
    text = str(exc.orig).lower()
    if any(words in text for words in _TOO_COMPLEX_ERRORS):
        return InvalidArgument(_TOO_COMPLEX)
    if isinstance(exc, DataError):  # e.g. a name longer than its VARCHAR(255) column
        return InvalidArgument(
            f"a value does not fit its column in this database: {driver_reason(exc)}"
        )
    if exc.connection_invalidated or "connection" in text or "could not connect" in text:
        return Unavailable("the metadata database is unreachable; retry later")
    if _retryable(exc) if isinstance(exc, OperationalError) else False:
        return Aborted("the metadata database is busy; retry")
    return Aborted(f"database error ({type(exc.orig).__name__}); the write was rolled back")


def _put_contexts_reusing(
    c: Connection,
    contexts: Sequence[model.Context],
    reuse: bool,
    now: int,
    type_cache: dict[tuple[str, int], dict[str, int]] | None = None,
) -> list[int]:
    ids = []
    cache = nodes.TypeCache(c, CONTEXT, type_cache)
    for ctx in contexts:
        if not ctx.id and reuse and ctx.type_id and ctx.name:
            found = _context_named(c, ctx)
            if found is not None:
                ids.append(found)
                continue
        if ctx.id:
            ids.append(nodes.update_node(c, CONTEXT, ctx, cache, now))
        elif reuse and ctx.type_id and ctx.name:
            ids.append(_create_or_reuse_context(c, ctx, cache, now))
        else:
            ids.append(nodes.create_node(c, CONTEXT, ctx, cache, now))
    return ids


def _create_or_reuse_context(
    c: Connection, ctx: model.Context, cache: nodes.TypeCache, now: int
) -> int:
    """Create the context; if another writer just created it, use theirs."""
    return _create_unless_raced(c, CONTEXT, ctx, cache, now, lambda: _context_named(c, ctx))[0]


def _create_unless_raced(
    c: Connection,
    kind: NodeKind,
    node: Any,
    cache: nodes.TypeCache,
    now: int,
    find: Callable[[], int | None],
) -> tuple[int, bool]:
    """(id, created): the node created, or, when another writer just created the same
    one (its unique key taken), the id ``find`` gives of theirs. A savepoint keeps the
    failed insert from aborting the caller's transaction."""
    try:
        with c.begin_nested():
            return nodes.create_node(c, kind, node, cache, now), True
    except AlreadyExists:
        found = find()
        if found is None:
            raise
        return found, False


_CONTEXT_NAMED = Prepared(
    lambda _dialect, _size: select(CONTEXT.table.c.id).where(
        CONTEXT.table.c.type_id == bindparam("type_id"), CONTEXT.table.c.name == bindparam("name")
    )
)


def _context_named(c: Connection, ctx: model.Context) -> int | None:
    """The id of the context with this type and name, if there is one."""
    rows = _CONTEXT_NAMED.rows(c, {"type_id": ctx.type_id, "name": ctx.name})
    return int(rows[0][0]) if rows else None


def _artifact_with_external_id(c: Connection, external_id: str) -> int | None:
    row = c.execute(
        select(ARTIFACT.table.c.id).where(ARTIFACT.table.c.external_id == external_id)
    ).first()
    return int(row.id) if row is not None else None


def _put_artifacts_reusing(
    c: Connection,
    artifacts: Sequence[model.Artifact],
    reuse: bool,
    now: int,
    type_cache: dict[tuple[str, int], dict[str, int]] | None = None,
) -> list[int]:
    ids = []
    cache = nodes.TypeCache(c, ARTIFACT, type_cache)
    for art in artifacts:
        if not art.id and reuse and art.external_id:
            find = partial(_artifact_with_external_id, c, art.external_id)
            found = find()
            if found is None:  # another writer may be creating it right now: then theirs
                found, created = _create_unless_raced(c, ARTIFACT, art, cache, now, find)
                if created:
                    ids.append(found)
                    continue
            # As MLMD: the stored artifact takes the given one's fields (an upsert).
            art = replace(art, id=found)
        if art.id:
            ids.append(nodes.update_node(c, ARTIFACT, art, cache, now))
        else:
            ids.append(nodes.create_node(c, ARTIFACT, art, cache, now))
    return ids


def put_execution_in(
    c: Connection,
    execution: model.Execution,
    artifact_event_pairs: Sequence[ArtifactAndEvent],
    contexts: Sequence[model.Context],
    *,
    reuse_context_if_already_exist: bool = False,
    reuse_artifact_if_already_exist_by_external_id: bool = False,
    type_cache: dict[tuple[str, int], dict[str, int]] | None = None,
) -> tuple[int, list[int], list[int]]:
    now = nodes.now_ms()
    execution_types = nodes.TypeCache(c, EXECUTION, type_cache)
    if execution.id:
        execution_id = nodes.update_node(c, EXECUTION, execution, execution_types, now)
    else:
        execution_id = nodes.create_node(c, EXECUTION, execution, execution_types, now)
    artifacts = [pair.artifact for pair in artifact_event_pairs if pair.artifact is not None]
    written_ids = _put_artifacts_reusing(
        c, artifacts, reuse_artifact_if_already_exist_by_external_id, now, type_cache
    )
    put_ids = iter(written_ids)
    artifact_ids: list[int] = []
    events: list[model.Event] = []
    for pair in artifact_event_pairs:
        artifact_id = next(put_ids) if pair.artifact is not None else None
        if pair.event is not None:
            event = pair.event
            if artifact_id is None:
                artifact_id = event.artifact_id
            elif event.artifact_id and event.artifact_id != artifact_id:
                raise InvalidArgument(
                    f"artifact_event_pairs: event.artifact_id {event.artifact_id} does not match its artifact {artifact_id}"
                )
            if event.execution_id and event.execution_id != execution_id:
                raise InvalidArgument(
                    f"artifact_event_pairs: event.execution_id {event.execution_id} does not match the execution {execution_id}"
                )
            events.append(
                model.Event(
                    artifact_id=artifact_id,
                    execution_id=execution_id,
                    type=event.type,
                    path=event.path,
                    milliseconds_since_epoch=event.milliseconds_since_epoch,
                )
            )
        if artifact_id is None:
            raise InvalidArgument(
                "artifact_event_pairs: each pair needs an artifact or an event with artifact_id"
            )
        artifact_ids.append(artifact_id)
    context_ids = _put_contexts_reusing(
        c, contexts, reuse_context_if_already_exist, now, type_cache
    )
    # Only artifacts named by an event's artifact_id alone still need an existence check.
    written = set(written_ids)
    edges.put_events(c, events, now=now, known_artifacts=written, known_executions={execution_id})
    if context_ids:
        edges.put_attributions_and_associations(
            c,
            [model.Attribution(ci, ai) for ci in context_ids for ai in dict.fromkeys(artifact_ids)],
            [model.Association(ci, execution_id) for ci in context_ids],
            known=True,
        )
    return execution_id, artifact_ids, context_ids


def _assemble(
    c: Connection,
    artifact_ids: set[int],
    execution_ids: set[int],
    mask: EdgeMask,
    details: bool = True,
    keep_events: Callable[[list[Any]], list[Any]] | None = None,
) -> model.LineageGraph:
    """The graph of these nodes. Without ``details`` nodes carry only their ids and the
    type lists hold every type of their kind: the skeleton MLMD's server answers, which
    its client then fills in with *ByID calls."""
    result = model.LineageGraph()
    parts = mask.parts
    if details:
        arts = nodes.load_by_ids(c, ARTIFACT, sorted(artifact_ids))
        execs = nodes.load_by_ids(c, EXECUTION, sorted(execution_ids))
    else:
        arts = [model.Artifact(id=i) for i in sorted(artifact_ids)]
        execs = [model.Execution(id=i) for i in sorted(execution_ids)]
    if "artifacts" in parts:
        result.artifacts = arts
    if "executions" in parts:
        result.executions = execs
    if "events" in parts:
        rows = graph.events_between(c, artifact_ids, execution_ids)
        if keep_events is not None:
            rows = keep_events(rows)
        result.events = edges._build_events(c, rows)
    attributions = [
        model.Attribution(int(context_id), int(artifact_id))
        for _, context_id, artifact_id in edges.ATTRIBUTIONS_OF.chunked_rows(
            c, sorted(artifact_ids)
        )
    ]
    associations = [
        model.Association(int(context_id), int(execution_id))
        for _, context_id, execution_id in edges.ASSOCIATIONS_OF.chunked_rows(
            c, sorted(execution_ids)
        )
    ]
    context_ids = sorted(
        {a.context_id for a in attributions} | {a.context_id for a in associations}
    )
    if not details:
        ctxs = [model.Context(id=i) for i in context_ids]
    else:
        ctxs = nodes.load_by_ids(c, CONTEXT, context_ids) if context_ids else []
    if "contexts" in parts:
        result.contexts = ctxs
    if "attributions" in parts:
        result.attributions = attributions
    if "associations" in parts:
        result.associations = associations
    node_lists: list[tuple[str, NodeKind, Sequence[model.Node]]] = [
        ("artifact_types", ARTIFACT, arts),
        ("execution_types", EXECUTION, execs),
        ("context_types", CONTEXT, ctxs),
    ]
    for key, kind, items in node_lists:
        if key not in parts:
            continue
        if details:
            type_ids = sorted({n.type_id for n in items if n.type_id is not None})
            found = types.get_types_by_id(c, kind, type_ids)
        else:
            found = types.get_types(c, kind, include_simple=True)
        setattr(result, key, found)
    return result
