"""The GraphQL API over HTTP against a running ``lineage serve``, on SQLite, PostgreSQL
and MariaDB: lists with filters and Relay paging, nodes by id, pipeline runs, run
metrics and comparisons, lineage, mutations, errors and limits, and subscriptions over
websocket (graphql-transport-ws).

One server per backend for the module (data written through the Store before it
starts); tests that write use runs no other test reads.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from lineage_server import LineageServer
from test_graphql_data import Data, gid, populate

from lineage import model
from lineage.store.store import ArtifactAndEvent, Store

RUNS = 12
# Runs the write tests use (no read test looks at them).
MUTATED_RUN = 10
SUBSCRIBED_RUN = 9  # RUNNING (9 % 5 == 4)


@dataclass
class Served:
    server: LineageServer
    data: Data
    url: str
    http: httpx.Client

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def data_of(self, query: str, **variables: Any) -> dict[str, Any]:
        body = self.query(query, **variables)
        assert "errors" not in body, body["errors"]
        result: dict[str, Any] = body["data"]
        return result

    def error_of(self, query: str, **variables: Any) -> dict[str, Any]:
        body = self.query(query, **variables)
        assert body.get("errors"), body
        error: dict[str, Any] = body["errors"][0]
        return error


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp(f"graphql-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'db.sqlite'}"
    else:
        fixture = "postgres_server" if request.param == "postgresql" else "mysql_server"
        url = request.getfixturevalue(fixture).create_database()
    store = Store.open(url)
    try:
        data = populate(store, RUNS)
    finally:
        store.close()
    server = LineageServer(url, tmp / "data", http=True).start()
    assert server.http_port, server.output
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30)
    yield Served(server, data, url, client)
    client.close()
    server.stop()


# --- serving ---------------------------------------------------------------------------------


def test_graphiql_in_a_browser_and_get_queries(served: Served) -> None:
    page = served.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    got = served.http.get("/graphql", params={"query": "{ types(kind: CONTEXT) { name } }"})
    assert got.status_code == 200
    names = [t["name"] for t in got.json()["data"]["types"]]
    assert names == ["system.Pipeline", "system.PipelineRun"]


# --- lists -------------------------------------------------------------------------------------


ARTIFACTS = """
query($filter: String, $types: [String!], $states: [ArtifactState!], $created: TimeRange,
      $order: Order, $first: Int, $after: String, $last: Int, $before: String,
      $contextId: ID, $labels: [String!]) {
  artifacts(filter: $filter, types: $types, states: $states, created: $created,
            orderBy: $order, first: $first, after: $after, last: $last, before: $before,
            contextId: $contextId, labels: $labels) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id mlmdId typeName uri state createTimeSinceEpoch } }
  }
}"""


def _ids(connection: dict[str, Any]) -> list[int]:
    return [e["node"]["mlmdId"] for e in connection["edges"]]


def test_artifacts_filter_language_type_state_and_time(served: Served) -> None:
    data = served.data
    models = sorted(r.model_id for r in data.runs)
    got = served.data_of(ARTIFACTS, types=["system.Model"], first=100)["artifacts"]
    assert _ids(got) == models and got["totalCount"] == len(models)
    assert {e["node"]["typeName"] for e in got["edges"]} == {"system.Model"}
    # MLMD's filter_query language, as in GetArtifacts
    accurate = sorted(r.metrics_id for r in data.runs if r.accuracy and r.accuracy > 0.805)
    got = served.data_of(
        ARTIFACTS,
        filter="type = 'system.Metrics' AND custom_properties.accuracy.double_value > 0.805",
        first=100,
    )["artifacts"]
    assert _ids(got) == accurate and got["totalCount"] == len(accurate)
    run0 = data.runs[0]
    got = served.data_of(ARTIFACTS, filter=f"contexts_r.name = '{run0.name}'")["artifacts"]
    assert _ids(got) == sorted(
        i for i in (run0.dataset_id, run0.model_id, run0.metrics_id) if i is not None
    )
    # states, and a filter combined with the other arguments (AND)
    assert served.data_of(ARTIFACTS, states=["DELETED"])["artifacts"]["totalCount"] == 0
    live_models = served.data_of(ARTIFACTS, types=["system.Model"], states=["LIVE", "PENDING"])
    assert live_models["artifacts"]["totalCount"] == len([r for r in data.runs if r.model_id]) - (
        1 if _mutated_state(served) else 0
    )
    # time range: everything created after the 6th model, and before it
    sixth = served.data_of(ARTIFACTS, filter=f"id = {models[5]}")["artifacts"]["edges"][0]
    created = sixth["node"]["createTimeSinceEpoch"]
    iso = _iso(created)
    after = served.data_of(ARTIFACTS, types=["system.Model"], created={"after": iso}, first=100)
    before = served.data_of(ARTIFACTS, types=["system.Model"], created={"before": iso}, first=100)
    assert sorted(_ids(before["artifacts"]) + _ids(after["artifacts"])) == models
    assert models[5] in _ids(after["artifacts"])
    # by context id (global or MLMD id)
    by_context = served.data_of(ARTIFACTS, contextId=gid("PipelineRun", run0.context_id))
    assert _ids(by_context["artifacts"]) == _ids(got)


def _mutated_state(served: Served) -> bool:
    """Whether the mutation test already changed the MUTATED_RUN model's state."""
    got = served.data_of(
        "query($id: ID!) { node(id: $id) { ... on Artifact { state } } }",
        id=gid("Artifact", served.data.runs[MUTATED_RUN].model_id),
    )
    return bool(got["node"]["state"] not in ("LIVE", "PENDING"))


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def test_relay_paging_forward_backward_and_ordering(served: Served) -> None:
    everything = served.data_of(ARTIFACTS, first=100)["artifacts"]
    all_ids = _ids(everything)
    assert all_ids == sorted(all_ids) and everything["totalCount"] == len(all_ids)
    assert not everything["pageInfo"]["hasNextPage"]
    # forward, 5 a page
    seen: list[int] = []
    after = None
    while True:
        page = served.data_of(ARTIFACTS, first=5, after=after)["artifacts"]
        seen += _ids(page)
        assert page["totalCount"] == len(all_ids)
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == all_ids
    # backward from the end, 4 a page
    seen = []
    before = None
    while True:
        page = served.data_of(ARTIFACTS, last=4, before=before)["artifacts"]
        seen = _ids(page) + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == all_ids
    # newest first by creation time, paged, is the reverse of creation order
    order = {"field": "CREATE_TIME", "direction": "DESC"}
    first = served.data_of(ARTIFACTS, order=order, first=7)["artifacts"]
    rest = served.data_of(ARTIFACTS, order=order, first=100, after=first["pageInfo"]["endCursor"])
    desc = _ids(first) + _ids(rest["artifacts"])
    times = {e["node"]["mlmdId"]: e["node"]["createTimeSinceEpoch"] for e in everything["edges"]}
    assert desc == sorted(all_ids, key=lambda i: (times[i], i), reverse=True)
    # a cursor only works with the arguments that made it
    error = served.error_of(ARTIFACTS, first=5, after=first["pageInfo"]["endCursor"])
    assert error["extensions"]["code"] == "INVALID_ARGUMENT"
    assert "cursor" in error["message"] and "other filters or order" in error["message"]


