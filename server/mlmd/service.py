"""MLMD's ``MetadataStoreService`` over the core store: every RPC of the service.

Each handler converts the request to the core's dataclasses, calls the store through
the per-request handle (never a global: tenancy will pick a database per caller) and
converts back. Core errors become MLMD's status codes, so the MLMD client raises the
same ``ml_metadata.errors`` exception MLMD's own store raises.
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import grpc
from ml_metadata.proto import metadata_store_pb2 as pb
from ml_metadata.proto import metadata_store_service_pb2 as svc
from ml_metadata.proto import metadata_store_service_pb2_grpc as svc_grpc

from lineage import model
from lineage.errors import InvalidArgument, NotFound, Unimplemented
from lineage.server.grpc_status import guarded
from lineage.server.mlmd import convert as cv
from lineage.server.mlmd import follow_ups
from lineage.store.nodes import NodeRows
from lineage.store.paging import ListOptions
from lineage.store.store import (
    MAX_HOPS,
    ArtifactAndEvent,
    EdgeMask,
    GraphOptions,
    ReadView,
    Store,
    SubgraphOptions,
)

log = logging.getLogger("lineage.server.mlmd")


StoreFor = Callable[[grpc.ServicerContext], Store]


def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """A handler written against the request's store, guarded (see grpc_status.guarded)."""

    @guarded(log)
    @functools.wraps(method)
    def handler(self: MetadataStoreService, request: Any, context: grpc.ServicerContext) -> Any:
        return method(self, request, self.store_for(context))

    return handler


def list_options(request: Any) -> ListOptions | None:
    if not request.HasField("options"):
        return None
    return list_options_from_pb(request.options)


def list_options_from_pb(o: pb.ListOperationOptions) -> ListOptions:
    field = (
        o.order_by_field.field
        if o.HasField("order_by_field")
        else pb.ListOperationOptions.OrderByField.ID
    )
    names = {
        pb.ListOperationOptions.OrderByField.CREATE_TIME: "CREATE_TIME",
        pb.ListOperationOptions.OrderByField.LAST_UPDATE_TIME: "LAST_UPDATE_TIME",
        pb.ListOperationOptions.OrderByField.ID: "ID",
    }
    if field not in names:
        raise InvalidArgument(
            f"order_by_field.field {field} is not one of CREATE_TIME, LAST_UPDATE_TIME, ID"
        )
    if o.filter_query and not o.filter_query.strip():
        raise InvalidArgument("filter_query is blank: leave it unset to list everything")
    return ListOptions(
        max_result_size=o.max_result_size,
        order_by=names[field],
        is_asc=o.order_by_field.is_asc,
        next_page_token=cv.text("next_page_token", o.next_page_token) or None,
        filter_query=cv.text("filter_query", o.filter_query)
        if o.HasField("filter_query")
        else None,
    )


def _type_flags(request: Any) -> dict[str, bool]:
    if not request.all_fields_match:
        raise Unimplemented("all_fields_match = false is not supported (nor by MLMD)")
    return {"can_add_fields": request.can_add_fields, "can_omit_fields": request.can_omit_fields}


def _version(request: Any) -> str | None:
    return (
        request.type_version if request.HasField("type_version") and request.type_version else None
    )


