#!/usr/bin/env python
"""Lineage vs MLMD's own store: the same pipeline-shaped workload, driven by the same
``ml_metadata.MetadataStore`` client code, on

* **MLMD**: MLMD's in-process store (``ConnectionConfig(sqlite=...)``), one SQLite file;
* **ours**: ``lineage serve`` over gRPC (``MetadataStoreClientConfig(host, port)``), its
  own SQLite file;

at several store sizes (default 10k and 200k executions), printing both figures and
their ratios.

Workload (a "run" = one pipeline run of ``--steps-per-run`` chained steps): step ``i``
is one ``PutExecution`` whose execution consumes step ``i-1``'s output artifact (INPUT
event, the artifact passed back with its id) and produces one new artifact (OUTPUT
event), in the run's context (``reuse_context_if_already_exist=True``). Lineage: for a
sample of runs, ``GetLineageSubgraph`` UPSTREAM from the run's last artifact with
``max_num_hops = 2 * steps``, which returns the whole run (``steps`` artifacts and
executions).

How a store of N executions is made (ingesting 200k steps one by one through both
stores would take hours on a small machine):

1. **Bulk-loaded, not timed**: MLMD's own library creates an empty store and the three
   types; then N/steps runs of exactly the shape above (executions, artifacts, events
   with paths, one custom property on each execution and artifact, contexts,
   attributions, associations) are written with SQLAlchemy bulk inserts into MLMD's
   tables. The file is cached in ``--workdir`` and copied once for MLMD and once for
   ours; ours adopts its copy on start (our migration adds our own tables and indexes;
   the startup time is printed).
2. **Timed**: ``--timed-steps`` more steps, one ``PutExecution`` each, through the
   client, in ``--rounds`` rounds alternating MLMD and ours (so a burst of load from
   other processes hits both). Then, with every size's stores still open,
   ``--lineage-samples`` lineage queries per store and size on runs spread evenly over
   the whole store (bulk-loaded and timed ones), in rounds alternating sizes and
   stores. Each lineage answer is checked: both stores must return the same artifacts
   (by URI), the same number of executions, events and contexts, and the whole run.

Targets checked at the end: ingest per step at least as fast as MLMD; lineage at
least 10x faster than MLMD at the largest size; our lineage at the largest size within
1.5x of ours at the smallest.

Run with the project's venv: ``.venv/bin/python bench/bench_mlmd.py`` (``--help``).
``--profile`` runs our server under ``bench/bench_mlmd_server.py``, which counts SQL
statements and their time per RPC (cheap); ``--cprofile`` adds a cProfile of the
handlers (times inflate); ``--server-patch`` measures suggested store changes as
monkeypatches. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from lineage_server import LineageServer  # noqa: E402
from ml_metadata.metadata_store import metadata_store  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

# Bump when the bulk-loaded content changes, so cached base files are rebuilt.
BASE_FORMAT = 3
ARTIFACT_TYPE = "bench.Dataset"
EXECUTION_TYPE = "bench.Step"
CONTEXT_TYPE = "bench.PipelineRun"
TARGET_INGEST = 1.0  # ours per step <= MLMD per step
TARGET_LINEAGE_SPEEDUP = 10.0  # MLMD / ours at the largest size
TARGET_FLAT = 1.5  # ours at the largest size / ours at the smallest


# --- the workload, as protos -----------------------------------------------------------


@dataclass
class Types:
    artifact: int
    execution: int
    context: int


def run_name(run: int) -> str:
    return f"run-{run:07d}"


def artifact_uri(run: int, step: int) -> str:
    return f"file:///bench/{run_name(run)}/step-{step:03d}/output"


def make_step(
    types: Types, run: int, step: int, previous: pb.Artifact | None
) -> tuple[pb.Execution, list[tuple[pb.Artifact, pb.Event]], list[pb.Context]]:
    """One step's PutExecution arguments: the client code both stores get."""
    execution = pb.Execution(type_id=types.execution, last_known_state=pb.Execution.COMPLETE)
    execution.custom_properties["display_name"].string_value = f"step-{step}"
    pairs: list[tuple[pb.Artifact, pb.Event]] = []
    if previous is not None:
        event = pb.Event(type=pb.Event.INPUT)
        event.path.steps.add().key = "input"
        pairs.append((previous, event))
    output = pb.Artifact(
        type_id=types.artifact, uri=artifact_uri(run, step), state=pb.Artifact.LIVE
    )
    output.custom_properties["step"].int_value = step
    event = pb.Event(type=pb.Event.OUTPUT)
    event.path.steps.add().key = "output"
    pairs.append((output, event))
    context = pb.Context(type_id=types.context, name=run_name(run))
    return execution, pairs, [context]