def test_executions_and_contexts(served: Served) -> None:
    data = served.data
    query = """query($states: [ExecutionState!], $contextId: ID, $filter: String) {
      executions(states: $states, contextId: $contextId, filter: $filter, first: 100) {
        totalCount nodes { mlmdId state displayName typeName durationSeconds
                          parameters run { name } } } }"""
    failed = served.data_of(query, states=["FAILED"])["executions"]
    assert sorted(n["mlmdId"] for n in failed["nodes"]) == sorted(
        r.step_ids["evaluate"] for r in data.runs if r.state == "FAILED"
    )
    assert {n["displayName"] for n in failed["nodes"]} == {"evaluate"}
    run = data.runs[1]
    steps = served.data_of(query, contextId=str(run.context_id))["executions"]
    assert steps["totalCount"] == 4
    assert [n["displayName"] for n in steps["nodes"]] == ["root", "ingest", "train", "evaluate"]
    assert all(n["run"]["name"] == run.name for n in steps["nodes"])
    train = steps["nodes"][2]
    assert train["parameters"] == {"lr": pytest.approx(run.lr)}
    assert train["durationSeconds"] is not None and train["durationSeconds"] >= 0
    by_filter = served.data_of(
        query, filter="custom_properties.display_name.string_value = 'ingest'"
    )["executions"]
    assert by_filter["totalCount"] == RUNS
    contexts = served.data_of(
        """{ contexts(types: ["system.Pipeline"]) { totalCount nodes { name typeName
             executionCount artifactCount children { name } } } }"""
    )["contexts"]
    assert [c["name"] for c in contexts["nodes"]] == ["pipeline-a", "pipeline-b"]
    a = contexts["nodes"][0]
    assert [c["name"] for c in a["children"]] == [
        r.name for r in data.runs if r.pipeline == "pipeline-a"
    ]
    runs = served.data_of(
        """{ contexts(filter: "type = 'system.PipelineRun' AND name LIKE 'run-1%'") {
             nodes { name executionCount executions(first: 2) { displayName }
                     artifacts(first: 1) { typeName } parents { name } } } }"""
    )["contexts"]["nodes"]
    assert [r["name"] for r in runs] == ["run-1", "run-10", "run-11"]
    assert runs[0]["executionCount"] == 4
    assert [e["displayName"] for e in runs[0]["executions"]] == ["root", "ingest"]
    assert [a["typeName"] for a in runs[0]["artifacts"]] == ["system.Dataset"]
    assert runs[0]["parents"] == [{"name": "pipeline-b"}]


def test_types(served: Served) -> None:
    got = served.data_of("""{ types { __typename id mlmdId name properties { name type } } }""")[
        "types"
    ]
    names = {t["name"]: t["__typename"] for t in got}
    assert names["system.Model"] == "ArtifactType"
    assert names["system.ContainerExecution"] == "ExecutionType"
    assert names["system.PipelineRun"] == "ContextType"
    one = served.data_of('{ types(kind: ARTIFACT, name: "system.Metrics") { mlmdId } }')
    assert one["types"] == [{"mlmdId": served.data.types["system.Metrics"]}]
    model_type = next(t for t in got if t["name"] == "system.Model")
    node = served.data_of(
        "query($id: ID!) { node(id: $id) { __typename ... on NodeType { name } } }",
        id=model_type["id"],
    )
    assert node["node"] == {"__typename": "ArtifactType", "name": "system.Model"}


# --- nodes by id ---------------------------------------------------------------------------------

NODE = """query($id: ID!) { node(id: $id) { __typename id ... on MetadataNode { mlmdId name typeName } } }"""


def test_node_by_global_id(served: Served) -> None:
    run = served.data.runs[0]
    cases = [
        ("Artifact", run.model_id, "system.Model"),
        ("Execution", run.step_ids["train"], "system.ContainerExecution"),
        ("Context", run.context_id, "system.PipelineRun"),
        ("PipelineRun", run.context_id, "system.PipelineRun"),
    ]
    for typename, mlmd_id, type_name in cases:
        node = served.data_of(NODE, id=gid(typename, mlmd_id))["node"]
        assert node["__typename"] == typename
        assert node["id"] == gid(typename, mlmd_id)
        assert (node["mlmdId"], node["typeName"]) == (mlmd_id, type_name)
    # the readable form works too; a missing node is null; a pipeline context is no run
    assert served.data_of(NODE, id=f"Artifact:{run.model_id}")["node"]["mlmdId"] == run.model_id
    assert served.data_of(NODE, id=gid("Artifact", 10**9))["node"] is None
    pipeline = served.data.pipeline_ids["pipeline-a"]
    assert served.data_of(NODE, id=gid("PipelineRun", pipeline))["node"] is None
    many = served.data_of(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }",
        ids=[gid("Artifact", run.model_id), gid("Execution", 10**9), gid("Context", pipeline)],
    )["nodes"]
    assert many == [{"__typename": "Artifact"}, None, {"__typename": "Context"}]
    error = served.error_of(NODE, id="not-an-id")
    assert error["extensions"]["code"] == "INVALID_ARGUMENT"
    assert "'not-an-id' is not a node id" in error["message"]