class MetadataStoreService(svc_grpc.MetadataStoreServiceServicer):
    def __init__(self, store_for: StoreFor) -> None:
        self.store_for = store_for
        # Per store: data versions of two databases say nothing about each other.
        self._follow_ups: weakref.WeakKeyDictionary[Store, follow_ups.FollowUps] = (
            weakref.WeakKeyDictionary()
        )

    # --- types -------------------------------------------------------------------

    @rpc
    def PutArtifactType(self, request: Any, store: Store) -> Any:
        t = cv.type_from_pb(request.artifact_type, model.ArtifactType)
        return svc.PutArtifactTypeResponse(type_id=store.put_type(t, **_type_flags(request)))

    @rpc
    def PutExecutionType(self, request: Any, store: Store) -> Any:
        t = cv.type_from_pb(request.execution_type, model.ExecutionType)
        return svc.PutExecutionTypeResponse(type_id=store.put_type(t, **_type_flags(request)))

    @rpc
    def PutContextType(self, request: Any, store: Store) -> Any:
        t = cv.type_from_pb(request.context_type, model.ContextType)
        return svc.PutContextTypeResponse(type_id=store.put_type(t, **_type_flags(request)))

    @rpc
    def PutTypes(self, request: Any, store: Store) -> Any:
        a, e, c = store.put_types(
            [cv.type_from_pb(t, model.ArtifactType) for t in request.artifact_types],
            [cv.type_from_pb(t, model.ExecutionType) for t in request.execution_types],
            [cv.type_from_pb(t, model.ContextType) for t in request.context_types],
            **_type_flags(request),
        )
        return svc.PutTypesResponse(artifact_type_ids=a, execution_type_ids=e, context_type_ids=c)

    def _get_type(self, store: Store, kind: str, request: Any) -> Any:
        return store.get_type(kind, request.type_name, _version(request))

    @rpc
    def GetArtifactType(self, request: Any, store: Store) -> Any:
        t = self._get_type(store, "artifact", request)
        return svc.GetArtifactTypeResponse(artifact_type=cv.artifact_type_to_pb(t))

    @rpc
    def GetExecutionType(self, request: Any, store: Store) -> Any:
        t = self._get_type(store, "execution", request)
        return svc.GetExecutionTypeResponse(execution_type=cv.execution_type_to_pb(t))

    @rpc
    def GetContextType(self, request: Any, store: Store) -> Any:
        t = self._get_type(store, "context", request)
        return svc.GetContextTypeResponse(context_type=cv.context_type_to_pb(t))

    @rpc
    def GetArtifactTypesByID(self, request: Any, store: Store) -> Any:
        ts = store.get_types_by_id("artifact", list(request.type_ids))
        return _with_types(svc.GetArtifactTypesByIDResponse(), "artifact_types", ts)

    @rpc
    def GetExecutionTypesByID(self, request: Any, store: Store) -> Any:
        prepared = self._prepared(store, request)
        if prepared is not None:
            return prepared
        return _execution_types_by_id(store.get_types_by_id("execution", list(request.type_ids)))

    @rpc
    def GetContextTypesByID(self, request: Any, store: Store) -> Any:
        prepared = self._prepared(store, request)
        if prepared is not None:
            return prepared
        return _context_types_by_id(store.get_types_by_id("context", list(request.type_ids)))

    @rpc
    def GetArtifactTypes(self, request: Any, store: Store) -> Any:
        ts = _without_external_id(store.get_types("artifact"))
        return _with_types(svc.GetArtifactTypesResponse(), "artifact_types", ts)

    @rpc
    def GetExecutionTypes(self, request: Any, store: Store) -> Any:
        ts = _without_external_id(store.get_types("execution"))
        return _with_types(svc.GetExecutionTypesResponse(), "execution_types", ts)

    @rpc
    def GetContextTypes(self, request: Any, store: Store) -> Any:
        ts = _without_external_id(store.get_types("context"))
        return _with_types(svc.GetContextTypesResponse(), "context_types", ts)

    @rpc
    def GetArtifactTypesByExternalIds(self, request: Any, store: Store) -> Any:
        ts = _found(
            store.get_types_by_external_ids("artifact", list(request.external_ids)),
            "artifact types with the given external ids",
            asked=bool(request.external_ids),
        )
        return _with_types(svc.GetArtifactTypesByExternalIdsResponse(), "artifact_types", ts)

    @rpc
    def GetExecutionTypesByExternalIds(self, request: Any, store: Store) -> Any:
        ts = _found(
            store.get_types_by_external_ids("execution", list(request.external_ids)),
            "execution types with the given external ids",
            asked=bool(request.external_ids),
        )
        return _with_types(svc.GetExecutionTypesByExternalIdsResponse(), "execution_types", ts)

    @rpc
    def GetContextTypesByExternalIds(self, request: Any, store: Store) -> Any:
        ts = _found(
            store.get_types_by_external_ids("context", list(request.external_ids)),
            "context types with the given external ids",
            asked=bool(request.external_ids),
        )
        return _with_types(svc.GetContextTypesByExternalIdsResponse(), "context_types", ts)

    # --- node writes -------------------------------------------------------------

    @rpc
    def PutArtifacts(self, request: Any, store: Store) -> Any:
        abort = (
            request.options.abort_if_latest_updated_time_changed
            if request.HasField("options")
            else False
        )
        ids = store.put_nodes(
            "artifact",
            [cv.artifact_from_pb(a) for a in request.artifacts],
            field_mask_paths=list(request.update_mask.paths),
            abort_if_latest_updated_time_changed=abort,
        )
        return svc.PutArtifactsResponse(artifact_ids=ids)

    @rpc
    def PutExecutions(self, request: Any, store: Store) -> Any:
        ids = store.put_nodes(
            "execution",
            [cv.execution_from_pb(e) for e in request.executions],
            field_mask_paths=list(request.update_mask.paths),
        )
        return svc.PutExecutionsResponse(execution_ids=ids)

    @rpc
    def PutContexts(self, request: Any, store: Store) -> Any:
        ids = store.put_nodes(
            "context",
            [cv.context_from_pb(c) for c in request.contexts],
            field_mask_paths=list(request.update_mask.paths),
        )
        return svc.PutContextsResponse(context_ids=ids)

    @rpc
    def PutEvents(self, request: Any, store: Store) -> Any:
        store.put_events([cv.event_from_pb(e) for e in request.events])
        return svc.PutEventsResponse()

    @rpc
    def PutExecution(self, request: Any, store: Store) -> Any:
        if not request.HasField("execution"):
            raise InvalidArgument("PutExecution needs an execution")
        pairs = [
            ArtifactAndEvent(
                artifact=cv.artifact_from_pb(p.artifact) if p.HasField("artifact") else None,
                event=cv.event_from_pb(p.event) if p.HasField("event") else None,
            )
            for p in request.artifact_event_pairs
        ]
        o = request.options
        execution_id, artifact_ids, context_ids = store.put_execution(
            cv.execution_from_pb(request.execution),
            pairs,
            [cv.context_from_pb(c) for c in request.contexts],
            reuse_context_if_already_exist=o.reuse_context_if_already_exist,
            reuse_artifact_if_already_exist_by_external_id=o.reuse_artifact_if_already_exist_by_external_id,
        )
        return svc.PutExecutionResponse(
            execution_id=execution_id, artifact_ids=artifact_ids, context_ids=context_ids
        )

    @rpc
    def PutLineageSubgraph(self, request: Any, store: Store) -> Any:
        edges = [
            (
                e.execution_index if e.HasField("execution_index") else None,
                e.artifact_index if e.HasField("artifact_index") else None,
                cv.event_from_pb(e.event),
            )
            for e in request.event_edges
        ]
        o = request.options
        execution_ids, artifact_ids, context_ids = store.put_lineage_subgraph(
            [cv.execution_from_pb(e) for e in request.executions],
            [cv.artifact_from_pb(a) for a in request.artifacts],
            [cv.context_from_pb(c) for c in request.contexts],
            edges,
            reuse_context_if_already_exist=o.reuse_context_if_already_exist,
            reuse_artifact_if_already_exist_by_external_id=o.reuse_artifact_if_already_exist_by_external_id,
        )
        return svc.PutLineageSubgraphResponse(
            execution_ids=execution_ids, artifact_ids=artifact_ids, context_ids=context_ids
        )

    @rpc
    def PutAttributionsAndAssociations(self, request: Any, store: Store) -> Any:
        store.put_attributions_and_associations(
            [model.Attribution(a.context_id, a.artifact_id) for a in request.attributions],
            [model.Association(a.context_id, a.execution_id) for a in request.associations],
        )
        return svc.PutAttributionsAndAssociationsResponse()

    @rpc
    def PutParentContexts(self, request: Any, store: Store) -> Any:
        store.put_parent_contexts(
            [model.ParentContext(p.child_id, p.parent_id) for p in request.parent_contexts]
        )
        return svc.PutParentContextsResponse()

    # --- node reads --------------------------------------------------------------

    @rpc
    def GetArtifacts(self, request: Any, store: Store) -> Any:
        found, token = _list(store, "artifact", request)
        return _page(_with_nodes(svc.GetArtifactsResponse(), "artifacts", found), token)

    @rpc
    def GetExecutions(self, request: Any, store: Store) -> Any:
        found, token = _list(store, "execution", request)
        return _page(_with_nodes(svc.GetExecutionsResponse(), "executions", found), token)

    @rpc
    def GetContexts(self, request: Any, store: Store) -> Any:
        found, token = _list(store, "context", request)
        return _page(_with_nodes(svc.GetContextsResponse(), "contexts", found), token)

    def _prepared(self, store: Store, request: Any) -> bytes | None:
        kept = self._follow_ups.get(store)
        if not kept:
            return None
        return kept.answer(store.data_version(), request)

    @rpc
    def GetArtifactsByID(self, request: Any, store: Store) -> Any:
        prepared = self._prepared(store, request)
        if prepared is not None:
            return prepared
        ids = list(request.artifact_ids)
        if not request.populate_artifact_types:
            return _artifacts_by_id(store.read_view(lambda v: v.node_rows_by_id("artifact", ids)))
        return _artifacts_by_id(
            *store.read_view(lambda v: v.node_rows_and_types_by_id("artifact", ids))
        )

    @rpc
    def GetExecutionsByID(self, request: Any, store: Store) -> Any:
        prepared = self._prepared(store, request)
        if prepared is not None:
            return prepared
        ids = list(request.execution_ids)
        return _executions_by_id(store.read_view(lambda v: v.node_rows_by_id("execution", ids)))

    @rpc
    def GetContextsByID(self, request: Any, store: Store) -> Any:
        prepared = self._prepared(store, request)
        if prepared is not None:
            return prepared
        ids = list(request.context_ids)
        return _contexts_by_id(store.read_view(lambda v: v.node_rows_by_id("context", ids)))

    def _by_type(self, store: Store, kind: str, request: Any) -> tuple[list[Any], str | None]:
        options = list_options(request)
        if not request.type_name:
            return [], None  # no type has an empty name (MLMD: an empty list)
        if options is None:
            # No options: every node of the type, as MLMD does.
            return store.list_all(
                kind, type_name=request.type_name, type_version=_version(request)
            ), None
        return store.list_nodes(
            kind, options, type_name=request.type_name, type_version=_version(request)
        )

    @rpc
    def GetArtifactsByType(self, request: Any, store: Store) -> Any:
        found, token = self._by_type(store, "artifact", request)
        return _page(_with_nodes(svc.GetArtifactsByTypeResponse(), "artifacts", found), token)

    @rpc
    def GetExecutionsByType(self, request: Any, store: Store) -> Any:
        found, token = self._by_type(store, "execution", request)
        return _page(
            _with_nodes(svc.GetExecutionsByTypeResponse(), "executions", found),
            token,
        )

    @rpc
    def GetContextsByType(self, request: Any, store: Store) -> Any:
        found, token = self._by_type(store, "context", request)
        return _page(_with_nodes(svc.GetContextsByTypeResponse(), "contexts", found), token)

    @rpc
    def GetArtifactByTypeAndName(self, request: Any, store: Store) -> Any:
        found = _by_type_and_name(store, "artifact", request, request.artifact_name)
        response = svc.GetArtifactByTypeAndNameResponse()
        if found is not None:
            cv.node_to_pb(found, response.artifact)
        return response

    @rpc
    def GetExecutionByTypeAndName(self, request: Any, store: Store) -> Any:
        found = _by_type_and_name(store, "execution", request, request.execution_name)
        response = svc.GetExecutionByTypeAndNameResponse()
        if found is not None:
            cv.node_to_pb(found, response.execution)
        return response

    @rpc
    def GetContextByTypeAndName(self, request: Any, store: Store) -> Any:
        found = _by_type_and_name(store, "context", request, request.context_name)
        response = svc.GetContextByTypeAndNameResponse()
        if found is not None:
            cv.node_to_pb(found, response.context)
        return response

    @rpc
    def GetArtifactsByURI(self, request: Any, store: Store) -> Any:
        found = store.get_artifacts_by_uri(list(request.uris))
        return _with_nodes(svc.GetArtifactsByURIResponse(), "artifacts", found)

    @rpc
    def GetArtifactsByExternalIds(self, request: Any, store: Store) -> Any:
        found = _found(
            store.get_nodes_by_external_ids("artifact", list(request.external_ids)),
            "artifacts with the given external ids",
            asked=bool(request.external_ids),
        )
        return _with_nodes(svc.GetArtifactsByExternalIdsResponse(), "artifacts", found)

    @rpc
    def GetExecutionsByExternalIds(self, request: Any, store: Store) -> Any:
        found = _found(
            store.get_nodes_by_external_ids("execution", list(request.external_ids)),
            "executions with the given external ids",
            asked=bool(request.external_ids),
        )
        return _with_nodes(svc.GetExecutionsByExternalIdsResponse(), "executions", found)

    @rpc
    def GetContextsByExternalIds(self, request: Any, store: Store) -> Any:
        found = _found(
            store.get_nodes_by_external_ids("context", list(request.external_ids)),
            "contexts with the given external ids",
            asked=bool(request.external_ids),
        )
        return _with_nodes(svc.GetContextsByExternalIdsResponse(), "contexts", found)

    # --- edges -------------------------------------------------------------------

    @rpc
    def GetEventsByExecutionIDs(self, request: Any, store: Store) -> Any:
        found = store.get_events_by_execution_ids(list(request.execution_ids))
        return _with_events(svc.GetEventsByExecutionIDsResponse(), "events", found)

    @rpc
    def GetEventsByArtifactIDs(self, request: Any, store: Store) -> Any:
        found = store.get_events_by_artifact_ids(list(request.artifact_ids))
        return _with_events(svc.GetEventsByArtifactIDsResponse(), "events", found)

    @rpc
    def GetContextsByArtifact(self, request: Any, store: Store) -> Any:
        found = _found(
            store.get_contexts_by_node("artifact", request.artifact_id),
            f"contexts for artifact {request.artifact_id}",
        )
        return _with_nodes(svc.GetContextsByArtifactResponse(), "contexts", found)

    @rpc
    def GetContextsByExecution(self, request: Any, store: Store) -> Any:
        found = _found(
            store.get_contexts_by_node("execution", request.execution_id),
            f"contexts for execution {request.execution_id}",
        )
        return _with_nodes(svc.GetContextsByExecutionResponse(), "contexts", found)

    @rpc
    def GetParentContextsByContext(self, request: Any, store: Store) -> Any:
        found = store.get_related_contexts([request.context_id], parents=True)[request.context_id]
        return _with_nodes(svc.GetParentContextsByContextResponse(), "contexts", found)

    @rpc
    def GetChildrenContextsByContext(self, request: Any, store: Store) -> Any:
        found = store.get_related_contexts([request.context_id], parents=False)[request.context_id]
        return _with_nodes(svc.GetChildrenContextsByContextResponse(), "contexts", found)

    @rpc
    def GetParentContextsByContexts(self, request: Any, store: Store) -> Any:
        related = store.get_related_contexts(list(request.context_ids), parents=True)
        response = svc.GetParentContextsByContextsResponse()
        for child, parents in related.items():
            if parents:
                cv.add_nodes(response.contexts[child].parent_contexts, parents)
        return response

    @rpc
    def GetChildrenContextsByContexts(self, request: Any, store: Store) -> Any:
        related = store.get_related_contexts(list(request.context_ids), parents=False)
        response = svc.GetChildrenContextsByContextsResponse()
        for parent, children in related.items():
            if children:
                cv.add_nodes(response.contexts[parent].children_contexts, children)
        return response

    @rpc
    def GetArtifactsByContext(self, request: Any, store: Store) -> Any:
        found, token = _in_context(store, "artifact", request)
        return _page(
            _with_nodes(svc.GetArtifactsByContextResponse(), "artifacts", found),
            token,
        )

    @rpc
    def GetExecutionsByContext(self, request: Any, store: Store) -> Any:
        found, token = _in_context(store, "execution", request)
        return _page(
            _with_nodes(svc.GetExecutionsByContextResponse(), "executions", found),
            token,
        )

    # --- lineage -----------------------------------------------------------------

    @rpc
    def GetLineageGraph(self, request: Any, store: Store) -> Any:
        o = request.options
        stop = o.stop_conditions
        options = GraphOptions(
            artifacts_options=list_options_from_pb(o.artifacts_options)
            if o.HasField("artifacts_options")
            else None,
            max_num_hops=stop.max_num_hops if stop.HasField("max_num_hops") else None,
            boundary_artifacts=stop.boundary_artifacts
            if stop.HasField("boundary_artifacts")
            else None,
            boundary_executions=stop.boundary_executions
            if stop.HasField("boundary_executions")
            else None,
            max_node_size=o.max_node_size,
        )
        response = svc.GetLineageGraphResponse()
        cv.lineage_graph_to_pb(store.get_lineage_graph(options), response.subgraph)
        return response

    @rpc
    def GetLineageSubgraph(self, request: Any, store: Store) -> Any:
        o = request.lineage_subgraph_query_options
        which = o.WhichOneof("starting_nodes")
        options = SubgraphOptions(
            starting_artifacts=o.starting_artifacts.filter_query
            if which == "starting_artifacts"
            else None,
            starting_executions=o.starting_executions.filter_query
            if which == "starting_executions"
            else None,
            # Unset: as far as MLMD goes.
            max_num_hops=o.max_num_hops if o.HasField("max_num_hops") else MAX_HOPS,
            direction=o.direction or 3,
        )
        if o.HasField("ending_artifacts"):
            options.ending_artifacts = o.ending_artifacts.filter_query
            options.include_ending_artifacts = o.ending_artifacts.include_ending_nodes
        if o.HasField("ending_executions"):
            options.ending_executions = o.ending_executions.filter_query
            options.include_ending_executions = o.ending_executions.include_ending_nodes
        if which is None:
            raise InvalidArgument(
                "lineage_subgraph_query_options: set starting_artifacts or starting_executions"
            )
        for part in (which, "ending_artifacts", "ending_executions"):
            cv.text(f"{part}.filter_query", getattr(o, part).filter_query)
        if not getattr(o, which).filter_query.strip():
            raise InvalidArgument(f"{which}.filter_query is empty: say which nodes to start from")
        paths = set(request.read_mask.paths)
        # Paths naming no part of a LineageGraph are ignored, as MLMD ignores them.
        mask = EdgeMask(paths & _GRAPH_PARTS) if paths else EdgeMask()
        # The ml_metadata client's way: types left out, fetched next by id. Then the
        # answers to those calls are read in the same read transaction (follow_ups.py);
        # the data version is taken before it, so a commit after it discards them.
        version = (
            store.data_version() if paths and not any(p.endswith("_types") for p in paths) else None
        )
        graph, follow_up_reads = store.get_lineage_subgraph_then(
            options, mask, details=False, then=_read_follow_ups if version is not None else None
        )
        response = svc.GetLineageSubgraphResponse()
        cv.lineage_graph_to_pb(graph, response.lineage_subgraph)
        if version is not None and follow_up_reads:
            self._follow_ups.setdefault(store, follow_ups.FollowUps()).keep(
                version, _follow_up_answers(follow_up_reads)
            )
        return response