def put_step(
    store: metadata_store.MetadataStore,
    types: Types,
    run: int,
    step: int,
    previous: pb.Artifact | None,
) -> tuple[float, pb.Artifact]:
    """Put one step; the seconds the PutExecution call took and the new output artifact."""
    execution, pairs, contexts = make_step(types, run, step, previous)
    start = time.perf_counter()
    _, artifact_ids, _ = store.put_execution(
        execution, pairs, contexts, reuse_context_if_already_exist=True
    )
    elapsed = time.perf_counter() - start
    output = pairs[-1][0]
    output.id = artifact_ids[-1]
    return elapsed, output


def lineage_options(artifact_id: int, steps: int) -> pb.LineageSubgraphQueryOptions:
    return pb.LineageSubgraphQueryOptions(
        starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(
            filter_query=f"id = {artifact_id}"
        ),
        max_num_hops=2 * steps,
        direction=pb.LineageSubgraphQueryOptions.UPSTREAM,
    )


def lineage_summary(graph: pb.LineageGraph) -> dict[str, Any]:
    return {
        "artifacts": len(graph.artifacts),
        "executions": len(graph.executions),
        "events": len(graph.events),
        "contexts": len(graph.contexts),
        "uris": sorted(a.uri for a in graph.artifacts),
    }


# --- the bulk-loaded base file -----------------------------------------------------------


def mlmd_connection(path: Path) -> pb.ConnectionConfig:
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return config


def create_types(store: metadata_store.MetadataStore) -> Types:
    return Types(
        artifact=store.put_artifact_type(pb.ArtifactType(name=ARTIFACT_TYPE)),
        execution=store.put_execution_type(pb.ExecutionType(name=EXECUTION_TYPE)),
        context=store.put_context_type(pb.ContextType(name=CONTEXT_TYPE)),
    )


def load_types(store: metadata_store.MetadataStore) -> Types:
    return Types(
        artifact=store.get_artifact_type(ARTIFACT_TYPE).id,
        execution=store.get_execution_type(EXECUTION_TYPE).id,
        context=store.get_context_type(CONTEXT_TYPE).id,
    )