# --- pipeline runs -----------------------------------------------------------------------------

RUNS_PAGE = """
query($first: Int, $after: String, $pipeline: String, $states: [RunState!], $filter: String) {
  pipelineRuns(first: $first, after: $after, pipeline: $pipeline, states: $states, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id mlmdId name state startTime endTime durationSeconds stepCount
      stepCounts { state count }
      pipeline { name }
      steps { displayName state startTime endTime durationSeconds
              inputs { typeName } outputs { typeName uri } }
      metrics { name qualifiedName value artifact { uri } }
      parameters { name value step { displayName } }
    } }
  }
}"""


def test_pipeline_runs_with_steps_states_and_durations(served: Served) -> None:
    data = served.data
    got = served.data_of(RUNS_PAGE, first=100)["pipelineRuns"]
    assert got["totalCount"] == RUNS
    nodes = [e["node"] for e in got["edges"]]
    # newest first
    assert [n["mlmdId"] for n in nodes] == [r.context_id for r in reversed(data.runs)]
    by_name = {n["name"]: n for n in nodes}
    for index, run in enumerate(data.runs):
        node = by_name[run.name]
        if index == MUTATED_RUN or index == SUBSCRIBED_RUN:
            continue
        assert node["state"] == run.state, run.name
        assert node["pipeline"] == {"name": run.pipeline}
        assert node["stepCount"] == 4
        assert [s["displayName"] for s in node["steps"]] == ["root", "ingest", "train", "evaluate"]
        train = node["steps"][2]
        assert [a["typeName"] for a in train["inputs"]] == ["system.Dataset"]
        assert [a["typeName"] for a in train["outputs"]] == ["system.Model"]
        assert train["endTime"] is not None and train["durationSeconds"] >= 0
        assert node["startTime"] is not None
        if run.state == "RUNNING":
            assert node["endTime"] is None
            assert node["steps"][3]["endTime"] is None
        else:
            assert node["endTime"] is not None and node["durationSeconds"] >= 0
        counts = {c["state"]: c["count"] for c in node["stepCounts"]}
        assert sum(counts.values()) == 4
        if run.accuracy is not None:
            assert {m["name"]: m["value"] for m in node["metrics"]} == {
                "accuracy": pytest.approx(run.accuracy),
                "loss": pytest.approx(1 - run.accuracy),
            }
            assert node["metrics"][0]["qualifiedName"] == "metrics.accuracy"
            assert node["metrics"][0]["artifact"]["uri"].endswith("/metrics")
        else:
            assert node["metrics"] == []
        params = {p["name"]: (p["value"], p["step"]["displayName"]) for p in node["parameters"]}
        assert params["lr"] == (pytest.approx(run.lr), "root")
        assert params["train.lr"] == (pytest.approx(run.lr), "train")
        assert params["epochs"][0] == 5 + index % 3
    # filters: by pipeline, by derived state, and the filter language on the run context
    only_b = served.data_of(RUNS_PAGE, pipeline="pipeline-b", first=100)["pipelineRuns"]
    assert {e["node"]["name"] for e in only_b["edges"]} == {
        r.name for r in data.runs if r.pipeline == "pipeline-b"
    }
    failed = served.data_of(RUNS_PAGE, states=["FAILED"])["pipelineRuns"]
    assert {e["node"]["name"] for e in failed["edges"]} == {
        r.name for r in data.runs if r.state == "FAILED"
    }
    named = served.data_of(RUNS_PAGE, filter="name = 'run-2'")["pipelineRuns"]
    assert [e["node"]["name"] for e in named["edges"]] == ["run-2"]
    # paging 5 at a time gives the same runs
    names: list[str] = []
    after = None
    while True:
        page = served.data_of(RUNS_PAGE, first=5, after=after)["pipelineRuns"]
        names += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert names == [n["name"] for n in nodes]
    one = served.data_of('{ pipelineRun(name: "run-3") { mlmdId state } }')["pipelineRun"]
    assert one == {"mlmdId": data.runs[3].context_id, "state": "FAILED"}
    assert served.data_of('{ pipelineRun(name: "nope") { mlmdId } }')["pipelineRun"] is None


def test_run_metrics_table_and_comparison(served: Served) -> None:
    data = served.data
    runs = [data.runs[i] for i in (0, 1, 2, 3)]  # run 3 failed: no metrics
    ids = [gid("PipelineRun", r.context_id) for r in runs[:3]] + [str(runs[3].context_id)]
    got = served.data_of(
        """query($ids: [ID!]!) {
          runMetrics(runIds: $ids) { columns rows { run { name } values metrics { name } } }
          compareRuns(runIds: $ids) {
            runs { name }
            parameters { name values differs }
            metrics { name values differs }
          } }""",
        ids=ids,
    )
    table = got["runMetrics"]
    assert table["columns"] == ["accuracy", "loss"]
    assert [r["run"]["name"] for r in table["rows"]] == [r.name for r in runs]
    for row, run in zip(table["rows"], runs, strict=True):
        if run.accuracy is None:
            assert row["values"] == [None, None] and row["metrics"] == []
        else:
            assert row["values"] == [pytest.approx(run.accuracy), pytest.approx(1 - run.accuracy)]
    comparison = got["compareRuns"]
    assert [r["name"] for r in comparison["runs"]] == [r.name for r in runs]
    parameters = {p["name"]: p for p in comparison["parameters"]}
    assert set(parameters) == {"epochs", "lr", "train.lr"}
    assert parameters["lr"]["values"] == [pytest.approx(r.lr) for r in runs]
    assert parameters["lr"]["differs"] is True
    metrics = {m["name"]: m for m in comparison["metrics"]}
    assert metrics["accuracy"]["values"][3] is None and metrics["accuracy"]["differs"]
    same = served.data_of(
        "query($ids: [ID!]!) { compareRuns(runIds: $ids) { parameters { name differs } } }",
        ids=[str(runs[0].context_id), str(runs[0].context_id)],
    )
    assert not any(p["differs"] for p in same["compareRuns"]["parameters"])
    # a context that is no run, a missing run, no runs
    pipeline = str(data.pipeline_ids["pipeline-a"])
    error = served.error_of(
        "query($ids: [ID!]!) { runMetrics(runIds: $ids) { columns } }", ids=[pipeline]
    )
    assert (
        error["extensions"]["code"] == "INVALID_ARGUMENT"
        and "not a system.PipelineRun" in error["message"]
    )
    error = served.error_of('{ runMetrics(runIds: ["999999"]) { columns } }')
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = served.error_of("{ compareRuns(runIds: []) { runs { name } } }")
    assert "at least one run" in error["message"]


