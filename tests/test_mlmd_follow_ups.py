"""Answers prepared with GetLineageSubgraph for the MLMD client's next calls
(server/mlmd/follow_ups.py): used when the request is the expected one, identical to a
fresh answer, and never handed out once anything was committed to the database."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import grpc
import pytest
from lineage_server import LineageServer
from ml_metadata.metadata_store import metadata_store as mlmd
from ml_metadata.proto import metadata_store_pb2 as pb
from ml_metadata.proto import metadata_store_service_pb2 as svc
from ml_metadata.proto import metadata_store_service_pb2_grpc as svc_grpc
from sqlalchemy import create_engine

from lineage.server.grpc_app import StoreHandle
from lineage.server.mlmd.service import MetadataStoreService
from lineage.store.data_version import DataVersion, data_version_of
from lineage.store.store import Store

READ_MASK = ["artifacts", "executions", "contexts", "events", "associations", "attributions"]


class Context:
    """Enough of grpc.ServicerContext for handlers that succeed."""

    def abort(self, code: Any, details: str) -> None:
        raise AssertionError(f"{code}: {details}")


def put_run(service: MetadataStoreService, steps: int = 3) -> int:
    """A chain of ``steps`` steps in one run context; the last artifact's id."""
    ctx = Context()
    a_type = service.PutArtifactType(
        svc.PutArtifactTypeRequest(artifact_type=pb.ArtifactType(name="Dataset")), ctx
    ).type_id
    e_type = service.PutExecutionType(
        svc.PutExecutionTypeRequest(execution_type=pb.ExecutionType(name="Step")), ctx
    ).type_id
    c_type = service.PutContextType(
        svc.PutContextTypeRequest(context_type=pb.ContextType(name="Run")), ctx
    ).type_id
    previous: pb.Artifact | None = None
    for step in range(steps):
        request = svc.PutExecutionRequest(
            execution=pb.Execution(type_id=e_type, name=f"step-{step}"),
            contexts=[pb.Context(type_id=c_type, name="run-1")],
            options=svc.PutExecutionRequest.Options(reuse_context_if_already_exist=True),
        )
        if previous is not None:
            request.artifact_event_pairs.add(artifact=previous, event=pb.Event(type=pb.Event.INPUT))
        output = pb.Artifact(type_id=a_type, uri=f"/data/{step}")
        output.custom_properties["rows"].int_value = step
        request.artifact_event_pairs.add(artifact=output, event=pb.Event(type=pb.Event.OUTPUT))
        answer = service.PutExecution(request, ctx)
        previous = pb.Artifact()
        previous.CopyFrom(output)
        previous.id = answer.artifact_ids[-1]
    assert previous is not None
    return previous.id


def lineage_request(artifact_id: int) -> svc.GetLineageSubgraphRequest:
    request = svc.GetLineageSubgraphRequest()
    options = request.lineage_subgraph_query_options
    options.starting_artifacts.filter_query = f"id = {artifact_id}"
    options.max_num_hops = 20
    options.direction = pb.LineageSubgraphQueryOptions.UPSTREAM
    request.read_mask.paths.extend(READ_MASK)
    return request


def client_follow_ups(
    service: MetadataStoreService, skeleton: pb.LineageGraph
) -> list[tuple[str, Any, type]]:
    """The requests the ml_metadata client sends after the skeleton, built as it does."""
    ctx = Context()
    artifacts = svc.GetArtifactsByIDRequest(
        artifact_ids=[a.id for a in skeleton.artifacts], populate_artifact_types=True
    )
    executions = svc.GetExecutionsByIDRequest(execution_ids=[e.id for e in skeleton.executions])
    contexts = svc.GetContextsByIDRequest(context_ids=[c.id for c in skeleton.contexts])
    found_executions = decoded(
        service.GetExecutionsByID(executions, ctx), svc.GetExecutionsByIDResponse
    ).executions
    found_contexts = decoded(
        service.GetContextsByID(contexts, ctx), svc.GetContextsByIDResponse
    ).contexts
    # The client iterates a set of the type ids: built here the same way.
    execution_types = svc.GetExecutionTypesByIDRequest(
        type_ids=set(e.type_id for e in found_executions)
    )
    context_types = svc.GetContextTypesByIDRequest(type_ids=set(c.type_id for c in found_contexts))
    return [
        ("GetArtifactsByID", artifacts, svc.GetArtifactsByIDResponse),
        ("GetExecutionsByID", executions, svc.GetExecutionsByIDResponse),
        ("GetExecutionTypesByID", execution_types, svc.GetExecutionTypesByIDResponse),
        ("GetContextsByID", contexts, svc.GetContextsByIDResponse),
        ("GetContextTypesByID", context_types, svc.GetContextTypesByIDResponse),
    ]