def build_base(path: Path, executions: int, steps: int, log: Callable[[str], None]) -> None:
    """MLMD creates the store and types; runs are bulk-inserted into its tables."""
    from sqlalchemy import create_engine, event, func, select

    from lineage.store import schema

    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-journal")):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()
    mlmd = metadata_store.MetadataStore(mlmd_connection(tmp))
    types = create_types(mlmd)
    del mlmd
    engine = create_engine(f"sqlite:///{tmp}")

    @event.listens_for(engine, "connect")
    def _fast(dbapi_connection: Any, _record: Any) -> None:
        # Only for the load: no rollback journal, no fsync. Neither persists in the file.
        dbapi_connection.execute("PRAGMA journal_mode=OFF")
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    runs = executions // steps
    now = int(time.time() * 1000) - executions * 10  # spread over the past, 10 ms apart
    chunk_runs = max(1, 20_000 // steps)
    event_id = 0
    with engine.begin() as conn:
        for first in range(0, runs, chunk_runs):
            rows: dict[str, list[dict[str, Any]]] = {
                t: [] for t in ("ctx", "exe", "exep", "art", "artp", "evt", "path", "attr", "assoc")
            }
            for run in range(first, min(runs, first + chunk_runs)):
                ctx_id = run + 1
                t0 = now + run * steps * 10
                rows["ctx"].append(
                    {
                        "id": ctx_id,
                        "type_id": types.context,
                        "name": run_name(run),
                        "create_time_since_epoch": t0,
                        "last_update_time_since_epoch": t0,
                    }
                )
                for step in range(steps):
                    node_id = run * steps + step + 1  # execution i and its output artifact
                    t = t0 + step * 10
                    rows["exe"].append(
                        {
                            "id": node_id,
                            "type_id": types.execution,
                            "last_known_state": pb.Execution.COMPLETE,
                            "create_time_since_epoch": t,
                            "last_update_time_since_epoch": t,
                        }
                    )
                    rows["exep"].append(
                        {
                            "execution_id": node_id,
                            "name": "display_name",
                            "is_custom_property": 1,
                            "string_value": f"step-{step}",
                        }
                    )
                    rows["art"].append(
                        {
                            "id": node_id,
                            "type_id": types.artifact,
                            "uri": artifact_uri(run, step),
                            "state": pb.Artifact.LIVE,
                            "create_time_since_epoch": t,
                            "last_update_time_since_epoch": t,
                        }
                    )
                    rows["artp"].append(
                        {
                            "artifact_id": node_id,
                            "name": "step",
                            "is_custom_property": 1,
                            "int_value": step,
                        }
                    )
                    edges = [(node_id, pb.Event.OUTPUT, "output")]
                    if step:
                        edges.insert(0, (node_id - 1, pb.Event.INPUT, "input"))
                    for artifact_id, kind, key in edges:
                        event_id += 1
                        rows["evt"].append(
                            {
                                "id": event_id,
                                "artifact_id": artifact_id,
                                "execution_id": node_id,
                                "type": kind,
                                "milliseconds_since_epoch": t,
                            }
                        )
                        rows["path"].append(
                            {
                                "event_id": event_id,
                                "is_index_step": 0,
                                "step_key": key,
                            }
                        )
                    rows["attr"].append({"context_id": ctx_id, "artifact_id": node_id})
                    rows["assoc"].append({"context_id": ctx_id, "execution_id": node_id})
            for key, table in (
                ("ctx", schema.context_table),
                ("exe", schema.execution_table),
                ("exep", schema.execution_property_table),
                ("art", schema.artifact_table),
                ("artp", schema.artifact_property_table),
                ("evt", schema.event_table),
                ("path", schema.event_path_table),
                ("attr", schema.attribution_table),
                ("assoc", schema.association_table),
            ):
                conn.execute(table.insert(), rows[key])
            done = min(runs, first + chunk_runs) * steps
            if done % 50_000 < chunk_runs * steps or done == runs * steps:
                log(f"  bulk load: {done:,}/{runs * steps:,} executions")
        counts = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar()
            for table in (
                schema.execution_table,
                schema.artifact_table,
                schema.event_table,
                schema.context_table,
            )
        }
    engine.dispose()
    expected_events = runs * (2 * steps - 1)
    assert counts == {
        "Execution": runs * steps,
        "Artifact": runs * steps,
        "Event": expected_events,
        "Context": runs,
    }, counts
    # MLMD opens it (and would refuse a broken one) before it is used.
    check = metadata_store.MetadataStore(mlmd_connection(tmp))
    assert load_types(check) == types
    del check
    tmp.rename(path)
    size_mb = path.stat().st_size / 1e6
    log(f"  bulk load: {path.name} ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f}s")


def base_file(workdir: Path, executions: int, steps: int, log: Callable[[str], None]) -> Path:
    path = workdir / f"base-v{BASE_FORMAT}-{executions}x{steps}.sqlite"
    if path.exists() and opened_by_lineage(path):
        # Our migrations add indexes MLMD's schema lacks, and MLMD's lineage then runs
        # 25x faster on the copy it is timed on: the baseline would be wrong.
        log(f"  bulk load: {path} was opened by lineage (migrated); building it again")
        path.unlink()
    if path.exists():
        log(f"  bulk load: reusing {path}")
    else:
        build_base(path, executions, steps, log)
    return path