def test_run_metrics_keep_same_named_outputs_of_two_steps(served: Served) -> None:
    """Two steps of a run each write an output called 'metrics' with 'accuracy' (KFP's
    usual layout): both values get a column; neither hides the other."""
    types = served.data.types
    store = Store.open(served.url)
    try:
        ctx = model.Context(type_id=types["system.PipelineRun"], name="two-metrics-run")
        [ctx.id] = store.put_nodes("context", [ctx])
        for step, accuracy in (("train", 0.91), ("evaluate", 0.87)):
            store.put_execution(
                model.Execution(
                    type_id=types["system.ContainerExecution"],
                    last_known_state=model.ExecutionState.COMPLETE,
                    custom_properties={"display_name": model.Value.of(step)},
                ),
                [
                    ArtifactAndEvent(
                        model.Artifact(
                            type_id=types["system.Metrics"],
                            custom_properties={
                                "display_name": model.Value.of("metrics"),
                                "accuracy": model.Value.of(accuracy),
                            },
                        ),
                        model.Event(type=model.EventType.OUTPUT),
                    )
                ],
                [ctx],
            )
    finally:
        store.close()
    got = served.data_of(
        """query($ids: [ID!]!) {
          runMetrics(runIds: $ids) { columns rows { values } }
          compareRuns(runIds: $ids) { metrics { name values } } }""",
        ids=[str(ctx.id)],
    )
    table = got["runMetrics"]
    assert table["columns"] == ["metrics.accuracy", "metrics.accuracy#2"]
    assert table["rows"][0]["values"] == [pytest.approx(0.91), pytest.approx(0.87)]
    compared = {m["name"]: m["values"] for m in got["compareRuns"]["metrics"]}
    assert compared == {
        "metrics.accuracy": [pytest.approx(0.91)],
        "metrics.accuracy#2": [pytest.approx(0.87)],
    }


# --- lineage -------------------------------------------------------------------------------------

LINEAGE = """
query($from: LineageStart!, $direction: LineageDirection, $depth: Int, $maxNodes: Int) {
  lineage(from: $from, direction: $direction, depth: $depth, maxNodes: $maxNodes) {
    truncated
    nodes { id hops artifact { mlmdId typeName } execution { mlmdId displayName } }
    edges { source target type artifactId executionId }
  }
}"""


def _lineage_ids(graph: dict[str, Any]) -> set[tuple[str, int]]:
    out = set()
    for node in graph["nodes"]:
        if node["artifact"]:
            out.add(("a", node["artifact"]["mlmdId"]))
        else:
            out.add(("e", node["execution"]["mlmdId"]))
    return out


def test_lineage_directions_depth_and_edges(served: Served) -> None:
    run = served.data.runs[0]
    assert run.metrics_id is not None
    start = {"artifactId": gid("Artifact", run.model_id)}
    up = served.data_of(LINEAGE, **{"from": start, "direction": "UPSTREAM", "depth": 5})["lineage"]
    assert _lineage_ids(up) == {
        ("a", run.model_id),
        ("e", run.step_ids["train"]),
        ("a", run.dataset_id),
        ("e", run.step_ids["ingest"]),
    }
    hops = {n["id"]: n["hops"] for n in up["nodes"]}
    assert hops[gid("Artifact", run.model_id)] == 0
    assert hops[gid("Execution", run.step_ids["ingest"])] == 3
    edges = {(e["source"], e["target"], e["type"]) for e in up["edges"]}
    assert (
        gid("Artifact", run.dataset_id),
        gid("Execution", run.step_ids["train"]),
        "INPUT",
    ) in edges
    assert (
        gid("Execution", run.step_ids["train"]),
        gid("Artifact", run.model_id),
        "OUTPUT",
    ) in edges
    down = served.data_of(LINEAGE, **{"from": start, "direction": "DOWNSTREAM"})["lineage"]
    assert _lineage_ids(down) == {
        ("a", run.model_id),
        ("e", run.step_ids["evaluate"]),
        ("a", run.metrics_id),
    }
    both = served.data_of(LINEAGE, **{"from": start, "depth": 1})["lineage"]
    assert _lineage_ids(both) == {
        ("a", run.model_id),
        ("e", run.step_ids["train"]),
        ("e", run.step_ids["evaluate"]),
    }
    # from an execution, by bare MLMD id; truncated to the nearest nodes
    small = served.data_of(
        LINEAGE,
        **{"from": {"executionId": str(run.step_ids["train"])}, "depth": 5, "maxNodes": 3},
    )["lineage"]
    assert small["truncated"] is True and len(small["nodes"]) == 3
    assert max(n["hops"] for n in small["nodes"]) == 1
    error = served.error_of(LINEAGE, **{"from": {"artifactId": "Artifact:999999"}})
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = served.error_of(LINEAGE, **{"from": {}})
    assert "exactly one of artifactId and executionId" in error["message"]
    error = served.error_of(LINEAGE, **{"from": start, "depth": 11})
    assert "depth must be between 0 and 10" in error["message"]
    error = served.error_of(LINEAGE, **{"from": {"artifactId": gid("Execution", 1)}})
    assert "is the id of a Execution, expected Artifact" in error["message"]


