"""The Query root: lists (Relay connections), nodes by id, pipeline runs, run metrics
and comparisons, lineage."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import anyio.to_thread
import strawberry
from strawberry.types import Info

from lineage import model
from lineage.errors import InvalidArgument, NotFound
from lineage.server.graphql.ids import from_global_id, parse_id
from lineage.server.graphql.loaders import Loaders
from lineage.server.graphql.results import (
    LineageDirection,
    LineageEdge,
    LineageGraph,
    LineageNode,
    LineageStart,
    Order,
    RunComparison,
    RunMetricsRow,
    RunMetricsTable,
    TimeRange,
    compared,
    lineage_edge,
    metric_columns,
    time_bounds,
)
from lineage.server.graphql.types import (
    Artifact,
    ArtifactState,
    ArtifactType,
    Connection,
    Context,
    ContextType,
    Edge,
    Execution,
    ExecutionState,
    ExecutionType,
    Node,
    NodeType,
    OrderDirection,
    OrderField,
    PageInfo,
    PipelineRun,
    RunState,
    TypeKind,
    run_parameters,
    scalar_metrics,
)
from lineage.store import dashboard, graph
from lineage.store.kinds import ARTIFACT, CONTEXT, EXECUTION, KINDS, NodeKind

MAX_IDS = 100
MAX_RUNS = 100
MAX_LIST_ARGUMENT = 100
MAX_LINEAGE_DEPTH = 10
MAX_LINEAGE_NODES = 5000
MAX_FILTER_LENGTH = 10_000

FILTER_HELP = (
    "MLMD's filter_query language, e.g. \"type = 'system.Model' AND "
    'custom_properties.accuracy.double_value > 0.9"'
)


def loaders_of(info: Info) -> Loaders:
    return info.context.loaders  # type: ignore[no-any-return]


def _check_list(
    values: Sequence[Any] | None, name: str, limit: int = MAX_LIST_ARGUMENT
) -> list[Any]:
    values = list(values or ())
    if len(values) > limit:
        raise InvalidArgument(f"{name}: at most {limit} values, got {len(values)}")
    return values


def _check_filter(text: str | None) -> str | None:
    if text is not None and len(text) > MAX_FILTER_LENGTH:
        raise InvalidArgument(f"filter: at most {MAX_FILTER_LENGTH} characters")
    return text


def node_query(
    *,
    filter_text: str | None,
    types: list[str] | None,
    states: Sequence[Any] | None = None,
    created: TimeRange | None,
    updated: TimeRange | None,
    labels: list[str] | None,
    context_id: int | None = None,
) -> dashboard.NodeQuery:
    created_after, created_before = time_bounds(created, "created")
    updated_after, updated_before = time_bounds(updated, "updated")
    return dashboard.NodeQuery(
        filter_query=_check_filter(filter_text),
        type_names=_check_list(types, "types"),
        states=[s.value for s in _check_list(states, "states")],
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
        updated_before=updated_before,
        context_id=context_id,
        labels=_check_list(labels, "labels"),
    )


async def connection(
    loaders: Loaders,
    kind: NodeKind,
    query: dashboard.NodeQuery,
    order: Order | None,
    wrap: Callable[[Any], Any],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    default_order: Order | None = None,
) -> Any:
    order = order or default_order or Order()
    page = await loaders.read(
        dashboard.page_nodes,
        kind,
        query,
        order_by=order.field.value,
        ascending=order.direction == OrderDirection.ASC,
        first=first,
        after=after,
        last=last,
        before=before,
    )
    loaders.prime(kind, page.nodes)
    items = [wrap(n) for n in page.nodes]

    async def count() -> int:
        return await loaders.read(dashboard.count_nodes, kind, query)

    return Connection(
        edges=[Edge(cursor=c, node=i) for c, i in zip(page.cursors, items, strict=True)],
        nodes=items,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        count=count,
    )


async def resolve_node(loaders: Loaders, global_id: str) -> Node | None:
    typename, mlmd_id = from_global_id(global_id)
    if typename == "Artifact":
        artifact = await loaders.artifact.load(mlmd_id)
        return Artifact.of(artifact, loaders) if artifact else None
    if typename == "Execution":
        execution = await loaders.execution.load(mlmd_id)
        return Execution.of(execution, loaders) if execution else None
    if typename in ("Context", "PipelineRun"):
        context = await loaders.context.load(mlmd_id)
        if context is None:
            return None
        if typename == "Context":
            return Context.of(context, loaders)
        return (
            PipelineRun.of(context, loaders)
            if context.type == dashboard.PIPELINE_RUN_TYPE
            else None
        )
    if typename == "ArtifactType":
        found = await loaders.artifact_type.load(mlmd_id)
        return ArtifactType.of(found) if found else None
    if typename == "ExecutionType":
        found = await loaders.execution_type.load(mlmd_id)
        return ExecutionType.of(found) if found else None
    found = await loaders.context_type.load(mlmd_id)
    return ContextType.of(found) if found else None


async def load_runs(loaders: Loaders, run_ids: Sequence[str]) -> list[model.Context]:
    """The pipeline runs named (global PipelineRun/Context ids or bare MLMD ids), in order."""
    if not run_ids:
        raise InvalidArgument("runIds: give at least one run")
    _check_list(run_ids, "runIds", MAX_RUNS)
    ids = [parse_id(r, ("PipelineRun", "Context"), what="runIds")[1] for r in run_ids]
    found = await loaders.context.load_many(ids)
    runs = []
    for given, context in zip(run_ids, found, strict=True):
        if context is None:
            raise NotFound(f"runIds: no pipeline run {given!r}")
        if context.type != dashboard.PIPELINE_RUN_TYPE:
            raise InvalidArgument(
                f"runIds: {given!r} is a {context.type} context, not a {dashboard.PIPELINE_RUN_TYPE}"
            )
        runs.append(context)
    return runs


def _context_id(value: strawberry.ID | None) -> int | None:
    if value is None:
        return None
    return parse_id(value, ("Context", "PipelineRun"), what="contextId")[1]


_DIRECTIONS = {
    LineageDirection.UPSTREAM: graph.UPSTREAM,
    LineageDirection.DOWNSTREAM: graph.DOWNSTREAM,
    LineageDirection.BOTH: graph.BIDIRECTIONAL,
}

_LIST_ARGS = (
    "filter: {filter}. types: type names (system.Model, ...). created / updated: time "
    "ranges. labels: nodes with all these labels. orderBy: default ID ascending. "
    "first/after or last/before: Relay paging, at most 100 a page (default 20)."
)


@strawberry.type
class Query:
    @strawberry.field(description="Any node by its global id; null if it does not exist.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(loaders_of(info), id)

    @strawberry.field(description="Nodes by global id, in order (null where none); at most 100.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        _check_list(ids, "ids", MAX_IDS)
        loaders = loaders_of(info)
        return list(await asyncio.gather(*(resolve_node(loaders, i) for i in ids)))

    @strawberry.field(
        description="Artifacts. "
        + _LIST_ARGS.format(filter=FILTER_HELP)
        + " states: artifact states. contextId: artifacts of one context."
    )
    async def artifacts(
        self,
        info: Info,
        filter: str | None = None,
        types: list[str] | None = None,
        states: list[ArtifactState] | None = None,
        created: TimeRange | None = None,
        updated: TimeRange | None = None,
        context_id: strawberry.ID | None = None,
        labels: list[str] | None = None,
        order_by: Order | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Artifact]:
        return await _node_connection(
            info,
            ARTIFACT,
            Artifact,
            filter,
            types,
            states,
            created,
            updated,
            labels,
            _context_id(context_id),
            order_by,
            first,
            after,
            last,
            before,
        )

    @strawberry.field(
        description="Executions. "
        + _LIST_ARGS.format(filter=FILTER_HELP)
        + " states: execution states. contextId: executions of one context."
    )
    async def executions(
        self,
        info: Info,
        filter: str | None = None,
        types: list[str] | None = None,
        states: list[ExecutionState] | None = None,
        created: TimeRange | None = None,
        updated: TimeRange | None = None,
        context_id: strawberry.ID | None = None,
        labels: list[str] | None = None,
        order_by: Order | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Execution]:
        return await _node_connection(
            info,
            EXECUTION,
            Execution,
            filter,
            types,
            states,
            created,
            updated,
            labels,
            _context_id(context_id),
            order_by,
            first,
            after,
            last,
            before,
        )

    @strawberry.field(description="Contexts. " + _LIST_ARGS.format(filter=FILTER_HELP))
    async def contexts(
        self,
        info: Info,
        filter: str | None = None,
        types: list[str] | None = None,
        created: TimeRange | None = None,
        updated: TimeRange | None = None,
        labels: list[str] | None = None,
        order_by: Order | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Context]:
        return await _node_connection(
            info,
            CONTEXT,
            Context,
            filter,
            types,
            None,
            created,
            updated,
            labels,
            None,
            order_by,
            first,
            after,
            last,
            before,
        )

    @strawberry.field(
        description="Artifact, execution and context types (MLMD's seeded simple types left "
        "out), by id; of one kind and/or with one name."
    )
    async def types(
        self, info: Info, kind: TypeKind | None = None, name: str | None = None
    ) -> list[NodeType]:
        kinds = [KINDS[kind.value]] if kind is not None else [ARTIFACT, EXECUTION, CONTEXT]
        found = await loaders_of(info).read(dashboard.list_types, kinds, name)
        out: list[NodeType] = []
        for t in found:
            if isinstance(t, model.ArtifactType):
                out.append(ArtifactType.of(t))
            elif isinstance(t, model.ExecutionType):
                out.append(ExecutionType.of(t))
            else:
                out.append(ContextType.of(t))
        return out

    @strawberry.field(
        description="Pipeline runs (system.PipelineRun contexts), newest first by default. "
        + _LIST_ARGS.format(filter=FILTER_HELP + " (on the run's context)")
        + " pipeline: runs of the system.Pipeline context with this name. states: derived "
        "run states."
    )
    async def pipeline_runs(
        self,
        info: Info,
        filter: str | None = None,
        pipeline: str | None = None,
        states: list[RunState] | None = None,
        created: TimeRange | None = None,
        updated: TimeRange | None = None,
        labels: list[str] | None = None,
        order_by: Order | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PipelineRun]:
        loaders = loaders_of(info)
        query = node_query(
            filter_text=filter,
            types=[dashboard.PIPELINE_RUN_TYPE],
            created=created,
            updated=updated,
            labels=labels,
        )
        query.run_states = [s.value for s in _check_list(states, "states")]
        if pipeline is not None:
            query.parent_name = pipeline
            query.parent_type = dashboard.PIPELINE_TYPE
        return await connection(
            loaders,
            CONTEXT,
            query,
            order_by,
            lambda c: PipelineRun.of(c, loaders),
            first=first,
            after=after,
            last=last,
            before=before,
            default_order=Order(field=OrderField.CREATE_TIME, direction=OrderDirection.DESC),
        )

    @strawberry.field(
        description="One pipeline run by id (PipelineRun, Context or MLMD id) or by name."
    )
    async def pipeline_run(
        self, info: Info, id: strawberry.ID | None = None, name: str | None = None
    ) -> PipelineRun | None:
        loaders = loaders_of(info)
        if (id is None) == (name is None):
            raise InvalidArgument("pipelineRun: give id or name")
        if id is not None:
            context = await loaders.context.load(parse_id(id, ("PipelineRun", "Context"))[1])
        else:
            context = await anyio.to_thread.run_sync(
                lambda: loaders.store.get_node_by_type_and_name(
                    "context", dashboard.PIPELINE_RUN_TYPE, str(name)
                )
            )
        if context is None or context.type != dashboard.PIPELINE_RUN_TYPE:
            return None
        return PipelineRun.of(context, loaders)

    @strawberry.field(
        description="The scalar metrics of many runs (their system.Metrics artifacts' numeric "
        "custom properties, KFP's layout) flattened into a table; at most 100 runs."
    )
    async def run_metrics(self, info: Info, run_ids: list[strawberry.ID]) -> RunMetricsTable:
        loaders = loaders_of(info)
        runs = await load_runs(loaders, run_ids)
        artifacts = await loaders.run_metrics_artifacts.load_many([int(r.id or 0) for r in runs])
        per_run = [[m for a in found for m in scalar_metrics(a, loaders)] for found in artifacts]
        columns, values = metric_columns(per_run)
        rows = [
            RunMetricsRow(
                run=PipelineRun.of(run, loaders),
                values=[row.get(c) for c in columns],
                metrics=metrics,
            )
            for run, row, metrics in zip(runs, values, per_run, strict=True)
        ]
        return RunMetricsTable(columns=columns, rows=rows)

    @strawberry.field(
        description="Runs side by side: a row per parameter and per metric, a value per "
        "run; at most 100 runs."
    )
    async def compare_runs(self, info: Info, run_ids: list[strawberry.ID]) -> RunComparison:
        loaders = loaders_of(info)
        runs = await load_runs(loaders, run_ids)
        ids = [int(r.id or 0) for r in runs]
        steps = await loaders.run_steps.load_many(ids)
        artifacts = await loaders.run_metrics_artifacts.load_many(ids)
        parameters = [{p.name: p.value for p in run_parameters(s, loaders)} for s in steps]
        parameter_names = sorted({n for row in parameters for n in row})
        per_run = [[m for a in found for m in scalar_metrics(a, loaders)] for found in artifacts]
        metric_names, metric_rows = metric_columns(per_run)
        return RunComparison(
            runs=[PipelineRun.of(r, loaders) for r in runs],
            parameters=compared(parameter_names, parameters),
            metrics=compared(metric_names, metric_rows),  # type: ignore[arg-type]
        )

    @strawberry.field(
        description="The lineage of an artifact or execution: the nodes within depth hops "
        "(at most 10) upstream, downstream or both, with the events between them; the "
        "nearest maxNodes (at most 5000) when more are in reach."
    )
    async def lineage(
        self,
        info: Info,
        from_: Annotated[LineageStart, strawberry.argument(name="from")],
        direction: LineageDirection = LineageDirection.BOTH,
        depth: int = 3,
        max_nodes: int = 500,
    ) -> LineageGraph:
        loaders = loaders_of(info)
        if not 0 <= depth <= MAX_LINEAGE_DEPTH:
            raise InvalidArgument(f"depth must be between 0 and {MAX_LINEAGE_DEPTH}, got {depth}")
        if not 1 <= max_nodes <= MAX_LINEAGE_NODES:
            raise InvalidArgument(
                f"maxNodes must be between 1 and {MAX_LINEAGE_NODES}, got {max_nodes}"
            )
        if (from_.artifact_id is None) == (from_.execution_id is None):
            raise InvalidArgument("from: give exactly one of artifactId and executionId")
        artifact_id = execution_id = None
        if from_.artifact_id is not None:
            artifact_id = parse_id(from_.artifact_id, ("Artifact",), what="from.artifactId")[1]
        else:
            execution_id = parse_id(
                str(from_.execution_id), ("Execution",), what="from.executionId"
            )[1]
        result = await loaders.read(
            dashboard.lineage,
            artifact_id=artifact_id,
            execution_id=execution_id,
            direction=_DIRECTIONS[direction],
            depth=depth,
            max_nodes=max_nodes,
        )
        loaders.prime(ARTIFACT, result.artifacts)
        loaders.prime(EXECUTION, result.executions)
        artifacts = [Artifact.of(a, loaders) for a in result.artifacts]
        executions = [Execution.of(x, loaders) for x in result.executions]
        nodes = [
            LineageNode(hops=result.artifact_hops[int(a.m.id)], artifact=a, execution=None)
            for a in artifacts
        ] + [
            LineageNode(hops=result.execution_hops[int(x.m.id)], artifact=None, execution=x)
            for x in executions
        ]
        nodes.sort(
            key=lambda n: (
                n.hops,
                n.artifact is None,
                int((n.artifact or n.execution).m.id),  # type: ignore[union-attr]
            )
        )
        edges: list[LineageEdge] = [lineage_edge(e) for e in result.events]
        return LineageGraph(
            nodes=nodes,
            edges=edges,
            artifacts=artifacts,
            executions=executions,
            truncated=result.truncated,
        )


async def _node_connection(
    info: Info,
    kind: Any,
    node_class: Any,
    filter_text: str | None,
    types: list[str] | None,
    states: list[Any] | None,
    created: TimeRange | None,
    updated: TimeRange | None,
    labels: list[str] | None,
    context_id: int | None,
    order_by: Order | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Any:
    """One page of artifacts, executions or contexts: the body all three lists share."""
    loaders = loaders_of(info)
    query = node_query(
        filter_text=filter_text,
        types=types,
        states=states,
        created=created,
        updated=updated,
        labels=labels,
        context_id=context_id,
    )
    return await connection(
        loaders,
        kind,
        query,
        order_by,
        lambda n: node_class.of(n, loaders),
        first=first,
        after=after,
        last=last,
        before=before,
    )