def opened_by_lineage(path: Path) -> bool:
    """Whether our store ever migrated this file (its tables and indexes are ours)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        names = [str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master")]
    return any(name == "alembic_version" or name.startswith("lineage") for name in names)


# --- our server ------------------------------------------------------------------------


def start_server(
    database: Path,
    data_dir: Path,
    profile_dir: Path | None = None,
    *,
    cprofile: bool = False,
    patches: Sequence[str] = (),
) -> LineageServer:
    """``lineage serve`` on ``database`` (or, with ``profile_dir``, the instrumented
    wrapper bench_mlmd_server.py), in its own process group."""
    env: dict[str, str] = {}
    entry: tuple[str, ...] = ("-m", "lineage.cli")
    if profile_dir is not None:
        entry = (str(HERE / "bench_mlmd_server.py"),)
        env["BENCH_MLMD_PROFILE_DIR"] = str(profile_dir)
        env["BENCH_MLMD_CPROFILE"] = "1" if cprofile else "0"
        env["BENCH_MLMD_PATCH"] = ",".join(patches)
    server = LineageServer(
        f"sqlite:///{database}",
        data_dir,
        extra_args=("--log-level", "warning"),
        env=env,
        entry=entry,
    )
    return server.start(timeout=600)


# --- measuring ---------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Figures:
    """Milliseconds."""

    n: int = 0
    mean: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p99: float = 0.0
    round_means: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, seconds: Sequence[float], round_means: Sequence[float] = ()) -> Figures:
        ms = [s * 1000 for s in seconds]
        return cls(
            n=len(ms),
            mean=statistics.fmean(ms),
            p50=pct(ms, 0.5),
            p90=pct(ms, 0.9),
            p99=pct(ms, 0.99),
            round_means=[round(r, 3) for r in round_means],
        )


@dataclass
class SizeResult:
    executions: int
    runs: int
    server_startup_s: float
    mlmd_ingest: Figures
    ours_ingest: Figures
    mlmd_lineage: Figures
    ours_lineage: Figures
    lineage_nodes: int
    executions_after: int
    load_before: str
    load_after: str
    profile: dict[str, Any] | None = None

    @property
    def ingest_ratio(self) -> float:  # ours / MLMD: below 1 is faster
        return self.ours_ingest.mean / self.mlmd_ingest.mean

    @property
    def lineage_speedup(self) -> float:  # MLMD / ours
        return self.mlmd_lineage.p50 / self.ours_lineage.p50


@dataclass
class Setup:
    """One size: both stores, our server, and what was measured on them so far."""

    executions: int
    here: Path
    server: LineageServer
    profile_dir: Path | None = None
    stores: dict[str, metadata_store.MetadataStore] = field(default_factory=dict)
    client_rpcs: dict[str, list[float]] | None = None
    bulk_runs: int = 0
    executions_after: int = 0
    samples: list[int] = field(default_factory=list)
    last_artifact: dict[str, dict[int, int]] = field(default_factory=dict)
    ingest_times: dict[str, list[float]] = field(default_factory=dict)
    round_means: dict[str, list[float]] = field(default_factory=dict)
    lineage_times: dict[str, list[float]] = field(default_factory=dict)
    answers: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    lineage_nodes: int = 0
    load_before: str = ""
    load_after: str = ""


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.steps: int = args.steps_per_run
        self.workdir: Path = args.workdir

    def log(self, message: str) -> None:
        print(message, flush=True)

    def ingest(
        self,
        stores: dict[str, metadata_store.MetadataStore],
        types: dict[str, Types],
        first_run: int,
        total_steps: int,
        rounds: int,
    ) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, dict[int, int]]]:
        """``total_steps`` steps (whole runs) into each store, alternating in rounds."""
        runs = max(1, total_steps // self.steps)
        per_round = max(1, runs // rounds)
        times: dict[str, list[float]] = {name: [] for name in stores}
        round_means: dict[str, list[float]] = {name: [] for name in stores}
        last_artifact: dict[str, dict[int, int]] = {name: {} for name in stores}
        order = list(stores)
        run = first_run
        end = first_run + runs
        while run < end:
            batch = range(run, min(end, run + per_round))
            for name in order:
                store, spent = stores[name], []
                for r in batch:
                    previous: pb.Artifact | None = None
                    for step in range(self.steps):
                        elapsed, previous = put_step(store, types[name], r, step, previous)
                        spent.append(elapsed)
                    assert previous is not None
                    last_artifact[name][r] = previous.id
                times[name].extend(spent)
                round_means[name].append(1000 * statistics.fmean(spent))
            order.reverse()
            run = batch.stop
        return times, round_means, last_artifact

    def prepare(self, executions: int) -> Setup:
        """Make both stores of this size, start our server, time the ingest, pick the
        runs whose lineage is timed later (with every size's servers still up)."""
        args = self.args
        steps = self.steps
        self.log(f"\n== {executions:,} executions ({executions // steps:,} runs of {steps} steps)")
        load_before = load_average()
        base = base_file(self.workdir, executions, steps, self.log)
        here = self.workdir / f"run-{executions}"
        shutil.rmtree(here, ignore_errors=True)
        here.mkdir(parents=True)
        mlmd_path, ours_path = here / "mlmd.sqlite", here / "ours.sqlite"
        shutil.copyfile(base, mlmd_path)
        shutil.copyfile(base, ours_path)
        profile_dir = here / "profile" if args.profile else None
        server = start_server(
            ours_path,
            here / "server-data",
            profile_dir,
            cprofile=args.cprofile,
            patches=args.server_patch,
        )
        self.log(
            f"  ours: lineage serve on port {server.port}, started (adopting the MLMD file) in "
            f"{server.startup_seconds:.1f}s"
        )
        setup = Setup(executions=executions, here=here, server=server, profile_dir=profile_dir)
        setup.load_before = load_before
        setup.stores = {
            "mlmd": metadata_store.MetadataStore(mlmd_connection(mlmd_path)),
            "ours": server.client(),
        }
        setup.client_rpcs = time_client_rpcs(setup.stores["ours"]) if args.profile else None
        types = {name: load_types(store) for name, store in setup.stores.items()}
        setup.bulk_runs = executions // steps
        # Warm-up (not timed): a few runs each, so connections and caches are up.
        warm_runs = 5
        self.ingest(setup.stores, types, setup.bulk_runs, warm_runs * steps, 1)
        first_timed = setup.bulk_runs + warm_runs
        self.log(
            f"  timed ingest: {args.timed_steps:,} steps per store in {args.rounds} "
            "alternating rounds ..."
        )
        setup.ingest_times, setup.round_means, setup.last_artifact = self.ingest(
            setup.stores, types, first_timed, args.timed_steps, args.rounds
        )
        setup.executions_after = (first_timed + args.timed_steps // steps) * steps
        ingest = {name: statistics.fmean(t) * 1000 for name, t in setup.ingest_times.items()}
        self.log(
            f"  ingest ms/step  MLMD {ingest['mlmd']:.2f}  ours {ingest['ours']:.2f}  "
            f"(ours/MLMD {ingest['ours'] / ingest['mlmd']:.2f})"
        )
        # Bulk-loaded runs, then the timed ones (which got their ids from each store).
        candidates = [*range(setup.bulk_runs), *sorted(setup.last_artifact["mlmd"])]
        count = min(len(candidates), max(2, args.lineage_samples))
        setup.samples = [
            candidates[round(i * (len(candidates) - 1) / (count - 1))] for i in range(count)
        ]
        return setup

    def query(self, setup: Setup, name: str, run: int) -> tuple[float, dict[str, Any]]:
        artifact_id = setup.last_artifact[name].get(run, (run + 1) * self.steps)
        options = lineage_options(artifact_id, self.steps)
        start = time.perf_counter()
        graph = setup.stores[name].get_lineage_subgraph(options)
        return time.perf_counter() - start, lineage_summary(graph)

    def lineage(self, setups: list[Setup]) -> None:
        """Timed lineage queries on every size at once: per round, each size's stores
        answer that round's share of its samples back to back, the order of sizes and of
        stores alternating between rounds, so load from other processes is shared out
        evenly (this matters most for comparing our own sizes). Then both stores'
        answers are checked to agree, run by run."""
        rounds = max(1, self.args.rounds)
        self.log(
            f"\n== lineage: {self.args.lineage_samples} runs per size, sizes and stores "
            f"alternating in {rounds} rounds ..."
        )
        for setup in setups:  # warm-up, not timed
            for name in setup.stores:
                for run in (setup.samples[0], setup.samples[-1]):
                    self.query(setup, name, run)
        size_order = list(setups)
        store_order = ["mlmd", "ours"]
        for index in range(rounds):
            for setup in size_order:
                per_round = -(-len(setup.samples) // rounds)
                batch = setup.samples[index * per_round : (index + 1) * per_round]
                for name in store_order:
                    for run in batch:
                        elapsed, answer = self.query(setup, name, run)
                        setup.lineage_times.setdefault(name, []).append(elapsed)
                        setup.answers.setdefault(name, {})[run] = answer
                store_order.reverse()
            size_order.reverse()
        expected = (self.steps, self.steps, 2 * self.steps - 1, 1)
        for setup in setups:
            setup.load_after = load_average()
            for run in setup.samples:
                got = {name: setup.answers[name][run] for name in setup.stores}
                first_answer, *others = got.values()
                if any(other != first_answer for other in others):
                    raise AssertionError(
                        f"{setup.executions:,} executions, run {run}: lineage differs: "
                        + "; ".join(
                            f"{name}: {a['artifacts']} artifacts, {a['executions']} executions, "
                            f"{a['events']} events, {a['contexts']} contexts"
                            for name, a in got.items()
                        )
                    )
                shape = tuple(
                    first_answer[k] for k in ("artifacts", "executions", "events", "contexts")
                )
                if shape != expected:
                    raise AssertionError(
                        f"{setup.executions:,} executions, run {run}: lineage {shape}, "
                        f"expected {expected}"
                    )
                setup.lineage_nodes = first_answer["artifacts"] + first_answer["executions"]
            p50 = {name: pct(t, 0.5) * 1000 for name, t in setup.lineage_times.items()}
            self.log(
                f"  {setup.executions:>9,}: lineage p50 ms  MLMD {p50['mlmd']:.2f}  ours "
                f"{p50['ours']:.2f}  (MLMD/ours {p50['mlmd'] / p50['ours']:.1f}x)"
            )

    def finish(self, setup: Setup) -> SizeResult:
        setup.stores.clear()
        setup.server.stop()
        profile = read_profile(setup.profile_dir) if setup.profile_dir else None
        if profile is not None and setup.client_rpcs is not None:
            profile["client"] = {
                rpc: {"calls": len(ms), "mean_ms": statistics.fmean(ms), "p50_ms": pct(ms, 0.5)}
                for rpc, ms in setup.client_rpcs.items()
            }
        result = SizeResult(
            executions=setup.executions,
            runs=setup.bulk_runs,
            server_startup_s=round(setup.server.startup_seconds, 2),
            mlmd_ingest=Figures.of(setup.ingest_times["mlmd"], setup.round_means["mlmd"]),
            ours_ingest=Figures.of(setup.ingest_times["ours"], setup.round_means["ours"]),
            mlmd_lineage=Figures.of(setup.lineage_times["mlmd"]),
            ours_lineage=Figures.of(setup.lineage_times["ours"]),
            lineage_nodes=setup.lineage_nodes,
            executions_after=setup.executions_after,
            load_before=setup.load_before,
            load_after=setup.load_after,
            profile=profile,
        )
        if not self.args.keep:
            shutil.rmtree(setup.here, ignore_errors=True)
        return result


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def time_client_rpcs(store: metadata_store.MetadataStore) -> dict[str, list[float]]:
    """Time every RPC the gRPC client makes (ms), by method name, from the client side."""
    timings: dict[str, list[float]] = {}
    call = store._call

    def timed(method_name: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(method_name, *args, **kwargs)
        finally:
            timings.setdefault(method_name, []).append(1000 * (time.perf_counter() - start))

    store._call = timed  # type: ignore[method-assign]
    return timings


def read_profile(directory: Path) -> dict[str, Any] | None:
    path = directory / "rpc_stats.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


# --- report ------------------------------------------------------------------------------


def report(results: list[SizeResult], args: argparse.Namespace) -> tuple[str, dict[str, bool]]:
    lines = []
    steps = args.steps_per_run
    lines.append("")
    lines.append("What was measured")
    lines.append(
        f"  bulk-loaded, not timed: N executions as N/{steps} runs of {steps} chained steps "
        "(each execution: 1 INPUT + 1 OUTPUT event with paths, 1 new artifact, run context,"
    )
    lines.append(
        "    attribution + association, 1 custom property each), SQLAlchemy bulk inserts into "
        "MLMD's tables of a store MLMD created; copied for each store."
    )
    lines.append(
        f"  timed: {args.timed_steps:,} more steps per store, one PutExecution each through the "
        "ml_metadata client (MLMD in-process; ours over gRPC),"
    )
    lines.append(
        f"    {args.rounds} rounds alternating the stores; then GetLineageSubgraph UPSTREAM from "
        f"the last artifact of {args.lineage_samples} runs spread over the store ({2 * steps} "
        f"hops, {2 * steps} nodes each),"
    )
    lines.append(
        f"    after every size was loaded, in {args.rounds} rounds alternating sizes and stores; "
        "both answers checked equal "
        "(artifact URIs, numbers of executions, events, contexts) and complete."
    )
    lines.append(
        "  ingest: mean ms per PutExecution call (p50 in the details); lineage: p50 ms per "
        "get_lineage_subgraph call (the ml_metadata client makes 6 RPCs for one: the"
    )
    lines.append(
        "    subgraph skeleton, then artifacts+types, executions, execution types, contexts, "
        "context types by id; MLMD in-process does the same 6 calls without a network)."
    )
    lines.append("")
    base = results[0] if results else None
    header = (
        f"{'executions':>11} | {'ingest ms/step (mean)':^31} | {'lineage p50 ms':^31} | "
        f"{'ours lineage':^14}"
    )
    lines.append(header)
    lines.append(
        f"{'':>11} | {'MLMD':>9} {'ours':>9} {'ours/MLMD':>11} | {'MLMD':>9} {'ours':>9} "
        f"{'MLMD/ours':>11} | {'vs ' + format(base.executions, ',') if base else '':>14}"
    )
    lines.append("-" * len(header))
    for r in results:
        assert base is not None
        flat = r.ours_lineage.p50 / base.ours_lineage.p50
        lines.append(
            f"{r.executions:>11,} | {r.mlmd_ingest.mean:>9.2f} {r.ours_ingest.mean:>9.2f} "
            f"{r.ingest_ratio:>10.2f}x | {r.mlmd_lineage.p50:>9.2f} {r.ours_lineage.p50:>9.2f} "
            f"{r.lineage_speedup:>10.1f}x | {flat:>13.2f}x"
        )
    lines.append("")
    lines.append("Details (ms)")
    for r in results:
        for label, f in (
            ("MLMD ingest ", r.mlmd_ingest),
            ("ours ingest ", r.ours_ingest),
            ("MLMD lineage", r.mlmd_lineage),
            ("ours lineage", r.ours_lineage),
        ):
            rounds = f"  round means {f.round_means}" if f.round_means else ""
            lines.append(
                f"  {r.executions:>9,} {label}: n={f.n} mean {f.mean:.2f} p50 {f.p50:.2f} "
                f"p90 {f.p90:.2f} p99 {f.p99:.2f}{rounds}"
            )
        lines.append(
            f"  {r.executions:>9,} ours server startup (adopt + migrate the MLMD file) "
            f"{r.server_startup_s:.1f}s; load average before {r.load_before}, after "
            f"{r.load_after}"
        )
    checks: dict[str, bool] = {}
    lines.append("")
    lines.append("Targets")
    for r in results:
        ok = r.ingest_ratio <= TARGET_INGEST
        checks[f"ingest@{r.executions}"] = ok
        lines.append(
            f"  [{'PASS' if ok else 'MISS'}] ingest at {r.executions:,}: ours "
            f"{r.ours_ingest.mean:.2f} ms/step vs MLMD {r.mlmd_ingest.mean:.2f} "
            f"(ours/MLMD {r.ingest_ratio:.2f}, target <= {TARGET_INGEST:.2f})"
        )
    if results:
        small, large = results[0], results[-1]
        ok = large.lineage_speedup >= TARGET_LINEAGE_SPEEDUP
        checks[f"lineage_speedup@{large.executions}"] = ok
        lines.append(
            f"  [{'PASS' if ok else 'MISS'}] lineage at {large.executions:,}: "
            f"{large.lineage_speedup:.1f}x faster than MLMD (target >= {TARGET_LINEAGE_SPEEDUP:.0f}x)"
        )
        if len(results) > 1:
            flat = large.ours_lineage.p50 / small.ours_lineage.p50
            ok = flat <= TARGET_FLAT
            checks["lineage_flat"] = ok
            lines.append(
                f"  [{'PASS' if ok else 'MISS'}] our lineage at {large.executions:,} vs "
                f"{small.executions:,}: {large.ours_lineage.p50:.2f} / "
                f"{small.ours_lineage.p50:.2f} ms = {flat:.2f}x (target <= {TARGET_FLAT})"
            )
    for r in results:
        if r.profile:
            lines.append("")
            lines.extend(profile_lines(r, args.profile_statements))
    return "\n".join(lines), checks


def profile_lines(r: SizeResult, statements: int) -> list[str]:
    profile = r.profile or {}
    patches = ", ".join(profile.get("patches") or []) or "none"
    lines = [
        f"Our server at {r.executions:,}, per RPC (client = seen by the client incl. gRPC; "
        f"handler = server handler, wall and its thread's CPU; SQL = time in cursor.execute). "
        f"Experimental patches: "
        f"{patches}" + ("; cProfile on, times inflated" if profile.get("cprofile") else "")
    ]
    client = profile.get("client", {})
    for rpc, s in sorted(profile.get("rpcs", {}).items(), key=lambda kv: -kv[1]["calls"]):
        seen = client.get(rpc)
        seen_text = f"client p50 {seen['p50_ms']:.2f} mean {seen['mean_ms']:.2f}, " if seen else ""
        lines.append(
            f"  {rpc}: {s['calls']} calls; {seen_text}handler {s['mean_ms']:.2f} ms "
            f"(CPU {s['cpu_ms']:.2f}), "
            f"SQL {s['sql_ms_per_call']:.2f} ms in {s['statements_per_call']:.1f} statements"
        )
        for stmt in s.get("top_statements", [])[:statements]:
            lines.append(
                f"      {stmt['per_call']:>5.2f}/call {stmt['ms_per_call']:>7.3f} ms/call  "
                f"{stmt['sql'][:160]}"
            )
    if profile.get("cprofile"):
        lines.append(f"  cProfile of the handlers: {profile['cprofile']}")
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        default="10000,200000",
        help="store sizes in executions, comma separated (default 10000,200000)",
    )
    parser.add_argument("--steps-per-run", type=int, default=10, help="steps per run (10)")
    parser.add_argument(
        "--timed-steps", type=int, default=2000, help="timed PutExecution calls per store (2000)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="rounds alternating the stores, for ingest and for lineage (4)",
    )
    parser.add_argument(
        "--lineage-samples", type=int, default=50, help="lineage queries per store (50)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "lineage-bench-mlmd",
        help="where base files are cached and stores live (default $TMPDIR/lineage-bench-mlmd)",
    )
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the stores after the run")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run our server instrumented (bench/bench_mlmd_server.py): per RPC, client "
        "and handler time, SQL statements and their time",
    )
    parser.add_argument(
        "--cprofile", action="store_true", help="with --profile: cProfile the handlers too"
    )
    parser.add_argument(
        "--profile-statements",
        type=int,
        default=8,
        help="with --profile: statements listed per RPC (8)",
    )
    parser.add_argument(
        "--server-patch",
        default="",
        help="with --profile: experimental patches of our store, comma separated "
        "(no_exist_checks; see bench_mlmd_server.py)",
    )
    args = parser.parse_args(argv)
    args.server_patch = [p for p in args.server_patch.split(",") if p]
    if args.cprofile or args.server_patch:
        args.profile = True
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.steps_per_run < 1 or args.timed_steps < args.steps_per_run:
        parser.error("--timed-steps must be at least --steps-per-run (whole runs are timed)")
    for size in args.sizes:
        if size < args.steps_per_run:
            parser.error(f"size {size} is smaller than one run")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    started = time.perf_counter()
    print(
        f"bench_mlmd: sizes {args.sizes}, {args.steps_per_run} steps/run, {args.timed_steps} "
        f"timed steps, {args.lineage_samples} lineage samples; ml-metadata "
        f"{metadata_store_version()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load_average()}",
        flush=True,
    )
    setups: list[Setup] = []
    try:
        for size in args.sizes:
            setups.append(bench.prepare(size))
        bench.lineage(setups)
        results = [bench.finish(setup) for setup in setups]
    finally:
        for setup in setups:
            setup.server.stop()
    text, checks = report(results, args)
    print(text)
    elapsed = time.perf_counter() - started
    print(f"\nbench_mlmd: done in {elapsed:.0f}s, load average {load_average()}")
    if args.json:
        payload = {
            "config": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in vars(args).items()
                if k != "json"
            },
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "ml_metadata": metadata_store_version(),
                "platform": platform.platform(),
            },
            "results": [
                {
                    **asdict(r),
                    "ingest_ours_over_mlmd": r.ingest_ratio,
                    "lineage_speedup": r.lineage_speedup,
                }
                for r in results
            ],
            "targets": checks,
            "seconds": elapsed,
        }
        args.json.write_text(json.dumps(payload, indent=2))
        print(f"bench_mlmd: results in {args.json}")
    return 0


def metadata_store_version() -> str:
    try:
        from importlib.metadata import version

        return version("ml-metadata")
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