# --- mutations ----------------------------------------------------------------------------------


def test_mutations_state_custom_properties_labels_notes(served: Served) -> None:
    run = served.data.runs[MUTATED_RUN]
    artifact = gid("Artifact", run.model_id)
    got = served.data_of(
        """mutation($id: ID!) { setArtifactState(id: $id, state: MARKED_FOR_DELETION) {
             state mlmdId lastUpdateTimeSinceEpoch } }""",
        id=artifact,
    )["setArtifactState"]
    assert got["state"] == "MARKED_FOR_DELETION"
    props = served.data_of(
        """mutation($id: ID!, $set: [CustomPropertyInput!], $remove: [String!]) {
             setCustomProperties(id: $id, set: $set, remove: $remove) {
               __typename ... on Artifact { state }
               customProperties { name type value } lastUpdateTimeSinceEpoch } }""",
        id=artifact,
        set=[
            {"name": "owner", "stringValue": "ana"},
            {"name": "reviewed", "boolValue": True},
            {"name": "epochs", "intValue": 2**40},
            {"name": "score", "doubleValue": 0.25},
            {"name": "extra", "structValue": {"a": [1, 2], "b": {"c": "d"}}},
        ],
        remove=["framework"],
    )["setCustomProperties"]
    assert props["__typename"] == "Artifact" and props["state"] == "MARKED_FOR_DELETION"
    custom = {p["name"]: (p["type"], p["value"]) for p in props["customProperties"]}
    assert "framework" not in custom
    assert custom["owner"] == ("STRING", "ana")
    assert custom["reviewed"] == ("BOOLEAN", True)
    assert custom["epochs"] == ("INT", 2**40)
    assert custom["score"] == ("DOUBLE", 0.25)
    assert custom["extra"] == ("STRUCT", {"a": [1, 2], "b": {"c": "d"}})
    assert custom["display_name"] == ("STRING", "model")  # untouched
    # optimistic concurrency: a stale time is refused
    stale = props["lastUpdateTimeSinceEpoch"] - 1
    error = served.error_of(
        """mutation($id: ID!, $t: Long) { setCustomProperties(id: $id,
             set: [{name: "owner", stringValue: "bo"}], expectedLastUpdateTimeSinceEpoch: $t) { id } }""",
        id=artifact,
        t=stale,
    )
    assert error["extensions"]["code"] == "FAILED_PRECONDITION"
    ok = served.data_of(
        """mutation($id: ID!, $t: Long) { setCustomProperties(id: $id,
             set: [{name: "owner", stringValue: "bo"}], expectedLastUpdateTimeSinceEpoch: $t) {
             customProperty(name: "owner") { stringValue } } }""",
        id=artifact,
        t=props["lastUpdateTimeSinceEpoch"],
    )
    assert ok["setCustomProperties"]["customProperty"] == {"stringValue": "bo"}
    # labels and notes on an execution, a context and a run
    for target in (
        gid("Execution", run.step_ids["train"]),
        gid("Context", served.data.pipeline_ids["pipeline-b"]),
        gid("PipelineRun", run.context_id),
    ):
        labels = served.data_of(
            """mutation($id: ID!) { addLabels(id: $id, labels: ["gold", "team/ml", "gold"]) {
                 labels } }""",
            id=target,
        )["addLabels"]
        assert labels["labels"] == ["gold", "team/ml"]
        noted = served.data_of(
            'mutation($id: ID!) { setNote(id: $id, note: "looks good") { note labels } }', id=target
        )["setNote"]
        assert noted == {"note": "looks good", "labels": ["gold", "team/ml"]}
        removed = served.data_of(
            'mutation($id: ID!) { removeLabels(id: $id, labels: ["gold"]) { labels } }', id=target
        )["removeLabels"]
        assert removed["labels"] == ["team/ml"]
        cleared = served.data_of(
            "mutation($id: ID!) { setNote(id: $id, note: null) { note } }", id=target
        )["setNote"]
        assert cleared["note"] is None
    # filtering by label
    labelled = served.data_of('{ pipelineRuns(labels: ["team/ml"]) { nodes { name labels } } }')[
        "pipelineRuns"
    ]["nodes"]
    assert labelled == [{"name": run.name, "labels": ["team/ml"]}]
    execs = served.data_of('{ executions(labels: ["team/ml"]) { totalCount } }')
    assert execs["executions"]["totalCount"] == 1