# What the follow-ups read, per kind: (ids asked for, nodes found, type ids, types).
_FollowUpReads = dict[str, tuple[list[int], NodeRows, list[int], list[Any]]]


def _read_follow_ups(view: ReadView, skeleton: model.LineageGraph) -> _FollowUpReads:
    """The nodes and types the MLMD client asks for next, by id (its order kept)."""
    asked = {
        "artifact": [a.id for a in skeleton.artifacts],
        "execution": [e.id for e in skeleton.executions],
        "context": [c.id for c in skeleton.contexts],
    }
    if sum(len(ids) for ids in asked.values()) > follow_ups.MAX_NODES:
        return {}
    reads: _FollowUpReads = {}
    for kind, ids in asked.items():
        if not ids:
            continue
        found = view.node_rows_by_id(kind, ids)
        if kind == "artifact":
            # GetArtifactsByID with populate_artifact_types: each type once, by id.
            type_ids = sorted({int(r[1]) for r in found.rows})
        else:
            # The client asks for set(n.type_id for n in nodes): the same set, built
            # the same way, iterates in the same order.
            type_ids = list({int(r[1]) for r in found.rows})
        reads[kind] = (ids, found, type_ids, view.types_by_id(kind, type_ids))
    return reads


def _follow_up_answers(reads: _FollowUpReads) -> list[tuple[Any, Any]]:
    """(request, answer) of each by-id call the client makes next."""
    answers: list[tuple[Any, Any]] = []
    if "artifact" in reads:
        ids, found, _, types = reads["artifact"]
        request = svc.GetArtifactsByIDRequest(artifact_ids=ids, populate_artifact_types=True)
        answers.append((request, _artifacts_by_id(found, types)))
    for kind in ("execution", "context"):
        if kind not in reads:
            continue
        ids, found, type_ids, types = reads[kind]
        by_id, ids_field, answer, types_by_id, types_answer = _NODE_FOLLOW_UPS[kind]
        answers.append((by_id(**{ids_field: ids}), answer(found)))
        answers.append((types_by_id(type_ids=type_ids), types_answer(types)))
    return answers


