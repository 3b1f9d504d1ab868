#!/usr/bin/env python
"""GraphQL dashboard queries: p50 and p95 latency at several store sizes.

For each size (default 10k and 100k executions) a store of pipeline-shaped runs is
bulk-loaded (SQLAlchemy inserts, not timed), ``lineage serve`` is started on it, and the
three main dashboard queries are sent over HTTP to ``/graphql``, one at a time:

* **runs page**: ``pipelineRuns(first: 50, after: ...)`` with each run's derived state,
  start/end/duration, step count, steps (name, state, duration), metrics and
  ``totalCount``; pages taken all over the list (cursors collected first) and pages of
  one pipeline;
* **artifact search**: ``artifacts(filter: "type = 'system.Metrics' AND
  custom_properties.accuracy.double_value > X", first: 20, orderBy: CREATE_TIME DESC)``
  with ``totalCount``, each artifact's metrics and its producer step and run; X varies;
* **lineage depth 5**: ``lineage(from: {artifactId}, direction: BOTH, depth: 5)`` from a
  random run's model, with nodes (hops, uri/type or step/state) and edges.

Shape of a run (``--steps`` = 10 executions): a root system.DAGExecution with the
pipeline parameters (KFP's ``inputs`` struct), then 9 chained system.ContainerExecution
steps, each reading the previous step's output (the first reads its pipeline's shared
raw dataset, a hub with thousands of consumers) and writing one artifact: datasets, a
system.Model, then a system.Metrics with three metrics. Every run is a
system.PipelineRun context (child of one of 20 system.Pipeline contexts); 90% of runs
complete, 5% fail in the last step, 5% are still running.

    .venv/bin/python bench/bench_graphql.py                       # SQLite, 10k and 100k
    .venv/bin/python bench/bench_graphql.py --sizes 10000 --samples 50
    .venv/bin/python bench/bench_graphql.py --backend postgresql  # a throwaway PostgreSQL

Each query goes on a new connection by default; ``--keep-alive`` sends them all on one
kept-alive connection (it once cost ~40 ms a response, Nagle against delayed ACKs, until
the HTTP listener was made with ``IPPROTO_TCP`` so asyncio sets TCP_NODELAY).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from lineage import model  # noqa: E402
from lineage.store import schema as db  # noqa: E402
from lineage.store.store import Store  # noqa: E402
from lineage.store.values import encode_struct  # noqa: E402

PIPELINES = 20
CHUNK = 5000

RUNS_PAGE = """
query($after: String, $pipeline: String) {
  pipelineRuns(first: 50, after: $after, pipeline: $pipeline) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name state startTime endTime durationSeconds stepCount
      steps { displayName state durationSeconds }
      metrics { name value }
    } }
  }
}"""

ARTIFACT_SEARCH = """
query($filter: String!) {
  artifacts(filter: $filter, first: 20, orderBy: {field: CREATE_TIME, direction: DESC}) {
    totalCount
    edges { cursor node {
      id uri state createTime
      metrics { name value }
      producer { displayName run { name } }
    } }
  }
}"""

LINEAGE = """
query($id: ID!) {
  lineage(from: {artifactId: $id}, direction: BOTH, depth: 5) {
    truncated
    nodes { id hops artifact { uri typeName } execution { displayName state } }
    edges { source target type }
  }
}"""


# --- bulk load -----------------------------------------------------------------------------


class Ids:
    def __init__(self, engine: Engine) -> None:
        self.next: dict[str, int] = {}
        with engine.connect() as conn:
            for table in (db.artifact_table, db.execution_table, db.context_table, db.event_table):
                top = conn.execute(select(func.max(table.c.id))).scalar() or 0
                self.next[table.name] = int(top) + 1

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def _s(value: str) -> dict[str, Any]:
    return {"string_value": value}


def _prop(owner: str, owner_id: int, name: str, **value: Any) -> dict[str, Any]:
    row = {
        owner: owner_id,
        "name": name,
        "is_custom_property": 1,
        "int_value": None,
        "double_value": None,
        "string_value": None,
        "bool_value": None,
    }
    row.update(value)
    return row


def bulk_load(url: str, executions: int, steps: int, seed: int = 7) -> dict[str, Any]:
    """Create the schema and types through the Store, then insert the runs in bulk."""
    store = Store.open(url)
    types = {
        "pipeline": store.put_type(model.ContextType(name="system.Pipeline")),
        "run": store.put_type(model.ContextType(name="system.PipelineRun")),
        "dag": store.put_type(model.ExecutionType(name="system.DAGExecution")),
        "container": store.put_type(model.ExecutionType(name="system.ContainerExecution")),
        "dataset": store.put_type(model.ArtifactType(name="system.Dataset")),
        "model": store.put_type(model.ArtifactType(name="system.Model")),
        "metrics": store.put_type(model.ArtifactType(name="system.Metrics")),
    }
    engine = store.engine
    ids = Ids(engine)
    rng = random.Random(seed)
    runs = executions // steps
    now = int(time.time() * 1000)
    start = now - runs * 60_000  # a run a minute, the last one now
    rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in db.MLMD_TABLES}
    pipelines = []
    hubs = []
    for p in range(PIPELINES):
        context_id = ids.take("Context")
        pipelines.append(context_id)
        rows["Context"].append(
            {
                "id": context_id,
                "type_id": types["pipeline"],
                "name": f"pipeline-{p}",
                "create_time_since_epoch": start,
                "last_update_time_since_epoch": start,
            }
        )
        hub = ids.take("Artifact")
        hubs.append(hub)
        rows["Artifact"].append(
            {
                "id": hub,
                "type_id": types["dataset"],
                "uri": f"s3://raw/pipeline-{p}/data.csv",
                "state": int(model.ArtifactState.LIVE),
                "name": None,
                "create_time_since_epoch": start,
                "last_update_time_since_epoch": start,
            }
        )
    model_ids: list[int] = []
    counts = {"COMPLETE": 0, "FAILED": 0, "RUNNING": 0}
    for r in range(runs):
        p = r % PIPELINES
        roll = rng.random()
        run_state = "FAILED" if roll < 0.05 else "RUNNING" if roll < 0.10 else "COMPLETE"
        counts[run_state] += 1
        t0 = start + r * 60_000
        context_id = ids.take("Context")
        rows["Context"].append(
            {
                "id": context_id,
                "type_id": types["run"],
                "name": f"run-{r}",
                "create_time_since_epoch": t0,
                "last_update_time_since_epoch": t0,
            }
        )
        rows["ContextProperty"].append(_prop("context_id", context_id, "namespace", **_s("ml")))
        rows["ParentContext"].append({"context_id": context_id, "parent_context_id": pipelines[p]})
        lr = round(rng.uniform(0.001, 0.1), 5)
        previous = hubs[p]
        t = t0
        for k in range(steps):
            execution_id = ids.take("Execution")
            last = k == steps - 1
            state = model.ExecutionState.COMPLETE
            if last and run_state == "FAILED":
                state = model.ExecutionState.FAILED
            elif last and run_state == "RUNNING":
                state = model.ExecutionState.RUNNING
            if k == 0 and run_state == "RUNNING":
                state = model.ExecutionState.RUNNING
            duration = rng.randint(2_000, 120_000)
            rows["Execution"].append(
                {
                    "id": execution_id,
                    "type_id": types["dag"] if k == 0 else types["container"],
                    "last_known_state": int(state),
                    "name": None,
                    "create_time_since_epoch": t,
                    "last_update_time_since_epoch": t + duration,
                }
            )
            rows["Association"].append({"context_id": context_id, "execution_id": execution_id})
            name = (
                "root"
                if k == 0
                else "train"
                if k == steps - 2
                else "evaluate"
                if last
                else f"step-{k}"
            )
            rows["ExecutionProperty"].append(
                _prop("execution_id", execution_id, "display_name", **_s(name))
            )
            if k == 0 or name == "train":
                struct = encode_struct({"lr": lr, "epochs": 5 + r % 5})
                rows["ExecutionProperty"].append(
                    _prop("execution_id", execution_id, "inputs", string_value=struct)
                )
            t += duration
            if k == 0:
                continue
            rows["Event"].append(
                {
                    "id": ids.take("Event"),
                    "artifact_id": previous,
                    "execution_id": execution_id,
                    "type": int(model.EventType.INPUT),
                    "milliseconds_since_epoch": t,
                }
            )
            if last and state != model.ExecutionState.COMPLETE:
                continue
            artifact_id = ids.take("Artifact")
            kind = "metrics" if last else "model" if name == "train" else "dataset"
            rows["Artifact"].append(
                {
                    "id": artifact_id,
                    "type_id": types[kind],
                    "uri": f"s3://pipelines/run-{r}/{name}/{kind}",
                    "state": int(model.ArtifactState.LIVE),
                    "name": None,
                    "create_time_since_epoch": t,
                    "last_update_time_since_epoch": t,
                }
            )
            rows["ArtifactProperty"].append(
                _prop("artifact_id", artifact_id, "display_name", **_s(kind))
            )
            if kind == "metrics":
                accuracy = round(rng.uniform(0.6, 0.99), 4)
                for metric, value in (
                    ("accuracy", accuracy),
                    ("loss", 1 - accuracy),
                    ("f1", accuracy - 0.02),
                ):
                    rows["ArtifactProperty"].append(
                        _prop("artifact_id", artifact_id, metric, double_value=value)
                    )
            if kind == "model":
                model_ids.append(artifact_id)
            rows["Event"].append(
                {
                    "id": ids.take("Event"),
                    "artifact_id": artifact_id,
                    "execution_id": execution_id,
                    "type": int(model.EventType.OUTPUT),
                    "milliseconds_since_epoch": t,
                }
            )
            rows["Attribution"].append({"context_id": context_id, "artifact_id": artifact_id})
            previous = artifact_id
        rows["Context"][-1]["last_update_time_since_epoch"] = t
    order = [
        "Context",
        "ContextProperty",
        "ParentContext",
        "Execution",
        "ExecutionProperty",
        "Artifact",
        "ArtifactProperty",
        "Event",
        "Association",
        "Attribution",
    ]
    tables = {t.name: t for t in db.MLMD_TABLES}
    with engine.begin() as conn:
        for name in order:
            batch = rows[name]
            for i in range(0, len(batch), CHUNK):
                conn.execute(insert(tables[name]), batch[i : i + CHUNK])
        if engine.dialect.name == "postgresql":
            for name in ("Artifact", "Execution", "Context", "Event", "Association", "Attribution"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "  # noqa: S608
                        f'(SELECT max(id) FROM "{name}"))'
                    )
                )
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    store.close()
    return {
        "runs": runs,
        "executions": len(rows["Execution"]),
        "artifacts": len(rows["Artifact"]),
        "events": len(rows["Event"]),
        "models": model_ids,
        "states": counts,
    }


# --- timing ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Client:
    def __init__(self, port: int, keep_alive: bool) -> None:
        limits = httpx.Limits(max_keepalive_connections=None if keep_alive else 0)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits)

    def run(self, query: str, **variables: Any) -> tuple[float, dict[str, Any]]:
        t0 = time.perf_counter()
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        elapsed = (time.perf_counter() - t0) * 1000
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise SystemExit(f"query failed: {json.dumps(body['errors'])[:500]}")
        return elapsed, body["data"]

    def call(self, pair: tuple[str, dict[str, Any]]) -> tuple[float, dict[str, Any]]:
        return self.run(pair[0], **pair[1])


def bench_size(
    url: str, executions: int, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    from lineage_server import LineageServer

    t0 = time.perf_counter()
    loaded = bulk_load(url, executions, args.steps)
    load_seconds = time.perf_counter() - t0
    print(
        f"  loaded {loaded['executions']:,} executions, {loaded['artifacts']:,} artifacts, "
        f"{loaded['events']:,} events in {loaded['runs']:,} runs ({load_seconds:.1f}s)",
        flush=True,
    )
    server = LineageServer(url, workdir / f"data-{executions}", http=True).start(timeout=600)
    client = Client(server.http_port, args.keep_alive)
    rng = random.Random(11)
    results: dict[str, list[float]] = {}
    try:
        # cursors all over the runs list: walk it once (not timed)
        cursors: list[str | None] = [None]
        after = None
        for _ in range(min(40, loaded["runs"] // 50)):
            _, data = client.run(RUNS_PAGE, after=after)
            after = data["pipelineRuns"]["pageInfo"]["endCursor"]
            if not after:
                break
            cursors.append(after)

        def runs_page(i: int) -> tuple[str, dict[str, Any]]:
            if i % 4 == 3:
                return RUNS_PAGE, {"pipeline": f"pipeline-{rng.randrange(PIPELINES)}"}
            return RUNS_PAGE, {"after": rng.choice(cursors)}

        def artifact_search(i: int) -> tuple[str, dict[str, Any]]:
            threshold = round(rng.uniform(0.6, 0.98), 3)
            text_ = (
                f"type = 'system.Metrics' AND custom_properties.accuracy.double_value > {threshold}"
            )
            return ARTIFACT_SEARCH, {"filter": text_}

        from lineage.server.graphql.ids import to_global_id

        def lineage(i: int) -> tuple[str, dict[str, Any]]:
            return LINEAGE, {"id": to_global_id("Artifact", rng.choice(loaded["models"]))}

        for name, make in (
            ("runs page", runs_page),
            ("artifact search", artifact_search),
            ("lineage depth 5", lineage),
        ):
            timings = []
            for i in range(3):
                client.call(make(i))
            for i in range(args.samples):
                elapsed, _ = client.call(make(i))
                timings.append(elapsed)
            results[name] = timings
            print(
                f"  {name:<16} p50 {percentile(timings, 0.5):7.1f} ms   "
                f"p95 {percentile(timings, 0.95):7.1f} ms   (n={len(timings)})",
                flush=True,
            )
        # what the answers look like, once
        _, sample = client.call(lineage(0))
        nodes = len(sample["lineage"]["nodes"])
        _, runs = client.run(RUNS_PAGE)
        total = runs["pipelineRuns"]["totalCount"]
    finally:
        client.http.close()
        server.stop()
    return {
        "executions": loaded["executions"],
        "runs": loaded["runs"],
        "load_seconds": load_seconds,
        "lineage_nodes": nodes,
        "runs_total": total,
        "timings": results,
    }


@contextmanager
def database(backend: str, workdir: Path, size: int) -> Iterator[str]:
    if backend == "sqlite":
        path = workdir / f"graphql-{size}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        yield f"sqlite:///{path}"
        return
    import dbservers

    with dbservers.running_server(backend) as server:
        yield server.create_database()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000], help="executions"
    )
    parser.add_argument("--steps", type=int, default=10, help="executions per run")
    parser.add_argument("--samples", type=int, default=100, help="timed queries of each kind")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "mysql"], default="sqlite")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the results here too")
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="reuse one HTTP connection (default: a new connection per query; see below)",
    )
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lineage-bench-graphql-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"GraphQL dashboard queries over HTTP, lineage serve on {args.backend}, "
        f"{os.cpu_count()} CPUs, {args.samples} samples each, "
        f"{'one keep-alive connection' if args.keep_alive else 'a new connection per query'}",
        flush=True,
    )
    results = {}
    try:
        for size in args.sizes:
            print(f"{size:,} executions:", flush=True)
            with database(args.backend, workdir, size) as url:
                results[size] = bench_size(url, size, args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    names = ["runs page", "artifact search", "lineage depth 5"]
    header = (
        "| query | " + " | ".join(f"{s:,} executions p50 / p95 (ms)" for s in args.sizes) + " |"
    )
    print()
    print(header)
    print("|---|" + "---|" * len(args.sizes))
    for name in names:
        cells = []
        for size in args.sizes:
            timings = results[size]["timings"][name]
            cells.append(f"{percentile(timings, 0.5):.1f} / {percentile(timings, 0.95):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        summary = {
            str(size): {
                "executions": r["executions"],
                "runs": r["runs"],
                **{
                    name: {
                        "p50_ms": percentile(r["timings"][name], 0.5),
                        "p95_ms": percentile(r["timings"][name], 0.95),
                        "mean_ms": statistics.fmean(r["timings"][name]),
                    }
                    for name in names
                },
            }
            for size, r in results.items()
        }
        args.json.write_text(json.dumps({"backend": args.backend, "sizes": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