def test_mutation_validation(served: Served) -> None:
    run = served.data.runs[MUTATED_RUN]
    artifact = gid("Artifact", run.model_id)
    set_props = """mutation($id: ID!, $set: [CustomPropertyInput!], $remove: [String!]) {
        setCustomProperties(id: $id, set: $set, remove: $remove) { id } }"""
    cases = [
        ({"set": [{"name": "x"}]}, "set exactly one of intValue"),
        (
            {"set": [{"name": "x", "intValue": 1, "stringValue": "a"}]},
            "(got intValue, stringValue)",
        ),
        ({"set": [{"name": "", "intValue": 1}]}, "must not be empty"),
        ({"set": [{"name": "a\nb", "intValue": 1}]}, "control characters"),
        ({"set": [{"name": "x" * 300, "intValue": 1}]}, "at most 255 characters"),
        ({"set": [{"name": "x", "structValue": [1, 2]}]}, "structValue must be a JSON object"),
        ({"set": [{"name": "x", "intValue": 1}, {"name": "x", "intValue": 2}]}, "given twice"),
        ({"set": [{"name": "x", "intValue": 1}], "remove": ["x"]}, "both set and removed"),
        ({}, "give custom properties to set or names to remove"),
        ({"set": [{"name": f"p{i}", "intValue": i} for i in range(101)]}, "at most 100"),
        # protobuf reads back ~33 levels of objects: a deeper struct stored would make the
        # node unreadable (every list holding it failing), so it is refused
        ({"set": [{"name": "x", "structValue": _nested(34)}]}, "nested too deeply"),
        ({"set": [{"name": "x", "structValue": {"a": 10**400}}]}, "not JSON-like"),
        # what Lineage records itself (checksums, timings, idempotency keys) stays as recorded
        ({"set": [{"name": "lineage_sha256", "stringValue": "ab" * 32}]}, "recorded by Lineage"),
        ({"remove": ["lineage_size"]}, "recorded by Lineage"),
    ]
    for variables, message in cases:
        error = served.error_of(set_props, id=artifact, **variables)
        assert error["extensions"]["code"] == "INVALID_ARGUMENT", (variables, error)
        assert message in error["message"], (variables, error)
    error = served.error_of(set_props, id=artifact, set=[{"name": "x", "intValue": 2**64}])
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "out of range" in error["message"]
    error = served.error_of(
        set_props, id=gid("Artifact", 10**9), set=[{"name": "x", "intValue": 1}]
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = served.error_of(
        'mutation($id: ID!) { addLabels(id: $id, labels: ["-bad label"]) { id } }', id=artifact
    )
    assert error["extensions"]["code"] == "INVALID_ARGUMENT" and "is not valid" in error["message"]
    error = served.error_of(
        "mutation($id: ID!, $labels: [String!]!) { addLabels(id: $id, labels: $labels) { id } }",
        id=artifact,
        labels=["ok\n"],  # the pattern's $ would let a trailing newline through
    )
    assert error["extensions"]["code"] == "INVALID_ARGUMENT" and "is not valid" in error["message"]
    error = served.error_of(
        "mutation($id: ID!) { setArtifactState(id: $id, state: UNKNOWN) { id } }", id=artifact
    )
    assert "UNKNOWN cannot be set" in error["message"]
    error = served.error_of(
        "mutation($id: ID!) { setArtifactState(id: $id, state: LIVE) { id } }",
        id=gid("Execution", run.step_ids["train"]),
    )
    assert "expected Artifact" in error["message"]
    pipeline = gid("PipelineRun", served.data.pipeline_ids["pipeline-a"])
    error = served.error_of(
        'mutation($id: ID!) { setNote(id: $id, note: "x") { id } }', id=pipeline
    )
    assert "is not a pipeline run" in error["message"]
    # nothing was written by the refused calls
    props = served.data_of(
        'query($id: ID!) { node(id: $id) { ... on Artifact { customProperty(name: "x") { name } } } }',
        id=artifact,
    )
    assert props["node"]["customProperty"] is None


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


# --- errors and limits ---------------------------------------------------------------------------

INTERNAL_WORDS = ("select ", "sqlalchemy", "traceback", "psycopg", "sqlite3", 'file "', "pymysql")


def _assert_clean(error: dict[str, Any]) -> None:
    text = json.dumps(error).lower()
    for word in INTERNAL_WORDS:
        assert word not in text, error


def test_clear_errors_and_nothing_internal(served: Served) -> None:
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ('{ artifacts(filter: "uri = ") { totalCount } }', {}, "INVALID_ARGUMENT", "filter_query:"),
        (
            '{ artifacts(filter: "nope = 1") { totalCount } }',
            {},
            "INVALID_ARGUMENT",
            "unknown attribute 'nope'",
        ),
        (
            '{ artifacts(filter: "uri = 1") { totalCount } }',
            {},
            "INVALID_ARGUMENT",
            "filter_query:",
        ),
        (
            "{ artifacts(first: 101) { totalCount } }",
            {},
            "INVALID_ARGUMENT",
            "first must be between 0 and 100",
        ),
        (
            "{ artifacts(first: 2, last: 2) { totalCount } }",
            {},
            "INVALID_ARGUMENT",
            "first or last, not both",
        ),
        (
            '{ artifacts(after: "garbage") { totalCount } }',
            {},
            "INVALID_ARGUMENT",
            "is not a cursor",
        ),
        (
            '{ artifacts(created: {after: "2024-01-02T00:00:00Z", before: "2024-01-01T00:00:00Z"}) { totalCount } }',
            {},
            "INVALID_ARGUMENT",
            "after must be earlier",
        ),
        (
            '{ artifacts(created: {after: "garb"}) { totalCount } }',
            {},
            "BAD_USER_INPUT",
            "DateTime must be an ISO 8601 date and time such as 2026-01-31T12:00:00Z, got 'garb'",
        ),
        (
            "query($t: DateTime) { artifacts(created: {after: $t}) { totalCount } }",
            {"t": "2024-13-45"},
            "BAD_USER_INPUT",
            "DateTime must be an ISO 8601 date and time",
        ),
        (
            'mutation($t: Long) { setCustomProperties(id: "1", remove: ["x"], '
            "expectedLastUpdateTimeSinceEpoch: $t) { id } }",
            {"t": "12abc"},
            "BAD_USER_INPUT",
            "Long cannot represent '12abc': not a whole number",
        ),
        ("{ artifacts { nope } }", {}, "GRAPHQL_VALIDATION_FAILED", "Cannot query field 'nope'"),
        ("{ artifacts { totalCount }", {}, "GRAPHQL_VALIDATION_FAILED", "Syntax Error"),
        (
            "{ pipelineRuns(states: [DONE]) { totalCount } }",
            {},
            "GRAPHQL_VALIDATION_FAILED",
            "DONE",
        ),
        (
            "query($n: Int) { artifacts(first: $n) { totalCount } }",
            {"n": "x"},
            "BAD_USER_INPUT",
            "$n",
        ),
    ]
    for query, variables, code, message in cases:
        error = served.error_of(query, **variables)
        assert error["extensions"]["code"] == code, (query, error)
        assert message in error["message"], (query, error)
        _assert_clean(error)