def decoded(answer: Any, response_type: type) -> Any:
    return response_type.FromString(answer) if isinstance(answer, bytes) else answer


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Any:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield store
    store.close()


def test_prepared_answers_are_used_and_equal_fresh_ones(sqlite_store: Store) -> None:
    service = MetadataStoreService(StoreHandle(sqlite_store))
    fresh = MetadataStoreService(StoreHandle(sqlite_store))  # prepares nothing itself
    last = put_run(service)
    skeleton = service.GetLineageSubgraph(lineage_request(last), Context()).lineage_subgraph
    assert len(skeleton.artifacts) == 3 and len(skeleton.executions) == 3
    for method, request, response_type in client_follow_ups(fresh, skeleton):
        prepared = getattr(service, method)(request, Context())
        assert isinstance(prepared, bytes), f"{method} was not answered from the prepared ones"
        expected = getattr(fresh, method)(request, Context())
        assert not isinstance(expected, bytes)
        assert response_type.FromString(prepared) == expected, method


def test_a_request_other_than_the_expected_one_is_answered_fresh(sqlite_store: Store) -> None:
    service = MetadataStoreService(StoreHandle(sqlite_store))
    last = put_run(service)
    skeleton = service.GetLineageSubgraph(lineage_request(last), Context()).lineage_subgraph
    ids = [a.id for a in skeleton.artifacts]
    for request in (
        svc.GetArtifactsByIDRequest(artifact_ids=list(reversed(ids)), populate_artifact_types=True),
        svc.GetArtifactsByIDRequest(artifact_ids=ids),  # without the types
        svc.GetArtifactsByIDRequest(artifact_ids=ids[:1], populate_artifact_types=True),
    ):
        answer = service.GetArtifactsByID(request, Context())
        assert not isinstance(answer, bytes)
        assert sorted(a.id for a in answer.artifacts) == sorted(request.artifact_ids)


def _update_rows_through_the_store(store: Store, path: Path, artifact_id: int) -> None:
    service = MetadataStoreService(StoreHandle(store))
    artifact = service.GetArtifactsByID(
        svc.GetArtifactsByIDRequest(artifact_ids=[artifact_id]), Context()
    ).artifacts[0]
    artifact.custom_properties["rows"].int_value = 99
    service.PutArtifacts(svc.PutArtifactsRequest(artifacts=[artifact]), Context())


def _update_rows_with_mlmd(store: Store, path: Path, artifact_id: int) -> None:
    """MLMD's own library, another writer on the same file."""
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE
    other = mlmd.MetadataStore(config)
    [artifact] = other.get_artifacts_by_id([artifact_id])
    artifact.custom_properties["rows"].int_value = 99
    other.put_artifacts([artifact])
    del other


def _update_rows_with_sqlite(store: Store, path: Path, artifact_id: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE ArtifactProperty SET int_value = 99 WHERE artifact_id = ? AND name = 'rows'",
            (artifact_id,),
        )


@pytest.mark.parametrize(
    "write",
    [_update_rows_through_the_store, _update_rows_with_mlmd, _update_rows_with_sqlite],
    ids=["same-server", "mlmd-library", "sqlite3"],
)
def test_a_commit_in_between_is_seen(tmp_path: Path, write: Any) -> None:
    path = tmp_path / "db.sqlite"
    store = Store.open(f"sqlite:///{path}")
    try:
        service = MetadataStoreService(StoreHandle(store))
        last = put_run(service)
        skeleton = service.GetLineageSubgraph(lineage_request(last), Context()).lineage_subgraph
        [(_, request, response_type), *others] = client_follow_ups(
            MetadataStoreService(StoreHandle(store)), skeleton
        )
        write(store, path, last)
        answer = service.GetArtifactsByID(request, Context())
        assert not isinstance(answer, bytes), "a prepared answer outlived a commit"
        rows = {a.id: a.custom_properties["rows"].int_value for a in answer.artifacts}
        assert rows[last] == 99
        for method, other_request, _ in others:  # the rest were dropped too
            assert not isinstance(getattr(service, method)(other_request, Context()), bytes)
    finally:
        store.close()