_GRAPH_PARTS = frozenset(f.name for f in pb.LineageGraph.DESCRIPTOR.fields)


# By-id answers, built the same way whether prepared (follow_ups.py) or not.


def _artifacts_by_id(
    found: NodeRows, types: list[Any] | None = None
) -> svc.GetArtifactsByIDResponse:
    response = svc.GetArtifactsByIDResponse()
    cv.add_node_rows(response.artifacts, found)
    if types is not None:
        cv.add_types(response.artifact_types, types)
    return response


def _executions_by_id(found: NodeRows) -> svc.GetExecutionsByIDResponse:
    response = svc.GetExecutionsByIDResponse()
    cv.add_node_rows(response.executions, found)
    return response


def _contexts_by_id(found: NodeRows) -> svc.GetContextsByIDResponse:
    response = svc.GetContextsByIDResponse()
    cv.add_node_rows(response.contexts, found)
    return response


def _execution_types_by_id(types: list[Any]) -> svc.GetExecutionTypesByIDResponse:
    return _with_types(svc.GetExecutionTypesByIDResponse(), "execution_types", types)


def _context_types_by_id(types: list[Any]) -> svc.GetContextTypesByIDResponse:
    return _with_types(svc.GetContextTypesByIDResponse(), "context_types", types)


# What the client asks next for a skeleton's executions and contexts: (by-id request,
# its ids field, answer, types-by-id request, answer).
_NODE_FOLLOW_UPS: dict[str, tuple[Any, str, Callable[..., Any], Any, Callable[..., Any]]] = {
    "execution": (
        svc.GetExecutionsByIDRequest,
        "execution_ids",
        _executions_by_id,
        svc.GetExecutionTypesByIDRequest,
        _execution_types_by_id,
    ),
    "context": (
        svc.GetContextsByIDRequest,
        "context_ids",
        _contexts_by_id,
        svc.GetContextTypesByIDRequest,
        _context_types_by_id,
    ),
}