def test_odd_ids_and_tampered_cursors_are_invalid_arguments(served: Served) -> None:
    # '²' passes str.isdigit() but not int(): a clear error, not INTERNAL
    for query, value in (
        ("query($v: ID!) { node(id: $v) { id } }", "Artifact:\u00b2"),
        (
            "query($v: ID!) { node(id: $v) { id } }",
            base64.b64encode("Artifact:\u00b2".encode()).decode(),
        ),
        ("query($v: ID!) { lineage(from: {artifactId: $v}) { truncated } }", "\u00b2"),
        ("query($v: ID!) { runMetrics(runIds: [$v]) { columns } }", "\u00b2"),
    ):
        error = served.error_of(query, v=value)
        assert error["extensions"]["code"] == "INVALID_ARGUMENT", (value, error)
        assert "is not a node id" in error["message"], (value, error)
    page = served.data_of("{ pipelineRuns(first: 1) { edges { cursor } } }")
    cursor = page["pipelineRuns"]["edges"][0]["cursor"]
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    tampered = [
        json.dumps({**payload, "v": 10**30}),  # no 64-bit column holds it
        json.dumps({**payload, "i": -(2**64)}),
        json.dumps(payload).replace(str(payload["v"]), "Infinity"),
        "[" * 100_000,
    ]
    for text in tampered:
        after = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        error = served.error_of(
            "query($after: String) { pipelineRuns(after: $after) { totalCount } }", after=after
        )
        assert error["extensions"]["code"] == "INVALID_ARGUMENT", (text[:80], error)
        assert "is not a cursor" in error["message"], error


def test_malformed_http_requests_are_400s(served: Served) -> None:
    headers = {"content-type": "application/json"}
    surrogate = {"query": "query($f: String) { artifacts(filter: $f) { totalCount } }"}
    deep = b"[" * 100_000 + b"]" * 100_000
    cases = {
        b'"just a string"': "expected a JSON object, got a string",
        b"null": "expected a JSON object, got null",
        b"42": "expected a JSON object, got a number",
        b'{"query": "\xff"}': "not valid UTF-8",
        b'{"query": "{ __typename }", "variables": ' + deep + b"}": "nested too deeply",
        # a lone surrogate is valid JSON, but no database can store it
        json.dumps({**surrogate, "variables": {"f": "\ud800"}}).encode(): "Unable to parse",
    }
    for body, words in cases.items():
        r = served.http.post("/graphql", content=body, headers=headers)
        assert r.status_code == 400, (body[:60], r.status_code, r.text)
        assert words in r.text, (body[:60], r.text)
    r = served.http.get("/graphql", params={"query": "{ __typename }", "variables": "5"})
    assert r.status_code == 400 and "variables must be a JSON object" in r.text, r.text
    r = served.http.get("/graphql", params={"query": "{ __typename }", "variables": "{"})
    assert r.status_code == 400 and "variables is not JSON" in r.text, r.text
    # null variables mean none, over GET as over POST
    for method in ("get", "post"):
        r = served.http.request(
            method.upper(),
            "/graphql",
            **(
                {"params": {"query": "{ __typename }", "variables": "null"}}
                if method == "get"
                else {"json": {"query": "{ __typename }", "variables": None}}
            ),
        )
        assert r.status_code == 200 and r.json()["data"] == {"__typename": "Query"}, r.text
    # a client that leaves before its body arrived: nothing to answer, nothing in the log
    with socket.create_connection(("127.0.0.1", served.server.http_port)) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"query": "'
        )
    assert served.http.get("/healthz").status_code == 200
    time.sleep(0.5)
    assert "Exception in ASGI application" not in served.server.log_text()
    # a subscription over plain HTTP: told where subscriptions are served
    for method in ("post", "get"):
        r = served.http.request(
            method.upper(),
            "/graphql",
            **(
                {"json": {"query": SUBSCRIBE, "variables": {"run": "1", "current": True}}}
                if method == "post"
                else {"params": {"query": SUBSCRIBE}}
            ),
        )
        assert r.status_code == 400 and "over a websocket" in r.text, (method, r.text)


def test_depth_and_cost_limits(served: Served) -> None:
    nested = "uri"
    for _ in range(5):
        nested = f"contexts {{ artifacts(first: 1) {{ {nested} }} }}"
    deep = f"{{ artifacts(first: 1) {{ edges {{ node {{ {nested} }} }} }} }}"  # 14 levels
    error = served.error_of(deep)
    assert "exceeds maximum operation depth of 10" in error["message"], error
    costly = """{ pipelineRuns(first: 100) { edges { node { steps { outputs { consumers {
                 outputs { name uri state } } } } } } } }"""
    error = served.error_of(costly)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"] > error["extensions"]["maxCost"]
    assert "ask for smaller pages" in error["message"]
    # page size from a variable counts
    query = """query($n: Int) { artifacts(first: $n) { edges { node {
                 contexts { artifacts(first: 100) { uri name state } } } } } }"""
    assert served.error_of(query, n=100)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "errors" not in served.query(query, n=1)
    aliases = "{ " + " ".join(f"a{i}: types {{ name }}" for i in range(40)) + " }"
    assert "aliases" in served.error_of(aliases)["message"]
    # Fragments spreading fragments twice: 2**29 fields once expanded. Checked in linear
    # time (the limiters once expanded it, holding the server's event loop for hours).
    fragments = ["fragment F0 on Artifact { uri }"] + [
        f"fragment F{i} on Artifact {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 30)
    ]
    bomb = "{ artifacts(first: 100) { nodes { ...F29 } } }\n" + "\n".join(fragments)
    started = time.monotonic()
    error = served.error_of(bomb)
    assert time.monotonic() - started < 10
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
    assert served.http.get("/healthz").status_code == 200
    error = served.error_of("{ ...Missing }")
    assert error["message"] == "Unknown fragment 'Missing'.", error
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# --- subscriptions ------------------------------------------------------------------------------

