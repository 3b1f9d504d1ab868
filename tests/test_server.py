"""``lineage serve`` as a process: health, reflection, limits, shutdown, concurrency,
configuration, and the RPCs MLMD's in-process library cannot serve as an oracle."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from lineage_server import LineageServer
from ml_metadata import errors
from ml_metadata.proto import metadata_store_pb2 as pb
from ml_metadata.proto import metadata_store_service_pb2 as svc
from ml_metadata.proto import metadata_store_service_pb2_grpc as svc_grpc

from lineage.errors import InvalidArgument
from lineage.server.config import load_config


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Any:
    s = LineageServer(database_url, tmp_path / "data").start()
    yield s
    s.stop()


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Any:
    s = LineageServer(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "data").start()
    yield s
    s.stop()


def stub(server: LineageServer) -> Any:
    return svc_grpc.MetadataStoreServiceStub(grpc.insecure_channel(server.address))


def test_health_and_reflection(sqlite_server: LineageServer) -> None:
    channel = grpc.insecure_channel(sqlite_server.address)
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "ml_metadata.MetadataStoreService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as info:
        health.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=5)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = reflect.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert "ml_metadata.MetadataStoreService" in names
    assert "grpc.health.v1.Health" in names


def test_banner_says_where(sqlite_server: LineageServer, tmp_path: Path) -> None:
    text = "".join(sqlite_server.output)
    assert f"listening on 127.0.0.1:{sqlite_server.port}" in text
    assert "db.sqlite" in text
    assert "blobs" in text


def test_oversized_message_is_refused_and_nothing_written(tmp_path: Path) -> None:
    server = LineageServer(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        tmp_path / "data",
        extra_args=("--max-message-mb", "1"),
    ).start()
    try:
        client = server.client()
        type_id = client.put_artifact_type(pb.ArtifactType(name="Big"))
        with pytest.raises(errors.ResourceExhaustedError):
            client.put_artifacts([pb.Artifact(type_id=type_id, uri="x" * (2 * 1024 * 1024))])
        assert client.get_artifacts() == []
        assert client.put_artifacts([pb.Artifact(type_id=type_id, uri="small")])
    finally:
        assert server.stop() == 0


def _types(client: Any) -> tuple[int, int, int]:
    return (
        client.put_artifact_type(pb.ArtifactType(name="Data")),
        client.put_execution_type(pb.ExecutionType(name="Step")),
        client.put_context_type(pb.ContextType(name="Run")),
    )


def _step(client: Any, types: tuple[int, int, int], run: str, i: int) -> int:
    a, e, c = types
    execution_id, _, _ = client.put_execution(
        pb.Execution(type_id=e, name=f"{run}-{i}", last_known_state=pb.Execution.COMPLETE),
        [(pb.Artifact(type_id=a, uri=f"{run}/{i}"), pb.Event(type=pb.Event.OUTPUT))],
        [pb.Context(type_id=c, name=run)],
        reuse_context_if_already_exist=True,
    )
    return execution_id


def test_replicas_started_at_once_on_a_new_database(database_url: str, tmp_path: Path) -> None:
    """Three servers started together on one empty database (replicas behind a load
    balancer) all come up: they migrate in turn, the later ones finding the schema done
    (they failed on the same DDL: 'already exists', 'duplicate key' in pg_type...)."""
    servers = [LineageServer(database_url, tmp_path / f"s{i}") for i in range(3)]
    assert _at_once(lambda s: s.start(), servers) == []
    try:
        clients = [s.client() for s in servers]
        type_ids = {c.put_artifact_type(pb.ArtifactType(name="Shared")) for c in clients}
        assert len(type_ids) == 1
    finally:
        for s in servers:
            s.stop()


def test_a_name_too_long_for_the_column_is_invalid(server: LineageServer) -> None:
    """MLMD's schema makes names VARCHAR(255): SQLite keeps a longer one (as MLMD's own
    SQLite store does); PostgreSQL and MySQL refuse it, which is the client's mistake
    (INVALID_ARGUMENT), not ABORTED (which the MLMD client retries)."""
    client = server.client()
    type_id = client.put_artifact_type(pb.ArtifactType(name="Data"))
    long_name = "n" * 300
    if server.database_url.startswith("sqlite"):
        [artifact_id] = client.put_artifacts([pb.Artifact(type_id=type_id, name=long_name)])
        assert client.get_artifacts_by_id([artifact_id])[0].name == long_name
        return
    with pytest.raises(errors.InvalidArgumentError, match="does not fit its column"):
        client.put_artifacts([pb.Artifact(type_id=type_id, name=long_name)])
    assert client.get_artifacts() == []


def test_two_writers_at_once(server: LineageServer) -> None:
    """Writers racing on the same type and the same run context lose nothing."""
    failures: list[BaseException] = []
    done: list[int] = []
    steps = 40

    def writer(name: str) -> None:
        try:
            client = server.client()
            types = _types(client)  # both create the same types at once
            for i in range(steps):
                done.append(_step(client, types, "shared-run", i * 2 + (name == "b")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures
    client = server.client()
    assert len(client.get_artifact_types()) == 1
    assert len(client.get_execution_types()) == 1
    [context] = client.get_contexts()
    executions = client.get_executions_by_context(context.id)
    assert sorted(e.id for e in executions) == sorted(done)
    assert len(executions) == 2 * steps
    assert len(client.get_artifacts_by_context(context.id)) == 2 * steps
    assert len(client.get_events_by_execution_ids([e.id for e in executions])) == 2 * steps


def _at_once(work: Any, args: list[Any]) -> list[BaseException]:
    """Run ``work(arg)`` for every arg in its own thread, all starting together; the
    exceptions they raised."""
    barrier = threading.Barrier(len(args))
    failures: list[BaseException] = []

    def run(arg: Any) -> None:
        try:
            barrier.wait(30)
            work(arg)
        except BaseException as exc:  # noqa: BLE001 - returned
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return failures


def test_updates_of_one_artifact_at_once_neither_fail_nor_mix(server: LineageServer) -> None:
    """Each update replaces the artifact as a whole: racing ones all succeed and the
    last one wins, not a mix of their properties (or ALREADY_EXISTS for a property
    row another update inserted)."""
    client = server.client()
    type_id = client.put_artifact_type(pb.ArtifactType(name="Data"))
    [artifact_id] = client.put_artifacts([pb.Artifact(type_id=type_id, uri="start")])

    def update(writer: int) -> None:
        c = server.client()
        for i in range(10):
            props = {"shared": pb.Value(int_value=i), f"only{writer}": pb.Value(int_value=i)}
            c.put_artifacts(
                [
                    pb.Artifact(
                        id=artifact_id, type_id=type_id, uri=f"u{writer}", custom_properties=props
                    )
                ]
            )

    assert _at_once(update, list(range(4))) == []
    [artifact] = client.get_artifacts_by_id([artifact_id])
    assert sorted(artifact.custom_properties) == sorted(["shared", f"only{artifact.uri[1:]}"])


def test_parent_links_added_at_once_never_close_a_cycle(server: LineageServer) -> None:
    """Links of a ring of contexts, each added by its own writer at once: the last one
    to check sees the others and is refused, as MLMD refuses a cycle."""
    client = server.client()
    type_id = client.put_context_type(pb.ContextType(name="Ring"))
    for ring in range(3):
        ids = client.put_contexts(
            [pb.Context(type_id=type_id, name=f"{ring}-{i}") for i in range(4)]
        )
        links = [(ids[i], ids[(i + 1) % len(ids)]) for i in range(len(ids))]

        def link(pair: tuple[int, int]) -> None:
            server.client().put_parent_contexts(
                [pb.ParentContext(child_id=pair[0], parent_id=pair[1])]
            )

        failures = _at_once(link, links)
        assert [type(f) for f in failures] == [errors.InvalidArgumentError], failures
        stored = sum(len(client.get_parent_contexts_by_context(i)) for i in ids)
        assert stored == len(ids) - 1


def test_a_read_never_mixes_two_writes(server: LineageServer) -> None:
    """A page of artifacts read while a writer rewrites them all, again and again, shows
    each artifact as one write left it (its row and its properties from the same one)."""
    client = server.client()
    type_id = client.put_artifact_type(pb.ArtifactType(name="Data", properties={"n": pb.INT}))

    def version(n: int) -> list[Any]:
        extra = {f"c{j}": pb.Value(string_value="x" * 40) for j in range(5)}
        return [
            pb.Artifact(
                id=i,
                type_id=type_id,
                uri=f"v{n}",
                properties={"n": pb.Value(int_value=n)},
                custom_properties=extra,
            )
            for i in ids
        ]

    ids = client.put_artifacts([pb.Artifact(type_id=type_id) for _ in range(100)])
    client.put_artifacts(version(0))
    stop = threading.Event()

    def write() -> None:
        c = server.client()
        n = 0
        while not stop.is_set():
            n += 1
            c.put_artifacts(version(n))

    writer = threading.Thread(target=write)
    writer.start()
    torn = []
    try:
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            for a in client.get_artifacts_by_id(ids):
                if a.uri != f"v{a.properties['n'].int_value}" or len(a.custom_properties) != 5:
                    torn.append(a)
    finally:
        stop.set()
        writer.join(60)
    assert torn == []


def test_sigterm_mid_writes_loses_nothing(database_url: str, tmp_path: Path) -> None:
    """Writes acknowledged before SIGTERM are all there after a restart, none half done."""
    server = LineageServer(database_url, tmp_path / "data").start()
    client = server.client()
    types = _types(client)
    acknowledged: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            try:
                acknowledged.append(_step(client, types, "run", i))
            except errors.StatusError:
                return  # the server went away: this write was not acknowledged
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(1.5)
    assert server.stop() == 0  # SIGTERM: a clean exit
    stop.set()
    thread.join(30)
    assert acknowledged
    server = LineageServer(database_url, tmp_path / "data").start()
    try:
        client = server.client()
        executions = client.get_executions()
        ids = {e.id for e in executions}
        assert set(acknowledged) <= ids
        # at most the one in flight may have committed without its reply arriving
        assert len(ids - set(acknowledged)) <= 1
        events = client.get_events_by_execution_ids(list(ids))
        assert len(events) == len(ids)  # every execution complete with its output
        assert len(client.get_artifacts()) == len(ids)
    finally:
        assert server.stop() == 0


def test_rpcs_without_an_mlmd_oracle(server: LineageServer) -> None:
    """PutTypes, Get{Parent,Children}ContextsByContexts and GetLineageGraph, whose
    MLMD in-process binding does not exist, checked against explicit expectations."""
    s = stub(server)
    request = svc.PutTypesRequest()
    request.artifact_types.add(name="Model").properties["acc"] = pb.DOUBLE
    request.execution_types.add(name="Train")
    request.context_types.add(name="Run")
    first = s.PutTypes(request)
    assert first == s.PutTypes(request)  # idempotent
    conflicting = svc.PutTypesRequest()
    conflicting.artifact_types.add(name="Model").properties["acc"] = pb.INT
    conflicting.artifact_types.add(name="NotCreated")
    with pytest.raises(grpc.RpcError) as info:
        s.PutTypes(conflicting)
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    names = [t.name for t in s.GetArtifactTypes(svc.GetArtifactTypesRequest()).artifact_types]
    assert names == ["Model"]  # the conflicting batch wrote nothing

    [ctype] = first.context_type_ids
    ids = s.PutContexts(
        svc.PutContextsRequest(
            contexts=[pb.Context(type_id=ctype, name=n) for n in ("p", "c1", "c2", "g")]
        )
    ).context_ids
    p, c1, c2, g = ids
    s.PutParentContexts(
        svc.PutParentContextsRequest(
            parent_contexts=[
                pb.ParentContext(child_id=c1, parent_id=p),
                pb.ParentContext(child_id=c2, parent_id=p),
                pb.ParentContext(child_id=g, parent_id=c1),
            ]
        )
    )
    parents = s.GetParentContextsByContexts(
        svc.GetParentContextsByContextsRequest(context_ids=[c1, c2, g, p])
    )
    assert {k: [c.id for c in v.parent_contexts] for k, v in parents.contexts.items()} == {
        c1: [p],
        c2: [p],
        g: [c1],
    }
    children = s.GetChildrenContextsByContexts(
        svc.GetChildrenContextsByContextsRequest(context_ids=[p, c1, c2])
    )
    assert {k: [c.id for c in v.children_contexts] for k, v in children.contexts.items()} == {
        p: [c1, c2],
        c1: [g],
    }

    [atype], [etype] = first.artifact_type_ids, first.execution_type_ids
    artifacts = s.PutArtifacts(
        svc.PutArtifactsRequest(
            artifacts=[pb.Artifact(type_id=atype, name=f"m{i}") for i in range(4)]
        )
    ).artifact_ids
    executions = s.PutExecutions(
        svc.PutExecutionsRequest(
            executions=[pb.Execution(type_id=etype, name=f"e{i}") for i in range(3)]
        )
    ).execution_ids
    # m0 -> e0 -> m1 -> e1 -> m2 -> e2 -> m3
    events = []
    for i, e in enumerate(executions):
        events.append(pb.Event(artifact_id=artifacts[i], execution_id=e, type=pb.Event.INPUT))
        events.append(pb.Event(artifact_id=artifacts[i + 1], execution_id=e, type=pb.Event.OUTPUT))
    s.PutEvents(svc.PutEventsRequest(events=events))
    s.PutAttributionsAndAssociations(
        svc.PutAttributionsAndAssociationsRequest(
            attributions=[pb.Attribution(context_id=p, artifact_id=artifacts[0])]
        )
    )

    def lineage_graph(**stop: Any) -> Any:
        r = svc.GetLineageGraphRequest()
        r.options.artifacts_options.filter_query = "name = 'm0'"
        for key, value in stop.items():
            setattr(r.options.stop_conditions, key, value)
        return s.GetLineageGraph(r).subgraph

    g2 = lineage_graph(max_num_hops=2)
    assert sorted(a.name for a in g2.artifacts) == ["m0", "m1"]
    assert sorted(e.name for e in g2.executions) == ["e0"]
    assert len(g2.events) == 2
    assert [c.name for c in g2.contexts] == ["p"]
    assert {t.name for t in g2.artifact_types} == {"Model"}
    full = lineage_graph(max_num_hops=20)
    assert len(full.artifacts) == 4 and len(full.executions) == 3 and len(full.events) == 6
    bounded = lineage_graph(max_num_hops=20, boundary_executions="name != 'e1'")
    assert sorted(a.name for a in bounded.artifacts) == ["m0", "m1"]
    r = svc.GetLineageGraphRequest()
    r.options.artifacts_options.filter_query = "name = "
    with pytest.raises(grpc.RpcError) as info:
        s.GetLineageGraph(r)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "filter_query" in info.value.details()


def test_bad_requests_get_clear_codes(sqlite_server: LineageServer) -> None:
    s = stub(sqlite_server)
    cases = [
        (
            lambda: s.GetArtifactType(svc.GetArtifactTypeRequest(type_name="nope")),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            lambda: s.PutArtifacts(svc.PutArtifactsRequest(artifacts=[pb.Artifact(type_id=12345)])),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            lambda: s.GetArtifacts(
                svc.GetArtifactsRequest(options=pb.ListOperationOptions(next_page_token="garbage"))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: s.GetArtifacts(
                svc.GetArtifactsRequest(
                    options=pb.ListOperationOptions(filter_query="uri = 'x' AND")
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: s.GetArtifacts(
                svc.GetArtifactsRequest(
                    options=pb.ListOperationOptions(filter_query="name = 'x'; DROP TABLE Artifact")
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (lambda: s.PutExecution(svc.PutExecutionRequest()), grpc.StatusCode.INVALID_ARGUMENT),
    ]
    for call, code in cases:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == code, info.value.details()
        assert info.value.details()
        assert "Traceback" not in info.value.details()
    # the table is still there
    assert s.GetArtifacts(svc.GetArtifactsRequest()).artifacts == []


def test_bad_input_mlmd_accepts_is_refused_clearly(sqlite_server: LineageServer) -> None:
    """Input that would otherwise store bytes where text belongs, or reach the database
    as SQL it cannot run: INVALID_ARGUMENT, nothing written, every read still works."""
    s = stub(sqlite_server)
    type_id = s.PutArtifactType(
        svc.PutArtifactTypeRequest(artifact_type=pb.ArtifactType(name="T"))
    ).type_id
    send = grpc.insecure_channel(sqlite_server.address).unary_unary(
        "/ml_metadata.MetadataStoreService/PutArtifacts",
        request_serializer=lambda data: data,
        response_deserializer=svc.PutArtifactsResponse.FromString,
    )
    # proto2 strings are not checked when parsed: put invalid UTF-8 in by hand.
    for artifact in (
        pb.Artifact(type_id=type_id, uri="@@@@"),
        pb.Artifact(type_id=type_id, name="@@@@"),
        pb.Artifact(type_id=type_id, custom_properties={"k": pb.Value(string_value="@@@@")}),
        pb.Artifact(type_id=type_id, custom_properties={"@@@@": pb.Value(int_value=1)}),
    ):
        request = svc.PutArtifactsRequest(artifacts=[artifact]).SerializeToString()
        with pytest.raises(grpc.RpcError) as info:
            send(request.replace(b"@@@@", b"\xed\xa0\x80\xff"))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not valid UTF-8" in info.value.details()
    assert s.GetArtifacts(svc.GetArtifactsRequest()).artifacts == []
    # Bytes that are no message, and a Struct nested past protobuf's parsing limit: the
    # client's mistake (INVALID_ARGUMENT, as MLMD), not grpc's INTERNAL.
    deep = svc.PutArtifactsRequest(artifacts=[pb.Artifact(type_id=type_id)])
    value = deep.artifacts[0].custom_properties["deep"].struct_value
    for _ in range(60):
        value = value.fields["a"].struct_value
    for request in (b"\xff\xff\xff\xff", deep.SerializeToString()):
        with pytest.raises(grpc.RpcError) as info:
            send(request)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
        assert "PutArtifacts: the request is not a valid message" in info.value.details()
    assert s.GetArtifacts(svc.GetArtifactsRequest()).artifacts == []

    too_complex = [
        " AND ".join(["uri = 'x'"] * 1500),
        "".join(f"(id = {i} OR (id > 5 AND " for i in range(60)) + "id = 1" + "))" * 60,
        "".join("NOT (id = 1 AND " for _ in range(99)) + "id = 1" + ")" * 99,
    ]
    for query in too_complex:
        request = svc.GetArtifactsRequest(options=pb.ListOperationOptions(filter_query=query))
        with pytest.raises(grpc.RpcError) as info:
            s.GetArtifacts(request)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
        assert "filter_query" in info.value.details()

    ids = s.PutArtifacts(
        svc.PutArtifactsRequest(artifacts=[pb.Artifact(type_id=type_id) for _ in range(3)])
    ).artifact_ids
    page = s.GetArtifacts(
        svc.GetArtifactsRequest(options=pb.ListOperationOptions(max_result_size=1))
    )
    token = json.loads(base64.urlsafe_b64decode(page.next_page_token))
    token["i"] = 10**30  # a token edited by hand: its id no longer fits a column
    request = svc.GetArtifactsRequest(
        options=pb.ListOperationOptions(
            max_result_size=1,
            next_page_token=base64.urlsafe_b64encode(json.dumps(token).encode()).decode(),
        )
    )
    with pytest.raises(grpc.RpcError) as info:
        s.GetArtifacts(request)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [a.id for a in s.GetArtifacts(svc.GetArtifactsRequest()).artifacts] == ids
    assert [t.name for t in s.GetArtifactTypes(svc.GetArtifactTypesRequest()).artifact_types] == [
        "T"
    ]


def test_lineage_walks_stop_at_mlmds_hop_cap(sqlite_server: LineageServer) -> None:
    """A huge max_num_hops answers like 100 hops (MLMD's cap), not after 2**62 steps."""
    s = stub(sqlite_server)
    a_type = s.PutArtifactType(svc.PutArtifactTypeRequest(artifact_type=pb.ArtifactType(name="A")))
    e_type = s.PutExecutionType(
        svc.PutExecutionTypeRequest(execution_type=pb.ExecutionType(name="E"))
    )
    [a] = s.PutArtifacts(
        svc.PutArtifactsRequest(artifacts=[pb.Artifact(type_id=a_type.type_id)])
    ).artifact_ids
    [e] = s.PutExecutions(
        svc.PutExecutionsRequest(executions=[pb.Execution(type_id=e_type.type_id)])
    ).execution_ids
    s.PutEvents(
        svc.PutEventsRequest(events=[pb.Event(artifact_id=a, execution_id=e, type=pb.Event.INPUT)])
    )
    graph = svc.GetLineageGraphRequest()
    graph.options.stop_conditions.max_num_hops = 2**62
    found = s.GetLineageGraph(graph, timeout=20).subgraph
    assert [x.id for x in found.artifacts] == [a] and [x.id for x in found.executions] == [e]
    for start in ("id > 0", f"id = {a}"):
        subgraph = svc.GetLineageSubgraphRequest()
        subgraph.lineage_subgraph_query_options.starting_artifacts.filter_query = start
        subgraph.lineage_subgraph_query_options.max_num_hops = 2**62
        found = s.GetLineageSubgraph(subgraph, timeout=20).lineage_subgraph
        assert [x.id for x in found.executions] == [e]


def test_config_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "lineage.toml"
    toml.write_text(
        '[server]\nport = 9000\nhttp_port = 9001\nhost = "0.0.0.0"\nmax_message_mb = 8\n'
    )
    config = load_config({"port": 9100}, env={"LINEAGE_HTTP_PORT": "9200"}, config_file=str(toml))
    assert (config.host, config.port, config.http_port, config.max_message_mb) == (
        "0.0.0.0",
        9100,
        9200,
        8,
    )
    assert load_config({}, env={}).port == 8080
    assert load_config({}, env={}).http_port == 8081
    assert load_config({}, env={}).resolved_database_url().endswith("lineage-data/metadata.sqlite")
    with pytest.raises(InvalidArgument, match="LINEAGE_PORT"):
        load_config({}, env={"LINEAGE_PORT": "eighty"})
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nprot = 1\n")
    with pytest.raises(InvalidArgument, match="unknown setting"):
        load_config({}, env={}, config_file=str(bad))
    with pytest.raises(InvalidArgument, match="65535"):
        load_config({"port": 70000}, env={})
    assert load_config({}, env={}).blob_redirect == "auto"
    assert load_config({}, env={"LINEAGE_BLOB_REDIRECT": "Always"}).blob_redirect == "always"
    with pytest.raises(InvalidArgument, match="blob_redirect must be one of auto, always, never"):
        load_config({}, env={"LINEAGE_BLOB_REDIRECT": "sometimes"})


def test_config_refuses_wrong_types_bad_values_and_unreadable_files(tmp_path: Path) -> None:
    """TOML values must have the setting's type (1.5 was port 1, a table became a blob
    directory named "{'a': 1}"); bad log levels and zero workers are refused up front."""

    def from_toml(text: str | bytes) -> Any:
        path = tmp_path / "lineage.toml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return load_config({}, env={}, config_file=str(path))

    for text, message in [
        ("[server]\nport = 1.5\n", "port must be a whole number, got 1.5"),
        ("[server]\nhost = [1, 2]\n", "host must be a string"),
        ("[server]\nblob_store = {a = 1}\n", "blob_store must be a string"),
        ("[server]\nhttp = 1\n", "http must be true or false"),
        ("[server]\nlog_level = 5\n", "log_level must be a string"),
        ("server = 5\n", r"\[server\] must be a table"),
        (b"\xff\xfe[server]", "not valid TOML"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            from_toml(text)
    with pytest.raises(InvalidArgument, match="cannot read config file"):
        load_config({}, env={}, config_file=str(tmp_path))
    with pytest.raises(InvalidArgument, match="log_level must be one of"):
        load_config({"log_level": "loud"}, env={})
    assert load_config({}, env={"LINEAGE_LOG_LEVEL": "DEBUG"}).log_level == "debug"
    with pytest.raises(InvalidArgument, match="workers must be at least 1"):
        load_config({"workers": 0}, env={})
    with pytest.raises(InvalidArgument, match="max_message_mb must be at least 1"):
        load_config({}, env={"LINEAGE_MAX_MESSAGE_MB": "0"})


def _cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lineage.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_cli_errors_are_clear(tmp_path: Path) -> None:
    result = _cli(
        "serve", "--database-url", "nosuchdb://x", "--port", "0", "--no-http", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "unsupported database" in result.stderr and "Traceback" not in result.stderr
    result = _cli("serve", "--port", "0", "--no-http", cwd=tmp_path, env={"LINEAGE_PORT": "x"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = _cli(
        "serve",
        "--port",
        "0",
        "--no-http",
        "--database-url",
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "cannot reach" in result.stderr and "Traceback" not in result.stderr


def test_cli_setup_errors_are_one_line(tmp_path: Path) -> None:
    """Each of these printed a Python traceback (exit 1) instead of a one-line error."""
    (tmp_path / "a-file").write_text("")
    serve = ("serve", "--port", "0", "--no-http")
    for args in [
        (*serve, "--log-level", "loud"),
        (*serve, "--workers", "0"),
        (*serve, "--data-dir", "a-file"),
        (*serve, "--database-url", "postgresql+nosuchdriver://u@127.0.0.1:1/x"),
        ("migrate", "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none"),
        ("migrate", "--database-url", f"sqlite:///{tmp_path / 'a-file' / 'db.sqlite'}"),
    ]:
        result = _cli(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert result.stderr.startswith("lineage: "), (args, result.stderr)


def test_readme_mlmd_example_runs_against_the_demo_types(sqlite_server: LineageServer) -> None:
    """The README's MLMD client block, as written (port replaced), on a store whose
    system.Model type has no `accuracy` property (what `lineage demo` records)."""
    import re

    client = sqlite_server.client()
    client.put_artifact_type(pb.ArtifactType(name="system.Model"))
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Using it from MLMD's client") :]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[0]
    code = code.replace("port=8080", f"port={sqlite_server.port}")
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert [m.uri for m in namespace["models"]] == ["s3://models/1"]


def test_default_serve_uses_lineage_data(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "lineage.cli", "serve", "--port", "0", "--no-http"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert any("127.0.0.1:" in line for line in lines), lines
        assert (tmp_path / "lineage-data" / "metadata.sqlite").exists()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped" in out


def test_get_without_options_returns_everything(sqlite_server: LineageServer) -> None:
    """MLMD's server pages only when asked to: no options means every node."""
    s = stub(sqlite_server)
    type_id = s.PutArtifactType(
        svc.PutArtifactTypeRequest(artifact_type=pb.ArtifactType(name="T"))
    ).type_id
    s.PutArtifacts(
        svc.PutArtifactsRequest(artifacts=[pb.Artifact(type_id=type_id) for _ in range(150)])
    )
    everything = s.GetArtifacts(svc.GetArtifactsRequest())
    assert len(everything.artifacts) == 150 and not everything.next_page_token
    page = s.GetArtifacts(
        svc.GetArtifactsRequest(options=pb.ListOperationOptions(max_result_size=100))
    )
    assert len(page.artifacts) == 100 and page.next_page_token


def test_every_rpc_of_the_service_is_implemented() -> None:
    """All 52 RPCs of ml_metadata.MetadataStoreService have a handler of ours."""
    from lineage.server.mlmd.service import MetadataStoreService

    methods = svc.DESCRIPTOR.services_by_name["MetadataStoreService"].methods
    assert len(methods) == 52
    missing = [
        m.name
        for m in methods
        if getattr(MetadataStoreService, m.name)
        is getattr(svc_grpc.MetadataStoreServiceServicer, m.name)
    ]
    assert missing == []