def _with_nodes(response: Any, field: str, found: Iterable[Any]) -> Any:
    """``response`` with the nodes ``found`` in its repeated ``field``, each converted in
    place (a list of messages passed to the constructor would be copied in)."""
    cv.add_nodes(getattr(response, field), found)
    return response


def _with_types(response: Any, field: str, found: Iterable[Any]) -> Any:
    """``response`` with the types ``found`` in its repeated ``field``, in place."""
    cv.add_types(getattr(response, field), found)
    return response


def _with_events(response: Any, field: str, found: Iterable[model.Event]) -> Any:
    """``response`` with the events ``found`` in its repeated ``field``, in place."""
    cv.add_events(getattr(response, field), found)
    return response


def _found(items: list[Any], what: str, *, asked: bool = True) -> list[Any]:
    """MLMD answers NOT_FOUND, not an empty list, for these lookups when nothing matches
    (but an empty list when nothing was ``asked`` for: no external ids)."""
    if not items and asked:
        raise NotFound(f"no {what} found")
    return items


def _without_external_id(types: list[Any]) -> list[Any]:
    """MLMD's Get*Types (all types) leaves external_id out; kept identical on purpose."""
    for t in types:
        t.external_id = None
    return types


def _list(store: Store, kind: str, request: Any) -> tuple[list[Any], str | None]:
    """With options, one page; without, every node (as MLMD's server answers)."""
    options = list_options(request)
    if options is None:
        return store.list_all(kind), None
    return store.list_nodes(kind, options)


def _page(response: Any, token: str | None) -> Any:
    if token:
        response.next_page_token = token
    return response


def _by_type_and_name(store: Store, kind: str, request: Any, name: str) -> Any:
    if not request.type_name or not name:
        return None  # nothing has an empty type or node name (MLMD: none found)
    return store.get_node_by_type_and_name(kind, request.type_name, name, _version(request))


def _in_context(store: Store, kind: str, request: Any) -> tuple[list[Any], str | None]:
    options = list_options(request)
    if not request.HasField("context_id"):
        return [], None  # no context asked for (MLMD: an empty list)
    if options is None:
        return store.list_all(kind, context_id=request.context_id), None
    return store.list_nodes(kind, options, context_id=request.context_id)


__all__ = ["MetadataStoreService"]