SUBSCRIBE = """subscription($run: ID!, $current: Boolean!) {
  executionStateChanges(runId: $run, includeCurrent: $current, pollIntervalSeconds: 0.2) {
    state previousState initial changedAt
    execution { mlmdId displayName }
    run { name }
  }
}"""


def test_malformed_websocket_messages_close_with_4400(served: Served) -> None:
    from websockets.exceptions import ConnectionClosed

    subscribe = {"id": "1", "type": "subscribe"}
    cases = [
        ('"a string"', "must be a JSON object"),
        ("null", "must be a JSON object"),
        ("[1]", "must be a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "valid JSON"),
        (json.dumps({"id": "1"}), "string 'type'"),
        (json.dumps({**subscribe, "payload": "x"}), "payload with a string 'query'"),
        (json.dumps({**subscribe, "payload": {"query": 5}}), "payload with a string 'query'"),
        (
            json.dumps({**subscribe, "payload": {"query": SUBSCRIBE, "variables": [1]}}),
            "variables must be an object",
        ),
    ]
    for message, reason in cases:
        socket = _Socket(served.server.http_port)
        try:
            socket.ws.send(message)
            with pytest.raises(ConnectionClosed) as closed:
                socket.receive(timeout=10)
            assert closed.value.rcvd is not None, message[:40]
            assert closed.value.rcvd.code == 4400, (message[:40], closed.value.rcvd)
            assert reason in closed.value.rcvd.reason, (message[:40], closed.value.rcvd)
        finally:
            socket.close()
    log = served.server.log_path.read_text()
    assert "Exception in ASGI application" not in log and "Exception in worker task" not in log


class _Socket:
    def __init__(self, port: int) -> None:
        from websockets.sync.client import connect

        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(
            connect(
                f"ws://127.0.0.1:{port}/graphql",
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                open_timeout=10,
            )
        )
        self.ws.send(json.dumps({"type": "connection_init"}))
        assert self.receive()["type"] == "connection_ack"

    def receive(self, timeout: float = 15) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout))
            if message["type"] == "ping":
                self.ws.send(json.dumps({"type": "pong"}))
                continue
            return message

    def subscribe(self, op_id: str, query: str, **variables: Any) -> None:
        payload = {"query": query, "variables": variables}
        self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))

    def close(self) -> None:
        self._stack.close()


def test_subscription_streams_state_changes(served: Served) -> None:
    run = served.data.runs[SUBSCRIBED_RUN]
    assert run.state == "RUNNING"
    socket = _Socket(served.server.http_port)
    store = Store.open(served.url)
    try:
        socket.subscribe("live", SUBSCRIBE, run=gid("PipelineRun", run.context_id), current=True)
        initial = [socket.receive() for _ in range(4)]
        assert {m["type"] for m in initial} == {"next"}
        changes = [m["payload"]["data"]["executionStateChanges"] for m in initial]
        assert all(c["initial"] and c["previousState"] is None for c in changes)
        assert all(c["run"]["name"] == run.name for c in changes)
        states = {c["execution"]["displayName"]: c["state"] for c in changes}
        assert states == {
            "root": "RUNNING",
            "ingest": "COMPLETE",
            "train": "COMPLETE",
            "evaluate": "RUNNING",
        }
        # a second subscription on the same socket, without the snapshot
        socket.subscribe("quiet", SUBSCRIBE, run=str(run.context_id), current=False)
        time.sleep(0.5)
        evaluate = run.step_ids["evaluate"]
        store.put_nodes(
            "execution",
            [model.Execution(id=evaluate, last_known_state=model.ExecutionState.COMPLETE)],
            field_mask_paths=["last_known_state"],
        )
        got = {socket.receive()["id"] for _ in range(2)}
        assert got == {"live", "quiet"}
        # a new step appears in the run
        [ctx] = store.get_nodes_by_id("context", [run.context_id])
        new_id, _, _ = store.put_execution(
            model.Execution(
                type_id=served.data.types["system.ContainerExecution"],
                last_known_state=model.ExecutionState.NEW,
                name="late-step",
            ),
            [
                ArtifactAndEvent(
                    None, model.Event(artifact_id=run.model_id, type=model.EventType.INPUT)
                )
            ],
            [ctx],
        )
        seen: dict[str, list[dict[str, Any]]] = {"live": [], "quiet": []}
        for _ in range(2):
            message = socket.receive()
            seen[message["id"]].append(message["payload"]["data"]["executionStateChanges"])
        for op_id in ("live", "quiet"):
            [change] = seen[op_id]
            assert change["execution"]["mlmdId"] == new_id
            assert change["state"] == "NEW" and change["previousState"] is None
            assert change["initial"] is False
        # a property change that is no state change sends nothing; the next state change does
        store.put_nodes(
            "execution",
            [model.Execution(id=new_id, custom_properties={"x": model.Value.of(1)})],
            field_mask_paths=["custom_properties.x"],
        )
        store.put_nodes(
            "execution",
            [model.Execution(id=new_id, last_known_state=model.ExecutionState.RUNNING)],
            field_mask_paths=["last_known_state"],
        )
        message = socket.receive()
        change = message["payload"]["data"]["executionStateChanges"]
        assert (change["state"], change["previousState"]) == ("RUNNING", "NEW")
        socket.ws.send(json.dumps({"id": "live", "type": "complete"}))
        socket.ws.send(json.dumps({"id": "quiet", "type": "complete"}))
        # errors arrive as GraphQL errors on the operation
        socket.subscribe("bad", SUBSCRIBE, run="Context:999999", current=True)
        message = socket.receive()
        while message.get("id") != "bad":  # a change sent before "complete" arrived
            message = socket.receive()
        assert message["type"] == "error" or message["payload"].get("errors"), message
        text = json.dumps(message)
        assert "no pipeline run" in text
    finally:
        socket.close()
        store.close()