def test_over_grpc_prepared_bytes_reach_the_client_and_a_write_drops_them(
    tmp_path: Path,
) -> None:
    server = LineageServer(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "data").start()
    try:
        client = server.client()
        a_type = client.put_artifact_type(pb.ArtifactType(name="Dataset"))
        e_type = client.put_execution_type(pb.ExecutionType(name="Step"))
        [source] = client.put_artifacts([pb.Artifact(type_id=a_type, uri="/in")])
        output = pb.Artifact(type_id=a_type, uri="/out")
        output.custom_properties["rows"].int_value = 1
        _, [_, out_id], _ = client.put_execution(
            pb.Execution(type_id=e_type),
            [
                (pb.Artifact(id=source, type_id=a_type, uri="/in"), pb.Event(type=pb.Event.INPUT)),
                (output, pb.Event(type=pb.Event.OUTPUT)),
            ],
            [],
        )
        options = pb.LineageSubgraphQueryOptions(max_num_hops=4)
        options.starting_artifacts.filter_query = f"id = {out_id}"
        options.direction = pb.LineageSubgraphQueryOptions.UPSTREAM
        graph = client.get_lineage_subgraph(options)  # six calls, five answered prepared
        assert sorted(a.uri for a in graph.artifacts) == ["/in", "/out"]
        assert [t.name for t in graph.artifact_types] == ["Dataset"]
        assert [t.name for t in graph.execution_types] == ["Step"]

        channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
        stub = svc_grpc.MetadataStoreServiceStub(channel)
        request = svc.GetLineageSubgraphRequest(lineage_subgraph_query_options=options)
        request.read_mask.paths.extend(READ_MASK)
        skeleton = stub.GetLineageSubgraph(request).lineage_subgraph
        follow_up = svc.GetArtifactsByIDRequest(
            artifact_ids=[a.id for a in skeleton.artifacts], populate_artifact_types=True
        )
        changed = pb.Artifact()
        changed.CopyFrom(graph.artifacts[[a.id for a in graph.artifacts].index(out_id)])
        changed.custom_properties["rows"].int_value = 2
        client.put_artifacts([changed])
        answer = stub.GetArtifactsByID(follow_up)
        rows = {a.id: a.custom_properties["rows"].int_value for a in answer.artifacts}
        assert rows[out_id] == 2
        channel.close()
    finally:
        code = server.stop()
    assert code == 0, server.log_text()


