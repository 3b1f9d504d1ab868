"""No N+1: the SQL statements a dashboard page costs do not grow with its rows.

In process (the app over httpx's ASGI transport, the same app ``lineage serve`` runs),
counting every statement the store's engine sends with a ``before_cursor_execute``
listener: a page of 5 runs and a page of 50 runs, each with its steps (and their
input and output artifacts), states, durations, metrics and parameters, cost the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event
from test_graphql_data import gid, populate
from test_graphql_schema import post_graphql

from lineage.server.config import ServerConfig
from lineage.server.http.app import build_app
from lineage.store.store import Store

RUNS_PAGE = """
query($n: Int!) {
  pipelineRuns(first: $n) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id name state startTime endTime durationSeconds stepCount
      stepCounts { state count }
      pipeline { name }
      steps { id displayName state startTime endTime durationSeconds type { name }
              inputs { uri typeName } outputs { uri typeName producer { id } } }
      metrics { name value artifact { uri } }
      parameters { name value }
      labels note
    } }
  }
}"""

ARTIFACT_PAGE = """
query($n: Int!) {
  artifacts(first: $n, types: ["system.Model"], orderBy: {field: CREATE_TIME, direction: DESC}) {
    totalCount
    nodes { id uri state type { name } producer { displayName run { name } }
            consumers { displayName } contexts { name } events { type } }
  }
}"""


class Counter:
    def __init__(self, store: Store) -> None:
        self.statements: list[str] = []
        event.listen(store.engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    def count(self, run: Callable[[], Any]) -> tuple[int, Any]:
        self.statements.clear()
        result = run()
        return len(self.statements), result


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _measure(url: str, runs: int) -> dict[str, tuple[int, int]]:
    store = Store.open(url)
    try:
        populate(store, runs)
        app = build_app(store, ServerConfig())
        counter = Counter(store)
        out = {}
        for name, query in (("runs", RUNS_PAGE), ("artifacts", ARTIFACT_PAGE)):
            count, body = counter.count(lambda q=query: post_graphql(app, q, n=runs))
            assert "errors" not in body, body["errors"]
            data = body["data"]
            rows = data["pipelineRuns"]["edges"] if name == "runs" else data["artifacts"]["nodes"]
            assert len(rows) == runs
            out[name] = (count, len(rows))
        # the run pages really carry steps, metrics and parameters
        [first] = post_graphql(app, RUNS_PAGE, n=1)["data"]["pipelineRuns"]["edges"]
        assert len(first["node"]["steps"]) == 4
        return out
    finally:
        store.close()


def test_statement_count_does_not_grow_with_rows(
    backend: str, database_url_factory: Callable[[str], str]
) -> None:
    small = _measure(database_url_factory(backend), 5)
    large = _measure(database_url_factory(backend), 50)
    for page in ("runs", "artifacts"):
        (small_count, small_rows), (large_count, large_rows) = small[page], large[page]
        assert (small_rows, large_rows) == (5, 50)
        assert small_count == large_count, (page, small_count, large_count)
    # a few statements per relation followed (SQLite counts its BEGINs too), not one per row
    assert large["runs"][0] <= 40, large
    assert large["artifacts"][0] <= 40, large


def test_many_nodes_by_id_batch(database_url_factory: Callable[[str], str]) -> None:
    store = Store.open(database_url_factory("sqlite"))
    try:
        data = populate(store, 20)
        app = build_app(store, ServerConfig())
        counter = Counter(store)
        query = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Artifact { uri contexts { name } } } }"
        counts = []
        for n in (2, 20):
            ids = [gid("Artifact", r.model_id) for r in data.runs[:n]]
            count, body = counter.count(lambda ids=ids: post_graphql(app, query, ids=ids))
            assert len(body["data"]["nodes"]) == n
            counts.append(count)
        assert counts[0] == counts[1]
    finally:
        store.close()
