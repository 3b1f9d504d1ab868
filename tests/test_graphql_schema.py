"""The schema file, the export command, the cost estimate, and error masking (in
process, where a failure can be injected)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse
from graphql.utilities import TypeInfo
from graphql.validation import ValidationContext
from test_graphql_data import gid, populate

from lineage.errors import InvalidArgument
from lineage.server.config import ServerConfig
from lineage.server.graphql import limits, schema, schema_sdl
from lineage.server.graphql.ids import from_global_id, parse_id, to_global_id
from lineage.server.http.app import build_app
from lineage.store.store import Store

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schema.graphql"


def test_checked_in_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.exists(), (
        "schema.graphql is missing: run lineage graphql-schema -o schema.graphql"
    )
    assert SCHEMA_FILE.read_text() == schema_sdl(), (
        "schema.graphql is out of date with server/graphql: "
        "run `lineage graphql-schema -o schema.graphql` and commit it"
    )


def test_export_command(tmp_path: Path) -> None:
    lineage = [sys.executable, "-m", "lineage.cli"]
    out = subprocess.run([*lineage, "graphql-schema"], capture_output=True, text=True, check=True)
    assert out.stdout == schema_sdl()
    target = tmp_path / "schema.graphql"
    subprocess.run([*lineage, "graphql-schema", "-o", str(target)], check=True, capture_output=True)
    assert target.read_text() == schema_sdl()
    ok = subprocess.run(
        [*lineage, "graphql-schema", "--check", "-o", str(target)], capture_output=True
    )
    assert ok.returncode == 0
    target.write_text("type Query { stale: Int }\n")
    stale = subprocess.run(
        [*lineage, "graphql-schema", "--check", "-o", str(target)], capture_output=True, text=True
    )
    assert stale.returncode == 1 and "out of date" in stale.stderr


def test_global_ids() -> None:
    assert from_global_id(to_global_id("Artifact", 12)) == ("Artifact", 12)
    assert from_global_id("Execution:7") == ("Execution", 7)
    assert parse_id("42", ("PipelineRun", "Context")) == ("PipelineRun", 42)
    for bad in ("", "Artifact:", "Artifact:-1", "Nope:1", "!!!", to_global_id("Artifact", 1)[:-2]):
        with pytest.raises(InvalidArgument):
            from_global_id(bad)
    with pytest.raises(InvalidArgument, match="expected Artifact"):
        parse_id("Execution:1", ("Artifact",))


def _cost(query: str, **variables: Any) -> int:
    document = parse(query)
    graphql_schema = schema._schema
    context = ValidationContext(graphql_schema, document, TypeInfo(graphql_schema), lambda e: None)
    operation = document.definitions[0]
    return limits.operation_cost(context, operation, variables)  # type: ignore[arg-type]


def test_cost_estimate() -> None:
    # each field costs 1 per parent it resolves under; a connection multiplies what is
    # under its edges/nodes by its page size
    assert _cost("{ artifacts(first: 10) { totalCount nodes { uri name } } }") == 3 + 10 * 2
    assert _cost("{ artifacts { nodes { uri } } }") == 2 + limits.DEFAULT_PAGE
    assert _cost("query($n: Int) { artifacts(first: $n) { nodes { uri } } }", n=3) == 2 + 3
    assert _cost("query($n: Int = 4) { artifacts(last: $n) { nodes { uri } } }") == 2 + 4
    # other lists: their first argument, else the nominal factor
    assert _cost("{ contexts(first: 2) { nodes { artifacts(first: 50) { uri } } } }") == (
        2 + 2 + 2 * 50
    )
    nominal = limits.LIST_FACTOR
    assert _cost("{ pipelineRuns(first: 1) { nodes { steps { name } } } }") == 3 + nominal
    # fragments and introspection
    with_fragment = "{ artifacts(first: 1) { nodes { ...F } } } fragment F on Artifact { uri name }"
    assert _cost(with_fragment) == 4
    assert _cost("{ __schema { types { name fields { name } } } }") == 0
    # sized by arguments: three runs, three rows
    assert _cost('{ runMetrics(runIds: ["1", "2", "3"]) { columns rows { values } } }') == 3 + 3
    # the limit is above a full dashboard page and below nested fan-outs
    page = """{ pipelineRuns(first: 100) { totalCount edges { cursor node { id name state
      durationSeconds steps { displayName state durationSeconds inputs { uri } outputs { uri } }
      metrics { name value } parameters { name value } } } } }"""
    assert _cost(page) < limits.MAX_COST
    fan_out = "{ pipelineRuns(first: 100) { nodes { steps { outputs { consumers { outputs { uri } } } } } } }"
    assert _cost(fan_out) > limits.MAX_COST


def post_graphql(app: Any, query: str, **variables: Any) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lineage") as client:
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            body: dict[str, Any] = response.json()
            return body

    return asyncio.run(go())


def test_unexpected_errors_are_masked_and_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from lineage.store import dashboard

    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        populate(store, 2)
        app = build_app(store, ServerConfig())

        def broken(*_: Any, **__: Any) -> Any:
            raise RuntimeError('SELECT secret FROM "Execution" WHERE password = 1')

        monkeypatch.setattr(dashboard, "run_stats", broken)
        with caplog.at_level(logging.ERROR, logger="lineage.server.graphql"):
            body = post_graphql(app, "{ pipelineRuns { nodes { name state } } }")
        assert body["data"] is None  # state is non-null: the error nulls up to the root
        errors = body["errors"]
        assert errors  # each with its own id
        for error in errors:
            assert error["message"].startswith("internal error: the request could not be completed")
            assert error["extensions"]["code"] == "INTERNAL"
            text = str(error).lower()
            assert "select" not in text and "secret" not in text and "runtimeerror" not in text
            assert error["extensions"]["errorId"] in caplog.text
        assert "SELECT secret" in caplog.text  # the server log has the whole story
        assert "Traceback" in caplog.text
        # a node still resolves where nothing failed
        ok = post_graphql(app, "query($id: ID!) { node(id: $id) { id } }", id=gid("Artifact", 1))
        assert ok["data"]["node"]["id"] == gid("Artifact", 1)
    finally:
        store.close()


def test_database_errors_say_nothing_internal(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    populate(store, 1)
    app = build_app(store, ServerConfig())
    with store.engine.begin() as conn:
        conn.exec_driver_sql('DROP TABLE "ContextProperty"')
    body = post_graphql(app, "{ contexts { nodes { name customProperties { name } } } }")
    store.close()
    [error] = body["errors"]
    text = str(error).lower()
    assert "contextproperty" not in text and "no such table" not in text and "select" not in text
    assert error["extensions"]["code"] in ("ABORTED", "INTERNAL", "UNAVAILABLE")


def test_step_times_prefer_the_sdk_clock(tmp_path: Path) -> None:
    """Steps recorded by our SDK carry their own start and end (lineage_start/end_time_ms)."""
    from lineage import model

    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        type_id = store.put_type(model.ExecutionType(name="system.ContainerExecution"))
        props = {
            "lineage_start_time_ms": model.Value.of(1_700_000_000_000),
            "lineage_end_time_ms": model.Value.of(1_700_000_012_500),
        }
        [done, running] = store.put_nodes(
            "execution",
            [
                model.Execution(
                    type_id=type_id,
                    last_known_state=model.ExecutionState.COMPLETE,
                    custom_properties=props,
                ),
                model.Execution(
                    type_id=type_id,
                    last_known_state=model.ExecutionState.RUNNING,
                    custom_properties={"lineage_start_time_ms": props["lineage_start_time_ms"]},
                ),
            ],
        )
        app = build_app(store, ServerConfig())
        query = """query($a: ID!, $b: ID!) {
          a: node(id: $a) { ... on Execution { startTime endTime durationSeconds } }
          b: node(id: $b) { ... on Execution { startTime endTime durationSeconds } } }"""
        body = post_graphql(app, query, a=gid("Execution", done), b=gid("Execution", running))
        a, b = body["data"]["a"], body["data"]["b"]
        assert a["startTime"].startswith("2023-11-14T22:13:20")
        assert a["endTime"].startswith("2023-11-14T22:13:32.5")
        assert a["durationSeconds"] == 12.5
        assert b["endTime"] is None and b["durationSeconds"] > 12.5  # still running: to now
    finally:
        store.close()


def test_readme_example_is_a_valid_query() -> None:
    """The query in the README's GraphQL section validates against the schema."""
    from graphql import validate

    readme = (ROOT / "README.md").read_text()
    start, end = readme.find("<!-- GRAPHQL -->"), readme.find("<!-- /GRAPHQL -->")
    if start < 0 or end < 0:
        pytest.skip("README has no GraphQL section")
    section = readme[start:end]
    block = section.split("```graphql\n", 1)[1].split("```", 1)[0]
    errors = validate(schema._schema, parse(block))
    assert not errors, errors