def test_data_version_moves_only_on_commits(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    version = DataVersion(str(path))
    first = version.token()
    assert first is not None
    assert version.token() == first
    with sqlite3.connect(path) as conn:
        conn.execute("SELECT count(*) FROM t").fetchall()  # a read is not a change
    assert version.token() == first
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    assert version.token() not in (None, first)
    version.close()
    assert version.token() is None


def test_no_data_version_where_the_backend_has_none(tmp_path: Path) -> None:
    for url in (
        "postgresql+psycopg://user@127.0.0.1:1/db",
        "mysql+pymysql://user@127.0.0.1:1/db",
        "sqlite://",  # in memory: another connection would see another database
    ):
        assert data_version_of(create_engine(url)) is None, url
    assert data_version_of(create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")) is not None


def test_nothing_is_prepared_without_a_data_version(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        service = MetadataStoreService(StoreHandle(store))
        last = put_run(service)
        skeleton = service.GetLineageSubgraph(lineage_request(last), Context()).lineage_subgraph
        prepared = [
            getattr(service, method)(request, Context())
            for method, request, _ in client_follow_ups(service, skeleton)
        ]
        expect_prepared = database_url.startswith("sqlite")
        assert all(isinstance(p, bytes) == expect_prepared for p in prepared), database_url
    finally:
        store.close()


def test_prepared_answers_are_bounded_in_number_and_bytes() -> None:
    from lineage.server.mlmd.follow_ups import FollowUps

    def answer(i: int, size: int) -> tuple[Any, Any]:
        response = svc.GetContextsByIDResponse(contexts=[pb.Context(id=i, name="x" * size)])
        return (svc.GetContextsByIDRequest(context_ids=[i]), response)

    def kept(follow_ups: FollowUps, version: int) -> list[int]:
        return [
            i
            for i in range(10)
            if follow_ups.answer(version, svc.GetContextsByIDRequest(context_ids=[i]))
        ]

    by_number = FollowUps(max_answers=3)
    by_number.keep(1, [answer(i, 10) for i in range(5)])
    assert kept(by_number, 1) == [2, 3, 4]  # the oldest go first
    by_bytes = FollowUps(max_bytes=2500)
    by_bytes.keep(1, [answer(i, 1000) for i in range(5)])
    assert kept(by_bytes, 1) == [3, 4]
    by_bytes.keep(2, [answer(7, 10)])  # a new data version: the old answers are gone
    assert kept(by_bytes, 2) == [7]
    assert kept(by_bytes, 1) == []


def test_nothing_is_prepared_for_a_caller_that_asked_for_types(sqlite_store: Store) -> None:
    """Only the ml_metadata client's way of asking (types left out of the read mask, to
    be fetched by id next) gets its follow-up answers prepared."""
    service = MetadataStoreService(StoreHandle(sqlite_store))
    last = put_run(service)
    for paths in ([], [*READ_MASK, "artifact_types"]):
        request = lineage_request(last)
        del request.read_mask.paths[:]
        request.read_mask.paths.extend(paths)
        skeleton = service.GetLineageSubgraph(request, Context()).lineage_subgraph
        follow_up = svc.GetArtifactsByIDRequest(
            artifact_ids=[a.id for a in skeleton.artifacts], populate_artifact_types=True
        )
        assert not isinstance(service.GetArtifactsByID(follow_up, Context()), bytes), paths


def test_prepared_answers_are_never_older_than_a_finished_write(tmp_path: Path) -> None:
    """A writer keeps updating an artifact while a reader asks for its lineage and then
    for the artifact by id, as the MLMD client does: every answer carries at least the
    value of the last write that had finished before the by-id call was sent."""
    import threading

    server = LineageServer(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "data").start()
    try:
        client = server.client()
        a_type = client.put_artifact_type(pb.ArtifactType(name="Dataset"))
        e_type = client.put_execution_type(pb.ExecutionType(name="Step"))
        source = pb.Artifact(type_id=a_type, uri="/in")
        source.custom_properties["n"].int_value = 0
        [source.id] = client.put_artifacts([source])
        client.put_execution(
            pb.Execution(type_id=e_type),
            [(source, pb.Event(type=pb.Event.INPUT))],
            [],
        )
        finished = [0]  # the last value whose write has returned
        stop = threading.Event()

        def write() -> None:
            writer = server.client()
            value = 0
            while not stop.is_set():
                value += 1
                changed = pb.Artifact()
                changed.CopyFrom(source)
                changed.custom_properties["n"].int_value = value
                writer.put_artifacts([changed])
                finished[0] = value

        channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
        stub = svc_grpc.MetadataStoreServiceStub(channel)
        request = lineage_request(source.id)
        follow_up = svc.GetArtifactsByIDRequest(
            artifact_ids=[source.id], populate_artifact_types=True
        )
        writer = threading.Thread(target=write)
        writer.start()
        try:
            stale = []
            for _ in range(300):
                stub.GetLineageSubgraph(request)
                floor = finished[0]
                [artifact] = stub.GetArtifactsByID(follow_up).artifacts
                if artifact.custom_properties["n"].int_value < floor:
                    stale.append((artifact.custom_properties["n"].int_value, floor))
        finally:
            stop.set()
            writer.join()
            channel.close()
        assert finished[0] > 10, "the writer hardly ran: the test proves nothing"
        assert not stale, f"answers older than a finished write: {stale[:5]}"
    finally:
        code = server.stop()
    assert code == 0, server.log_text()


def _rich_nodes(service: MetadataStoreService) -> dict[str, list[int]]:
    """Nodes of each kind with every value type, declared and custom properties, and
    their optional fields set and unset."""
    ctx = Context()
    declared = {"n": pb.INT, "x": pb.DOUBLE, "s": pb.STRING, "st": pb.STRUCT, "b": pb.BOOLEAN}
    a_type = service.PutArtifactType(
        svc.PutArtifactTypeRequest(artifact_type=pb.ArtifactType(name="A", properties=declared)),
        ctx,
    ).type_id
    e_type = service.PutExecutionType(
        svc.PutExecutionTypeRequest(execution_type=pb.ExecutionType(name="E", properties=declared)),
        ctx,
    ).type_id
    c_type = service.PutContextType(
        svc.PutContextTypeRequest(context_type=pb.ContextType(name="C", properties=declared)), ctx
    ).type_id

    def fill(node: Any, i: int) -> Any:
        node.properties["n"].int_value = -i
        node.properties["x"].double_value = i / 3
        node.properties["s"].string_value = f"é{i}"
        node.properties["st"].struct_value.update({"k": [1, "two", None], "i": i})
        node.properties["b"].bool_value = bool(i % 2)
        node.custom_properties["proto"].proto_value.Pack(pb.Value(int_value=i))
        node.custom_properties["flag"].bool_value = False
        return node

    artifacts = [
        fill(pb.Artifact(type_id=a_type, uri=f"/a/{i}", state=pb.Artifact.LIVE), i)
        for i in range(3)
    ]
    artifacts[1].name, artifacts[1].external_id = "named", "ext-a"
    artifacts.append(pb.Artifact(type_id=a_type))  # no uri, state, name or properties
    executions = [fill(pb.Execution(type_id=e_type, last_known_state=pb.Execution.COMPLETE), 5)]
    executions.append(pb.Execution(type_id=e_type, name="bare"))
    contexts = [fill(pb.Context(type_id=c_type, name="c1", external_id="ext-c"), 7)]
    contexts.append(pb.Context(type_id=c_type, name="c2"))
    return {
        "artifact": list(
            service.PutArtifacts(svc.PutArtifactsRequest(artifacts=artifacts), ctx).artifact_ids
        ),
        "execution": list(
            service.PutExecutions(
                svc.PutExecutionsRequest(executions=executions), ctx
            ).execution_ids
        ),
        "context": list(
            service.PutContexts(svc.PutContextsRequest(contexts=contexts), ctx).context_ids
        ),
    }


def test_nodes_built_from_rows_equal_those_built_from_dataclasses(database_url: str) -> None:
    """The by-id answers (prepared or not) build messages straight from rows
    (convert.add_node_rows); every other read goes through the core's dataclasses. Both
    must give the same bytes for every kind of node and value."""
    from lineage.server.mlmd import convert as cv
    from lineage.store import nodes

    field = {"artifact": "artifacts", "execution": "executions", "context": "contexts"}
    response = {
        "artifact": svc.GetArtifactsByIDResponse,
        "execution": svc.GetExecutionsByIDResponse,
        "context": svc.GetContextsByIDResponse,
    }
    message = {"artifact": pb.Artifact, "execution": pb.Execution, "context": pb.Context}
    store = Store.open(database_url)
    try:
        ids = _rich_nodes(MetadataStoreService(StoreHandle(store)))
        for kind, kind_ids in ids.items():
            rows = store.read_view(lambda v, k=kind, i=kind_ids: v.node_rows_by_id(k, i))
            assert [int(r[0]) for r in rows.rows] == sorted(kind_ids)
            from_rows = response[kind]()
            cv.add_node_rows(getattr(from_rows, field[kind]), rows)
            from_dataclasses = response[kind]()
            getattr(from_dataclasses, field[kind]).extend(
                cv.node_to_pb(n, message[kind]()) for n in nodes.nodes_from(rows)
            )
            assert from_rows == from_dataclasses, kind
            assert from_rows.SerializeToString(deterministic=True) == (
                from_dataclasses.SerializeToString(deterministic=True)
            ), kind
            # and the dataclasses are what every other read returns
            loaded = store.get_nodes_by_id(kind, kind_ids)
            assert [cv.node_to_pb(n, message[kind]()) for n in loaded] == list(
                getattr(from_rows, field[kind])
            ), kind
    finally:
        store.close()
