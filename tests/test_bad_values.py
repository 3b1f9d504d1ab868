"""Values a client can store that once broke later reads, and inputs that once crashed
a command: each now gets a clear answer (found probing every interface with bad input).

A real ``lineage serve`` (SQLite, HTTP on) and the real clients: MLMD's, the native
gRPC stub, HTTP.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import struct_pb2
from lineage_server import LineageServer
from ml_metadata.proto import metadata_store_pb2 as mlmd
from ml_metadata.proto import metadata_store_service_pb2 as svc

from lineage._proto.lineage.v1 import lineage_pb2 as pb
from lineage._proto.lineage.v1 import lineage_pb2_grpc as pb_grpc

NOT_UTF8 = b"\xff\xfeab\xc0\x80"


class Served:
    def __init__(self, server: LineageServer) -> None:
        self.server = server
        self.mlmd = server.client()
        self.channel = grpc.insecure_channel(server.address)
        self.native = pb_grpc.LineageServiceStub(self.channel)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", timeout=60)

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        # Strict JSON: a bare NaN or Infinity (which json.loads would take) is refused.
        body: dict[str, Any] = json.loads(response.text, parse_constant=_not_json)
        return body

    def raw_mlmd(self, method: str, request: Any, marker: bytes = b"MARKER") -> grpc.RpcError:
        """Send ``request`` with ``marker`` replaced by bytes that are not UTF-8."""
        call = self.channel.unary_unary(
            f"/ml_metadata.MetadataStoreService/{method}",
            request_serializer=lambda data: data,
            response_deserializer=lambda data: data,
        )
        with pytest.raises(grpc.RpcError) as caught:
            call(request.SerializeToString().replace(marker, NOT_UTF8))
        return caught.value


def _not_json(constant: str) -> Any:
    raise AssertionError(f"the response holds {constant}, which is not JSON")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("bad-values")
    server = LineageServer(f"sqlite:///{tmp / 'db.sqlite'}", tmp / "data", http=True).start()
    try:
        yield Served(server)
    finally:
        server.stop()


def _types(s: Any) -> tuple[int, int]:
    at = s.put_artifact_type(mlmd.ArtifactType(name="bad.File"))
    et = s.put_execution_type(mlmd.ExecutionType(name="bad.Step"))
    return at, et


def test_times_past_what_a_date_holds_do_not_break_reads(served: Served) -> None:
    s = served.mlmd
    at, et = _types(s)
    [artifact] = s.put_artifacts([mlmd.Artifact(type_id=at, uri="/t")])
    late = mlmd.Execution(type_id=et, name="late", last_known_state=mlmd.Execution.COMPLETE)
    late.custom_properties["lineage_end_time_ms"].int_value = 10**17
    [execution] = s.put_executions([late])
    s.put_events(
        [
            mlmd.Event(
                artifact_id=artifact,
                execution_id=execution,
                type=mlmd.Event.OUTPUT,
                milliseconds_since_epoch=2**62,
            )
        ]
    )
    body = served.graphql(
        "query($e: ID!, $a: ID!) {"
        "  node(id: $e) { ... on Execution { mlmdId endTime durationSeconds } }"
        "  a: node(id: $a) { ... on Artifact { events { time } } }"
        "  executions(first: 100) { nodes { mlmdId startTime endTime } } }",
        e=f"Execution:{execution}",
        a=f"Artifact:{artifact}",
    )
    assert "errors" not in body, body["errors"]
    assert body["data"]["node"]["endTime"] is None  # not a date: no date, not a failure
    assert body["data"]["a"]["events"] == [{"time": None}]

    # A step report's own times are checked where they come in.
    micros = int(time.time() * 1_000_000)
    with pytest.raises(grpc.RpcError) as caught:
        served.native.ReportStep(
            pb.ReportStepRequest(
                idempotency_key=uuid.uuid4().hex,
                pipeline="bad-times",
                run="bad-times-1",
                step="train",
                state=3,
                start_time_ms=micros,
                end_time_ms=micros + 5,
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "milliseconds since the epoch" in (caught.value.details() or "")
    runs = served.graphql("{ pipelineRuns(first: 50) { nodes { name } } }")
    assert "errors" not in runs
    assert "bad-times-1" not in {n["name"] for n in runs["data"]["pipelineRuns"]["nodes"]}


def test_an_artifact_uri_naming_a_directory_is_not_found(served: Served) -> None:
    s = served.mlmd
    at, _ = _types(s)
    directory = served.server.data_dir / "blobs" / "a-directory"
    directory.mkdir(parents=True)
    [artifact] = s.put_artifacts([mlmd.Artifact(type_id=at, uri=directory.as_uri())])
    response = served.http.get(f"/artifacts/{artifact}/download")
    assert response.status_code == 404, response.text
    assert "directory" in response.text
    with pytest.raises(grpc.RpcError) as caught:
        list(served.native.DownloadBlob(pb.DownloadBlobRequest(artifact_id=artifact)))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_page_tokens_and_lineage_filters_that_are_not_utf8(served: Served) -> None:
    token = mlmd.ListOperationOptions(next_page_token="MARKER")
    requests = [
        ("GetArtifacts", svc.GetArtifactsRequest(options=token)),
        ("GetExecutions", svc.GetExecutionsRequest(options=token)),
        ("GetContextsByType", svc.GetContextsByTypeRequest(type_name="t", options=token)),
        ("GetArtifactsByContext", svc.GetArtifactsByContextRequest(context_id=1, options=token)),
        ("GetArtifacts", svc.GetArtifactsRequest(options={"filter_query": "MARKER"})),
    ]
    for part in ("starting_artifacts", "ending_artifacts"):
        options = mlmd.LineageSubgraphQueryOptions(max_num_hops=2)
        options.starting_artifacts.filter_query = "id = 1"
        getattr(options, part).filter_query = "name = 'MARKER'"
        requests.append(
            (
                "GetLineageSubgraph",
                svc.GetLineageSubgraphRequest(lineage_subgraph_query_options=options),
            )
        )
    for method, request in requests:
        error = served.raw_mlmd(method, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (method, error.details())
        assert "not valid UTF-8" in (error.details() or ""), (method, error.details())


def test_structs_too_deep_or_not_finite(served: Served) -> None:
    s = served.mlmd
    at, _ = _types(s)
    [artifact] = s.put_artifacts([mlmd.Artifact(type_id=at, name="structs", uri="/s")])
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(700):
        deep = {"a": deep}
    body = served.graphql(
        "mutation($id: ID!, $v: JSON) { setCustomProperties(id: $id, "
        '  set: [{name: "deep", structValue: $v}]) { id } }',
        id=f"Artifact:{artifact}",
        v=deep,
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT", body
    assert "nested too deeply" in body["errors"][0]["message"]
    assert "deep" not in s.get_artifacts_by_id([artifact])[0].custom_properties

    # MLMD keeps NaN and infinities inside a struct; GraphQL still answers JSON.
    odd = struct_pb2.Struct()
    odd.update({"nan": float("nan"), "up": float("inf"), "down": float("-inf"), "n": 1.5})
    stored = mlmd.Artifact(type_id=at, name="odd-struct", uri="/o")
    stored.custom_properties["odd"].struct_value.CopyFrom(odd)
    [odd_id] = s.put_artifacts([stored])
    body = served.graphql(
        "query($a: ID!) { node(id: $a) { ... on Artifact { customProperties { name value } } } }",
        a=f"Artifact:{odd_id}",
    )
    assert "errors" not in body, body
    [prop] = body["data"]["node"]["customProperties"]
    assert prop["value"] == {"nan": "NaN", "up": "Infinity", "down": "-Infinity", "n": 1.5}


def _lineage(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lineage.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("serve", "--max-message-mb", "2048"), "max_message_mb must be at most 2047"),
        (("serve", "--blob-store", "ftp://127.0.0.1:1/x"), "cannot open blob store"),
        (("gc", "--grace", "99999999999999999999d"), "too long"),
        (("graphql-schema", "-o", "/nonexistent-dir/schema.graphql"), "cannot write"),
        (("report", ""), "RUN is empty"),
    ],
)
def test_commands_refuse_bad_settings_in_one_line(
    args: tuple[str, ...], words: str, tmp_path: Path
) -> None:
    if args[0] in ("serve", "gc", "report"):
        args = (*args, "--data-dir", str(tmp_path / "data"))
    done = _lineage(*args, cwd=tmp_path)
    assert done.returncode in (1, 2), done
    assert words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout, done.stderr


def test_odd_tokens_path_indexes_and_blob_sizes(served: Served) -> None:
    from ml_metadata import errors

    s = served.mlmd
    at, et = _types(s)
    nested = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode()
    request = svc.GetArtifactsRequest(options=mlmd.ListOperationOptions(next_page_token=nested))
    response = svc.GetArtifactsResponse()
    with pytest.raises(errors.InvalidArgumentError, match="next_page_token is malformed"):
        s._call("GetArtifacts", request, response)

    [artifact] = s.put_artifacts([mlmd.Artifact(type_id=at, uri="/p")])
    [execution] = s.put_executions([mlmd.Execution(type_id=et)])
    far = mlmd.Event(artifact_id=artifact, execution_id=execution, type=mlmd.Event.INPUT)
    far.path.steps.add().index = 2**40
    with pytest.raises(errors.InvalidArgumentError, match="does not fit in 32 bits"):
        s.put_events([far])
    assert s.get_events_by_execution_ids([execution]) == []

    negative = pb.StepArtifact(
        key="model",
        artifact=pb.ArtifactRecord(
            schema_title="system.Model", blob=pb.BlobRef(sha256="ab" * 32, size=-5)
        ),
    )
    with pytest.raises(grpc.RpcError) as caught:
        served.native.ReportStep(
            pb.ReportStepRequest(
                idempotency_key=uuid.uuid4().hex,
                pipeline="bad-sizes",
                run="bad-sizes-1",
                step="train",
                state=3,
                outputs=[negative],
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "negative" in (caught.value.details() or "")


def test_resolving_an_artifact_with_a_proto_property(served: Served) -> None:
    s = served.mlmd
    at, _ = _types(s)
    artifact = mlmd.Artifact(type_id=at, uri="/proto")
    artifact.custom_properties["any"].proto_value.Pack(mlmd.Value(int_value=7))
    [artifact_id] = s.put_artifacts([artifact])
    response = served.native.ResolveArtifacts(
        pb.ResolveArtifactsRequest(refs=[pb.ArtifactRecord(id=artifact_id)])
    )
    [found] = response.artifacts
    assert found.id == artifact_id
    packed = found.custom_properties["any"].struct_value
    assert packed["typeUrl"] == "type.googleapis.com/ml_metadata.Value"
    assert base64.b64decode(packed["value"]) == mlmd.Value(int_value=7).SerializeToString()
