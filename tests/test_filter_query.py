"""filter_query: differential tests against MLMD's own store, on every backend.

A varied dataset is written with MLMD's library into a SQLite file. Each query runs
through MLMD (``get_artifacts(list_options=ListOptions(filter_query=...))``) and through
``lineage.query.compile_filter`` with SQLAlchemy on the same file; the ids must match.
The same compiled queries then run on PostgreSQL and MariaDB, on a copy of the rows,
and must give MLMD's answer there too, also where it depends on how strings compare
(case, trailing spaces, accents, emoji, LIKE's case and backslashes, string order).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlalchemy.dialects import mysql, postgresql, sqlite

from lineage.errors import InvalidArgument
from lineage.query import compile_filter, parse
from lineage.store import schema

mlmd = pytest.importorskip("ml_metadata.metadata_store")
errors = pytest.importorskip("ml_metadata.errors")
pb = pytest.importorskip("ml_metadata.proto.metadata_store_pb2")

TABLES = {
    "artifact": schema.artifact_table,
    "execution": schema.execution_table,
    "context": schema.context_table,
}


# --- the dataset -------------------------------------------------------------------------


@dataclass
class Data:
    store: Any
    path: str
    a: dict[int, int] = field(default_factory=dict)  # artifact number -> id
    e: dict[int, int] = field(default_factory=dict)
    c: dict[int, int] = field(default_factory=dict)
    t: dict[str, int] = field(default_factory=dict)  # type name -> id
    t_split: int = 0  # create time of the second batch of artifacts
    t_update: int = 0  # last update time of the re-written artifact

    def mlmd_ids(self, kind: str, query: str) -> list[int]:
        get = getattr(self.store, f"get_{kind}s")
        return sorted(n.id for n in get(list_options=mlmd.ListOptions(filter_query=query)))

    def id_list(self, kind: str, query: str) -> str:
        """MLMD's answer as ``1, 2, 3``, to write equivalents of our extensions."""
        ids = self.mlmd_ids(kind, query)
        assert ids, f"the helper query {query!r} selects nothing"
        return ", ".join(map(str, ids))

    def fmt(self, query: str) -> str:
        return query.format(
            a=self.a, e=self.e, c=self.c, t=self.t, t_split=self.t_split, t_update=self.t_update
        )


def _set(props: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if isinstance(value, bool):
            props[name].bool_value = value
        elif isinstance(value, int):
            props[name].int_value = value
        elif isinstance(value, float):
            props[name].double_value = value
        elif isinstance(value, str):
            props[name].string_value = value
        elif isinstance(value, dict):
            props[name].struct_value.update(value)
        else:  # a proto message
            props[name].proto_value.Pack(value)


def _type(cls: Any, name: str, props: dict[str, Any]) -> Any:
    t = cls(name=name)
    for key, kind in props.items():
        t.properties[key] = kind
    return t


ARTIFACTS: list[tuple[Any, ...]] = [
    # (number, name, type, uri, state, external_id, properties, custom_properties)
    (
        1,
        "train-data",
        "Dataset",
        "s3://bucket/data/train",
        "LIVE",
        "ext-a1",
        {"split": "train", "rows": 1000, "ratio": 0.8, "verified": True},
        {"owner": "alice", "version": 3, "score": 0.5, "flag": True},
    ),
    (
        2,
        "eval-data",
        "Dataset",
        "s3://bucket/data/eval",
        "LIVE",
        None,
        {"split": "eval", "rows": 200, "ratio": 0.2, "verified": False},
        {"owner": "bob", "version": 1, "split": "custom-split"},
    ),
    (
        3,
        "raw-data",
        "Dataset",
        "gs://raw/all.csv",
        "PENDING",
        None,
        {"split": "all", "rows": 1200},
        {"owner": "alice", "my prop": "x y"},
    ),
    (
        4,
        "model-v1",
        "Model",
        "s3://bucket/models/v1",
        "LIVE",
        "ext-m1",
        {"accuracy": 0.91, "layers": 12, "framework": "torch"},
        {"tag": "best", "version": 1, "flag": False},
    ),
    (
        5,
        "model-v2",
        "Model",
        "s3://bucket/models/v2",
        "DELETED",
        "ext-m2",
        {"accuracy": 0.85, "layers": 24, "framework": "tf"},
        {"tag": "old", "version": 2},
    ),
    (
        6,
        "model-v3",
        "Model",
        "file:///tmp/m3",
        "MARKED_FOR_DELETION",
        None,
        {"accuracy": 0.97, "framework": "torch"},
        {"version": 3, "my prop": "z"},
    ),
    (7, None, "Metrics", "s3://bucket/metrics/1", None, None, {}, {"auc": 0.75, "epochs": 10}),
    # --- second batch (later create time) ---
    (8, "metrics-2", "Metrics", None, "ABANDONED", None, {}, {"auc": 0.6, "cfg": {"a": 1}}),
    (
        9,
        "metrics-3",
        "Metrics",
        "s3://bucket/metrics/3",
        "REFERENCE",
        "ext-x3",
        {},
        {"note": "it's", "pv": "proto"},
    ),
    (
        10,
        "UPPER-case",
        "Dataset",
        "S3://Bucket/Upper",
        "UNKNOWN",
        None,
        {"split": "Holdout"},
        {"owner": "Carol"},
    ),
    (
        11,
        "zero",
        "Dataset",
        "s3://bucket/data/zero",
        "LIVE",
        None,
        {"rows": 0, "ratio": 0.0},
        {"owner": ""},
    ),
    (
        12,
        "neg",
        "Model",
        "s3://bucket/models/neg",
        "LIVE",
        None,
        {"layers": -5, "accuracy": -1.5},
        {"version": "v12"},
    ),
    (13, "orphan", "Metrics", "s3://bucket/orphan", "LIVE", None, {}, {}),
    (14, "pct%name_x", "Metrics", "s3://bucket/pct", "LIVE", None, {}, {"auc": 0.6}),
    (15, "Zoé 😀 ", "Metrics", "s3://bucket/back\\slash", "LIVE", None, {}, {"owner": "carol "}),
]

EXECUTIONS: list[tuple[Any, ...]] = [
    # (number, name, type, state, external_id, properties, custom_properties)
    (
        1,
        "train-1",
        "Trainer",
        "COMPLETE",
        "run-e1",
        {"epochs": 10, "lr": 0.01, "optimizer": "adam", "distributed": True},
        {"seed": 42, "note": "first"},
    ),
    (
        2,
        "train-2",
        "Trainer",
        "FAILED",
        None,
        {"epochs": 20, "lr": 0.001, "optimizer": "sgd", "distributed": False},
        {"seed": 7},
    ),
    (3, "train-3", "Trainer", "RUNNING", None, {"epochs": 5, "optimizer": "adam"}, {}),
    (4, "eval-1", "Evaluator", "COMPLETE", None, {"threshold": 0.5}, {"seed": 42}),
    (5, "eval-2", "Evaluator", "CACHED", None, {}, {"note": "cached"}),
    (6, None, "Evaluator", None, None, {}, {}),
    (7, "train-4", "Trainer", "NEW", None, {}, {}),
    (8, "train-5", "Trainer", "CANCELED", None, {}, {}),
    (9, "eval-3", "Evaluator", "UNKNOWN", None, {}, {}),
]

CONTEXTS: list[tuple[Any, ...]] = [
    # (number, name, type, external_id, properties, custom_properties)
    (1, "pipe-a", "Pipeline", "ctx-ext", {"owner": "alice"}, {"env": "prod"}),
    (2, "pipe-b", "Pipeline", None, {"owner": "bob"}, {"env": "dev", "active": True}),
    (3, "run-1", "PipelineRun", None, {"run_number": 1, "score": 0.9}, {}),
    (4, "run-2", "PipelineRun", None, {"run_number": 2, "score": 0.7}, {}),
    (5, "run-3", "PipelineRun", None, {"run_number": 3}, {"active": False}),
    (6, "exp-1", "Experiment", None, {}, {}),
    (7, "sub-run", "PipelineRun", None, {"run_number": 10}, {}),
    (8, "lonely", "Experiment", None, {}, {}),
]

PARENTS = [(3, 1), (4, 1), (5, 2), (3, 6), (5, 6), (7, 3)]  # (child, parent)
ATTRIBUTIONS = {3: [1, 2, 4, 7], 4: [1, 3, 5], 5: [6, 8], 1: [1, 2, 3, 4, 5], 2: [6, 9]}
ATTRIBUTIONS.update({6: [4, 10], 7: [11, 12]})
ASSOCIATIONS = {3: [1, 4], 4: [2, 5], 5: [3], 1: [1, 2, 4, 5], 2: [3, 7], 6: [8], 7: [9]}
EVENTS = [
    # (execution, artifact, type, milliseconds_since_epoch)
    (1, 1, "INPUT", 1000),
    (1, 2, "INPUT", 1001),
    (1, 4, "OUTPUT", 1002),
    (2, 1, "INPUT", 2000),
    (2, 3, "INPUT", 2001),
    (2, 5, "OUTPUT", 2002),
    (2, 7, "DECLARED_OUTPUT", 2003),
    (3, 1, "DECLARED_INPUT", 3000),
    (3, 6, "PENDING_OUTPUT", 3001),
    (4, 4, "INPUT", 4000),
    (4, 2, "INPUT", 4001),
    (4, 7, "OUTPUT", 4002),
    (5, 5, "INTERNAL_INPUT", 5000),
    (5, 8, "INTERNAL_OUTPUT", 5001),
    (7, 9, "OUTPUT", 7000),
    (9, 11, "INPUT", 9000),
    (9, 12, "OUTPUT", 9001),
]


def _build(path: str) -> Data:
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = 3
    store = mlmd.MetadataStore(config)
    data = Data(store=store, path=path)
    S, B = pb.STRING, pb.BOOLEAN
    I, D = pb.INT, pb.DOUBLE  # noqa: E741
    put_a, put_e, put_c = (
        store.put_artifact_type,
        store.put_execution_type,
        store.put_context_type,
    )
    data.t["Dataset"] = put_a(
        _type(pb.ArtifactType, "Dataset", {"split": S, "rows": I, "ratio": D, "verified": B})
    )
    data.t["Model"] = put_a(
        _type(pb.ArtifactType, "Model", {"accuracy": D, "layers": I, "framework": S})
    )
    data.t["Metrics"] = put_a(_type(pb.ArtifactType, "Metrics", {}))
    data.t["Trainer"] = put_e(
        _type(
            pb.ExecutionType,
            "Trainer",
            {"epochs": I, "lr": D, "optimizer": S, "distributed": B},
        )
    )
    data.t["Evaluator"] = put_e(_type(pb.ExecutionType, "Evaluator", {"threshold": D}))
    data.t["Pipeline"] = put_c(_type(pb.ContextType, "Pipeline", {"owner": S}))
    data.t["PipelineRun"] = put_c(
        _type(pb.ContextType, "PipelineRun", {"run_number": I, "score": D})
    )
    data.t["Experiment"] = put_c(_type(pb.ContextType, "Experiment", {}))

    def artifact(row: tuple[Any, ...]) -> Any:
        _, name, type_name, uri, state, ext, props, custom = row
        a = pb.Artifact(type_id=data.t[type_name])
        if name is not None:
            a.name = name
        if uri is not None:
            a.uri = uri
        if state is not None:
            a.state = pb.Artifact.State.Value(state)
        if ext is not None:
            a.external_id = ext
        _set(a.properties, props)
        _set(
            a.custom_properties,
            {k: pb.Value(int_value=1) if v == "proto" else v for k, v in custom.items()},
        )
        return a

    first = [r for r in ARTIFACTS if r[0] <= 7]
    second = [r for r in ARTIFACTS if r[0] > 7]
    for row, id_ in zip(first, store.put_artifacts([artifact(r) for r in first]), strict=True):
        data.a[row[0]] = id_
    time.sleep(0.05)
    for row, id_ in zip(second, store.put_artifacts([artifact(r) for r in second]), strict=True):
        data.a[row[0]] = id_
    data.t_split = store.get_artifacts_by_id([data.a[8]])[0].create_time_since_epoch

    executions = []
    for _, name, type_name, state, ext, props, custom in EXECUTIONS:
        x = pb.Execution(type_id=data.t[type_name])
        if name is not None:
            x.name = name
        if state is not None:
            x.last_known_state = pb.Execution.State.Value(state)
        if ext is not None:
            x.external_id = ext
        _set(x.properties, props)
        _set(x.custom_properties, custom)
        executions.append(x)
    for row, id_ in zip(EXECUTIONS, store.put_executions(executions), strict=True):
        data.e[row[0]] = id_

    contexts = []
    for _, name, type_name, ext, props, custom in CONTEXTS:
        c = pb.Context(type_id=data.t[type_name], name=name)
        if ext is not None:
            c.external_id = ext
        _set(c.properties, props)
        _set(c.custom_properties, custom)
        contexts.append(c)
    for row, id_ in zip(CONTEXTS, store.put_contexts(contexts), strict=True):
        data.c[row[0]] = id_

    store.put_parent_contexts(
        [pb.ParentContext(child_id=data.c[ch], parent_id=data.c[p]) for ch, p in PARENTS]
    )
    store.put_attributions_and_associations(
        [
            pb.Attribution(context_id=data.c[c], artifact_id=data.a[a])
            for c, arts in ATTRIBUTIONS.items()
            for a in arts
        ],
        [
            pb.Association(context_id=data.c[c], execution_id=data.e[x])
            for c, execs in ASSOCIATIONS.items()
            for x in execs
        ],
    )
    store.put_events(
        [
            pb.Event(
                execution_id=data.e[x],
                artifact_id=data.a[a],
                type=pb.Event.Type.Value(kind),
                milliseconds_since_epoch=ms,
            )
            for x, a, kind, ms in EVENTS
        ]
    )

    # Touch one artifact later: a distinct last_update_time_since_epoch.
    time.sleep(0.05)
    [eval_data] = store.get_artifacts_by_id([data.a[2]])
    eval_data.custom_properties["touched"].bool_value = True
    store.put_artifacts([eval_data])
    [eval_data] = store.get_artifacts_by_id([data.a[2]])
    data.t_update = eval_data.last_update_time_since_epoch - 1
    return data


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    path = str(tmp_path_factory.mktemp("mlmd") / "mlmd.sqlite")
    return _build(path)


@pytest.fixture(scope="module")
def sqlite_engine(data: Data) -> Iterator[Engine]:
    engine = create_engine("sqlite:///" + data.path)
    yield engine
    engine.dispose()


def _copy(data: Data, source: Engine, url: str) -> Engine:
    engine = create_engine(url)
    schema.metadata.create_all(engine)
    with source.connect() as src, engine.begin() as dst:
        for table in schema.MLMD_TABLES:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            for row in rows:
                for key, value in row.items():
                    if isinstance(value, str) and key in ("byte_value", "proto_value"):
                        # MLMD on SQLite keeps these as base64 text; servers need bytes
                        row[key] = value.encode()
            if rows:
                dst.execute(table.insert(), rows)
    return engine


def _server_engine(
    request: pytest.FixtureRequest, server_fixture: str, data: Data, source: Engine
) -> Iterator[Engine]:
    server = request.getfixturevalue(server_fixture)  # skips when not installed
    name = server.new_database_name()
    url = server.create_database(name)
    engine = _copy(data, source, url)
    yield engine
    engine.dispose()
    server.drop_database(name)


@pytest.fixture(scope="module")
def postgresql_engine(
    request: pytest.FixtureRequest, data: Data, sqlite_engine: Engine
) -> Iterator[Engine]:
    yield from _server_engine(request, "postgres_server", data, sqlite_engine)


@pytest.fixture(scope="module")
def mysql_engine(
    request: pytest.FixtureRequest, data: Data, sqlite_engine: Engine
) -> Iterator[Engine]:
    yield from _server_engine(request, "mysql_server", data, sqlite_engine)


def ours(engine: Engine, kind: str, query: str) -> list[int]:
    table = TABLES[kind]
    with engine.connect() as conn:
        return sorted(conn.execute(select(table.c.id).where(compile_filter(kind, query))).scalars())


# --- the queries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Q:
    kind: str
    query: str
    # MLMD's equivalent when MLMD does not accept ours (our extensions): a format string,
    # or a function of the dataset for equivalents that need MLMD's own answers.
    mlmd: str | Callable[[Data], str] | None = None

    def mlmd_query(self, data: Data) -> str:
        if self.mlmd is None:
            return data.fmt(self.query)
        if callable(self.mlmd):
            return self.mlmd(data)
        return data.fmt(self.mlmd)


A, E, C = "artifact", "execution", "context"

QUERIES = [
    # --- artifact attributes
    Q(A, "name = 'train-data'"),
    Q(A, "name != 'train-data'"),
    Q(A, "name <> 'train-data' AND uri LIKE 's3://bucket/%'"),
    Q(A, "name <> 'train-data' AND uri LIKE 's3://bucket/m%'"),
    Q(A, "name IS NULL"),
    Q(A, "name IS NOT NULL AND uri IS NULL"),
    Q(A, "NAME = 'train-data' and TRUE or false"),
    Q(A, "uri LIKE 's3://bucket/models/%'"),
    Q(A, "uri NOT LIKE 's3://%'"),
    Q(A, "name LIKE '%-v_'"),
    Q(A, "name LIKE 'upper%'"),
    Q(A, "name LIKE 'pct%'"),
    Q(A, "name = 'zoé 😀 ' OR name = 'Zoe 😁 ' OR name = 'Zoé 😀' OR name = 'neg'"),
    Q(A, "custom_properties.owner.string_value IN ('carol', 'Carol ')"),
    Q(A, "name BETWEEN 'A' AND 'a'"),
    Q(A, "name > 'Zoe' AND name < 'm'"),
    Q(A, "id = {a[4]}"),
    Q(A, "id = {a[4]}.0"),
    Q(A, "id IN ({a[1]}, {a[3]}, {a[5]})"),
    Q(A, "id NOT IN ({a[1]}, {a[3]})"),
    Q(A, "id BETWEEN {a[2]} AND {a[5]}"),
    Q(A, "id NOT BETWEEN {a[2]} AND {a[5]}"),
    Q(A, "id > {a[10]} OR id < {a[2]}"),
    Q(A, "{a[4]} = id"),
    Q(A, "type = 'Model'"),
    Q(A, "type != 'Model'"),
    Q(A, "type IN ('Model', 'Metrics')"),
    Q(A, "NOT type IN ('Model', 'Metrics')"),
    Q(A, "type LIKE 'Mo%'"),
    Q(A, "type_id = {t[Model]}"),
    Q(A, "external_id = 'ext-m1'"),
    Q(A, "external_id IS NULL"),
    Q(A, "external_id IS NOT NULL AND state = LIVE"),
    Q(A, "state = LIVE"),
    Q(A, "state != LIVE"),
    Q(A, "state IN (LIVE, PENDING)"),
    Q(A, "state NOT IN (LIVE, DELETED)"),
    Q(A, "state IN (LIVE, PENDING, DELETED)"),
    Q(A, "state IS NULL"),
    Q(A, "state > 2"),
    Q(A, "NOT state = LIVE"),
    Q(A, "(state = LIVE) = TRUE"),
    Q(A, "state = UNKNOWN OR state = MARKED_FOR_DELETION"),
    Q(A, "create_time_since_epoch < {t_split}"),
    Q(A, "create_time_since_epoch >= {t_split} AND create_time_since_epoch > 0"),
    Q(A, "last_update_time_since_epoch > {t_update}"),
    # --- literals and syntax
    Q(A, "TRUE"),
    Q(A, "FALSE"),
    Q(A, "1 = 1"),
    Q(A, "'a' = 'a'"),
    Q(A, "NULL IS NULL"),
    Q(A, "name = 'train-data' -- a comment"),
    Q(A, "/* a comment */ name = 'eval-data' # another"),
    Q(A, "name IN ('train-data', NULL)"),
    Q(A, "name NOT IN ('train-data', NULL)"),
    Q(A, 'name = "eval-data"'),
    Q(A, "name = r'eval-data'"),
    Q(A, "name = '''eval-data'''"),
    Q(A, "name = 'eval\\x2ddata'"),
    Q(A, "name = 'train-data' OR (name = 'eval-data' AND (uri IS NULL OR NOT uri IS NULL))"),
    # --- properties
    Q(A, "properties.rows.int_value > 500"),
    Q(A, "properties.rows.int_value = 0x3E8"),
    Q(A, "properties.rows.int_value = 0"),
    Q(A, "properties.rows.int_value > 999.5"),
    Q(A, "properties.rows.int_value >= 200 AND properties.ratio.double_value < 0.5"),
    Q(A, "properties.accuracy.double_value > 0.9"),
    Q(A, "properties.accuracy.double_value = 0.91"),
    Q(A, "properties.accuracy.double_value > 0"),
    Q(A, "properties.layers.int_value < 0"),
    Q(A, "-properties.layers.int_value > 0"),
    Q(A, "properties.layers.int_value != 12"),
    Q(A, "properties.layers.int_value IS NULL"),
    Q(A, "properties.split.string_value = 'train'"),
    Q(A, "properties.split.string_value IN ('train', 'eval')"),
    Q(A, "properties.split.string_value > 'b'"),
    Q(A, "properties.split.string_value >= 'all' AND properties.split.string_value <= 'eval'"),
    Q(A, "properties.verified.bool_value = TRUE"),
    Q(A, "properties.verified.bool_value"),
    Q(A, "NOT properties.verified.bool_value"),
    Q(A, "properties.verified.bool_value IS NOT TRUE"),
    Q(A, "properties.verified.bool_value IS FALSE"),
    Q(
        A,
        "properties.framework.string_value = 'torch' AND properties.accuracy.double_value >= 0.95",
    ),
    Q(A, "custom_properties.owner.string_value = 'alice'"),
    Q(A, "custom_properties.owner.string_value = 'carol'"),
    Q(A, "custom_properties.owner.string_value = ''"),
    Q(A, "custom_properties.version.int_value = 3"),
    Q(A, "custom_properties.version.int_value IS NULL"),
    Q(A, "custom_properties.version.string_value = 'v12'"),
    Q(A, "custom_properties.flag.bool_value = FALSE"),
    Q(A, "custom_properties.touched.bool_value"),
    Q(A, "custom_properties.score.double_value = 0.5"),
    Q(A, "custom_properties.`my prop`.string_value = 'x y'"),
    Q(A, "custom_properties.`my prop`.string_value IS NOT NULL"),
    Q(A, 'custom_properties.note.string_value = "it\'s"'),
    Q(A, "custom_properties.note.string_value = 'it\\'s'"),
    Q(A, "custom_properties.cfg.string_value LIKE 'mlmd-struct::%'"),
    Q(A, "custom_properties.pv.string_value IS NULL"),
    Q(A, "properties.split.string_value = custom_properties.split.string_value"),
    Q(A, "properties.rows.int_value > custom_properties.version.int_value"),
    # a property named anywhere must exist, even under OR and NOT (MLMD's inner joins)
    Q(
        A,
        "properties.split.string_value = 'train' "
        "OR custom_properties.split.string_value = 'custom-split'",
    ),
    Q(A, "properties.rows.int_value > 100 OR name = 'model-v1'"),
    Q(A, "NOT properties.rows.int_value > 500"),
    Q(A, "NOT (properties.rows.int_value > 500 OR properties.ratio.double_value > 0.5)"),
    Q(A, "NOT (properties.rows.int_value > 500 AND name = 'train-data')"),
    Q(A, "properties.rows.int_value IS NULL OR properties.rows.int_value IS NOT NULL"),
    Q(A, "name = 'orphan' OR properties.rows.int_value IS NULL"),
    # --- contexts
    Q(A, "contexts_a.name = 'run-1'"),
    Q(A, "contexts_a.name = 'run-1' AND contexts_b.name = 'run-2'"),
    Q(A, "contexts_a.name = 'run-1' AND contexts_a.name = 'run-2'"),
    Q(A, "contexts_a.type = 'Pipeline'"),
    Q(A, "contexts_a.type = 'PipelineRun' AND contexts_a.name != 'run-1'"),
    Q(A, "NOT contexts_a.name = 'run-1'"),
    Q(A, "contexts_a.name = 'run-1' OR name = 'orphan'"),
    Q(A, "contexts_a.id = {c[2]}"),
    Q(A, "contexts_a.create_time_since_epoch > 0 AND type = 'Metrics'"),
    Q(A, "contexts_run.name LIKE 'run-%' AND properties.rows.int_value > 100"),
    Q(A, "contexts_a.name = 'run-1' AND (contexts_a.type = 'PipelineRun' OR contexts_b.id > 0)"),
    Q(A, "contexts_a.NAME = 'run-1'"),
    # --- events
    Q(A, "events_e.type = INPUT"),
    Q(A, "events_e.type = OUTPUT AND events_e.execution_id = {e[1]}"),
    Q(A, "events_e.type IN (INPUT, DECLARED_INPUT, INTERNAL_INPUT)"),
    Q(A, "events_e.type != INPUT"),
    Q(A, "events_e.milliseconds_since_epoch > 1001 AND events_e.milliseconds_since_epoch < 4000"),
    Q(A, "events_in.type = INPUT AND events_out.type = OUTPUT"),
    Q(A, "events_e.execution_id = {e[1]} AND contexts_c.name = 'run-2'"),
    Q(A, "(name LIKE 'model%' OR name LIKE 'metrics%') AND NOT state = DELETED"),
    # --- executions
    Q(E, "last_known_state = COMPLETE"),
    Q(E, "last_known_state != COMPLETE"),
    Q(E, "last_known_state IN (RUNNING, NEW)"),
    Q(E, "last_known_state NOT IN (COMPLETE, FAILED)"),
    Q(E, "last_known_state IS NULL"),
    Q(E, "last_known_state = CACHED OR last_known_state = CANCELED"),
    Q(E, "type = 'Trainer' AND properties.epochs.int_value >= 10"),
    Q(E, "properties.distributed.bool_value = TRUE"),
    Q(E, "properties.lr.double_value < 0.005"),
    Q(E, "properties.optimizer.string_value = 'adam' AND NOT last_known_state = RUNNING"),
    Q(E, "custom_properties.seed.int_value = 42"),
    Q(E, "custom_properties.note.string_value LIKE '%'"),
    Q(E, "external_id = 'run-e1'"),
    Q(E, "name LIKE 'train-%' AND id > {e[2]}"),
    Q(E, "name IS NULL"),
    Q(E, "contexts_a.name = 'run-1'"),
    Q(E, "contexts_a.type = 'Pipeline' AND contexts_b.type = 'PipelineRun'"),
    Q(E, "NOT contexts_a.name = 'pipe-a'"),
    Q(E, "events_e.type = OUTPUT AND events_e.artifact_id = {a[4]}"),
    Q(E, "events_e.type = INPUT OR name = 'train-5'"),
    Q(E, "events_e.artifact_id = {a[1]} AND events_f.artifact_id = {a[2]}"),
    # --- contexts
    Q(C, "name = 'pipe-a'"),
    Q(C, "type = 'PipelineRun'"),
    Q(C, "external_id = 'ctx-ext'"),
    Q(C, "properties.owner.string_value = 'alice'"),
    Q(C, "properties.run_number.int_value >= 2"),
    Q(C, "properties.score.double_value > 0.8"),
    Q(C, "custom_properties.env.string_value = 'prod'"),
    Q(C, "custom_properties.active.bool_value"),
    Q(C, "NOT custom_properties.active.bool_value"),
    Q(C, "parent_contexts_p.name = 'pipe-a'"),
    Q(C, "parent_contexts_p.name = 'pipe-a' OR parent_contexts_p.name = 'exp-1'"),
    Q(C, "parent_contexts_p.type = 'Experiment'"),
    Q(C, "parent_contexts_a.name = 'pipe-a' AND parent_contexts_b.name = 'exp-1'"),
    Q(C, "NOT parent_contexts_p.name = 'pipe-a'"),
    Q(C, "parent_contexts_p.id = {c[3]}"),
    Q(C, "child_contexts_c.name = 'run-1'"),
    Q(C, "child_contexts_c.type = 'PipelineRun' AND name LIKE 'pipe%'"),
    Q(C, "child_contexts_c.name LIKE 'run%' OR type = 'Experiment'"),
    Q(C, "artifacts_a.name = 'train-data'"),
    Q(C, "artifacts_a.state = LIVE"),
    Q(C, "artifacts_a.state IN (PENDING) OR properties.run_number.int_value <= 2"),
    Q(C, "artifacts_a.state IN (LIVE, PENDING) AND executions_e.last_known_state IN (FAILED)"),
    Q(C, "artifacts_a.type = 'Model' AND artifacts_a.uri LIKE 's3://%'"),
    Q(C, "executions_e.last_known_state = COMPLETE"),
    Q(C, "executions_e.name = 'train-1' AND artifacts_a.name = 'eval-data'"),
    Q(C, "NOT executions_e.name = 'train-1'"),
]

# Ours accepts these where MLMD 1.17.1 rejects them (or fails with an SQL error); each
# is checked against an equivalent MLMD accepts.
EXTENSIONS = [
    Q(A, "state = ABANDONED", "state > 4 AND state < 6"),
    Q(A, "state IN (REFERENCE, ABANDONED)", "state >= 5 AND state <= 6"),
    Q(A, "state != 2", "state != LIVE"),
    Q(A, "state <> LIVE", "state != LIVE"),
    Q(A, "state = live", "state = LIVE"),
    Q(A, "LIVE = state", "state = LIVE"),
    Q(A, "events_e.type = PENDING_OUTPUT", "events_e.type > 6"),
    Q(A, "events_e.type = 3", "events_e.type = INPUT"),
    Q(A, "Properties.rows.INT_VALUE > 500", "properties.rows.int_value > 500"),
    Q(
        A,
        "properties.rows.int_value > 100 AND properties.`rows`.int_value < 1100",
        "properties.rows.int_value > 100 AND properties.rows.int_value < 1100",
    ),
    Q(
        A,
        "contexts_a.properties.owner.string_value = 'alice'",
        lambda d: "contexts_a.id IN ({})".format(
            d.id_list(C, "properties.owner.string_value = 'alice'")
        ),
    ),
    Q(A, "contexts_a.external_id = 'ctx-ext'", "contexts_a.id = {c[1]}"),
    Q(C, "parent_contexts_p.create_time_since_epoch > 0", "parent_contexts_p.id > 0"),
    Q(C, "child_contexts_c.external_id IS NULL", "child_contexts_c.id > 0"),
    Q(C, "artifacts_a.external_id = 'ext-m1'", "artifacts_a.id = {a[4]}"),
    # MLMD rewrites ``artifacts_a.state != LIVE`` into ``artifacts_a. ((state != 2) OR ...``
    Q(
        C,
        "artifacts_a.state != LIVE",
        "artifacts_a.state < 2 OR artifacts_a.state > 2 OR artifacts_a.state IS NULL",
    ),
    Q(
        C,
        "executions_e.last_known_state != COMPLETE",
        "executions_e.last_known_state < 3 OR executions_e.last_known_state > 3 "
        "OR executions_e.last_known_state IS NULL",
    ),
    Q(
        C,
        "artifacts_a.state NOT IN (LIVE, PENDING)",
        "artifacts_a.state < 1 OR artifacts_a.state > 2 OR artifacts_a.state IS NULL",
    ),
    Q(
        C,
        "child_contexts_c.properties.run_number.int_value > 1",
        lambda d: "child_contexts_c.id IN ({})".format(
            d.id_list(C, "properties.run_number.int_value > 1")
        ),
    ),
    Q(
        E,
        "contexts_a.custom_properties.env.string_value = 'prod' AND contexts_a.name != 'x'",
        lambda d: "contexts_a.id IN ({})".format(
            d.id_list(C, "custom_properties.env.string_value = 'prod'")
        ),
    ),
]

ALL = QUERIES + EXTENSIONS


def _id(q: Q) -> str:
    return f"{q.kind}: {q.query}"


@pytest.mark.parametrize("q", QUERIES, ids=_id)
def test_mlmd_accepts_the_query(data: Data, q: Q) -> None:
    """Guard: every query of the main list is valid MLMD (else it belongs in EXTENSIONS)."""
    data.mlmd_ids(q.kind, data.fmt(q.query))


@pytest.mark.parametrize("q", ALL, ids=_id)
def test_same_ids_as_mlmd_on_sqlite(data: Data, sqlite_engine: Engine, q: Q) -> None:
    expected = data.mlmd_ids(q.kind, q.mlmd_query(data))
    assert ours(sqlite_engine, q.kind, data.fmt(q.query)) == expected


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
@pytest.mark.parametrize("q", ALL, ids=_id)
def test_same_ids_as_mlmd_on_servers(
    request: pytest.FixtureRequest, data: Data, backend: str, q: Q
) -> None:
    engine: Engine = request.getfixturevalue(f"{backend}_engine")
    got = ours(engine, q.kind, data.fmt(q.query))
    assert got == data.mlmd_ids(q.kind, q.mlmd_query(data))


# MLMD 1.17.1 writes a backslash of a literal into its SQL escaped for MySQL, so on its
# SQLite no string with a backslash ever matches; ours matches the literal's value, and
# must do so on every backend (PostgreSQL's and MySQL's LIKE take \\ as an escape).
BACKSLASH_QUERIES = [
    Q(A, "uri LIKE '%\\\\slash'"),
    Q(A, "uri LIKE 's3://bucket/back\\\\s%'"),
    Q(A, "uri LIKE '%\\\\%' OR name = 'neg'"),
    Q(A, "uri NOT LIKE '%\\\\' AND uri NOT LIKE 's3://bucket/back%'"),
    Q(A, "uri = 's3://bucket/back\\\\slash'"),
]


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
@pytest.mark.parametrize("q", BACKSLASH_QUERIES, ids=_id)
def test_backslashes_match_themselves_on_servers(
    request: pytest.FixtureRequest, data: Data, sqlite_engine: Engine, backend: str, q: Q
) -> None:
    engine: Engine = request.getfixturevalue(f"{backend}_engine")
    expected = ours(sqlite_engine, q.kind, data.fmt(q.query))
    assert expected and expected != sorted(data.a.values())
    assert ours(engine, q.kind, data.fmt(q.query)) == expected


LOCALE_QUERIES = [
    Q(A, "properties.split.string_value > 'b'"),
    Q(A, "name BETWEEN 'A' AND 'a'"),
    Q(A, "name > 'Zoe' AND name < 'm'"),
    Q(A, "type >= 'Metrics' AND type < 'm'"),
    Q(A, "name LIKE 'upper%' OR uri LIKE 's3://bucket/%'"),
]


@pytest.mark.parametrize("q", LOCALE_QUERIES, ids=_id)
def test_string_order_ignores_a_locale_collation_on_postgresql(
    request: pytest.FixtureRequest, data: Data, sqlite_engine: Engine, q: Q
) -> None:
    """A PostgreSQL database made with a locale (en_US...) orders 'Holdout' after 'b';
    MLMD's SQLite orders by bytes, and so must we, whatever the columns' collation."""
    server = request.getfixturevalue("postgres_server")
    name = server.new_database_name()
    engine = _copy(data, sqlite_engine, server.create_database(name))
    try:
        with engine.begin() as conn:
            for table, column, type_ in (
                ("Artifact", "name", "VARCHAR(255)"),
                ("Artifact", "uri", "TEXT"),
                ("ArtifactProperty", "string_value", "TEXT"),
                ("Type", "name", "VARCHAR(255)"),
            ):
                conn.execute(
                    text(
                        f'ALTER TABLE "{table}" ALTER COLUMN {column} '
                        f'TYPE {type_} COLLATE "en-US-x-icu"'
                    )
                )
        assert ours(engine, q.kind, data.fmt(q.query)) == data.mlmd_ids(q.kind, q.mlmd_query(data))
    finally:
        engine.dispose()
        server.drop_database(name)


def test_the_queries_discriminate(data: Data, sqlite_engine: Engine) -> None:
    """Most queries select a proper, non-empty subset: the comparisons mean something."""
    sizes = {"artifact": len(data.a), "execution": len(data.e), "context": len(data.c)}
    proper = [
        q for q in ALL if 0 < len(ours(sqlite_engine, q.kind, data.fmt(q.query))) < sizes[q.kind]
    ]
    assert len(proper) >= 0.8 * len(ALL), len(proper)
    assert len(ALL) >= 150


def test_every_attribute_and_prefix_is_covered() -> None:
    text_ = " ".join(q.query for q in ALL)
    for word in (
        "id",
        "name",
        "external_id",
        "type_id",
        "type",
        "uri",
        "state",
        "last_known_state",
        "create_time_since_epoch",
        "last_update_time_since_epoch",
        "int_value",
        "double_value",
        "string_value",
        "bool_value",
        "properties.",
        "custom_properties.",
        "contexts_",
        "parent_contexts_",
        "child_contexts_",
        "artifacts_",
        "executions_",
        "events_",
        "milliseconds_since_epoch",
        "execution_id",
        "artifact_id",
        " IN ",
        " NOT IN ",
        " LIKE ",
        " NOT LIKE ",
        " IS NULL",
        " IS NOT NULL",
        " BETWEEN ",
        "!=",
        "<>",
        "<=",
        ">=",
        " OR ",
        "NOT ",
    ):
        assert word in text_, word


# --- where we knowingly differ from MLMD ------------------------------------------------------


def test_string_literals_are_never_identifiers(data: Data, sqlite_engine: Engine) -> None:
    """MLMD renders string literals in double quotes, which SQLite resolves as column
    names when one exists: MLMD's ``name = 'name'`` is ``name = name`` (every named
    artifact). Ours compares with the string."""
    named = data.mlmd_ids(A, "name IS NOT NULL")
    assert data.mlmd_ids(A, "name = 'name'") == named  # MLMD's quirk, on SQLite
    assert ours(sqlite_engine, A, "name = 'name'") == []


def test_enum_names_inside_strings_are_strings(data: Data, sqlite_engine: Engine) -> None:
    """MLMD rewrites ``state = LIVE`` by regular expression, also inside string literals."""
    store = data.store
    [a] = store.get_artifacts_by_id([data.a[13]])
    a.custom_properties["quote"].string_value = "state = LIVE"
    store.put_artifacts([a])
    try:
        query = "custom_properties.quote.string_value = 'state = LIVE'"
        assert data.mlmd_ids(A, query) == []  # MLMD compared with ' state = 2 '
        assert ours(sqlite_engine, A, query) == [data.a[13]]
    finally:
        a.custom_properties.pop("quote")
        store.put_artifacts([a])


# --- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    kind: str
    query: str
    message: str  # a fragment of our message
    mlmd_rejects: bool = True  # MLMD raises InvalidArgumentError too


BAD = [
    Bad(A, "name = 'x'; DROP TABLE Artifact; --'", "unexpected character ';' at line 1, column 11"),
    Bad(A, "name = 'x' OR 1=1; DELETE FROM Artifact", "unexpected character ';'"),
    Bad(A, "invalid syntax", "unexpected name 'syntax' at line 1, column 9"),
    Bad(A, "name =", "expected a value after '=' at line 1, column 7"),
    Bad(A, "name = 'x' AND", "expected a value after 'AND'"),
    Bad(A, "(name = 'x'", "missing ')'"),
    Bad(A, "name == 'x'", "expected a value after '=' at line 1, column 7"),
    Bad(A, "name IN ()", "expected a value after '('"),
    Bad(A, "name IN 'x'", "expected a value after 'IN'"),
    Bad(A, "name NOT = 'x'", "unexpected '='"),
    Bad(A, "name = 'x' ESCAPE", "unexpected name 'ESCAPE'"),
    Bad(A, "'unterminated", "unterminated string starting at line 1, column 1"),
    Bad(A, "name = 'a\\q'", "unknown escape sequence '\\q'"),
    Bad(A, "foo = 1", "unknown attribute 'foo' at line 1, column 1"),
    Bad(A, "uri = 'x' AND\n  bar = 1", "unknown attribute 'bar' at line 2, column 3"),
    Bad(
        A,
        "name = 1",
        "expected a string after '=' to compare with name (a string), found the integer 1 at line 1, column 8",
    ),  # noqa: E501
    Bad(A, "id = 'x'", "expected an integer after '='"),
    Bad(A, "1 = name", "expected a string before '='"),
    Bad(A, "properties.rows.int_value = '1'", "expected an integer after '='"),
    Bad(A, "custom_properties.flag.bool_value = 1", "expected a boolean after '='"),
    Bad(A, "name = NULL", "cannot use NULL with '='"),
    Bad(A, "name LIKE 1", "LIKE compares strings"),
    Bad(A, "name LIKE NULL", "cannot use NULL with LIKE"),
    Bad(A, "id IN ('a', 2)", "expected an integer after 'IN'"),
    Bad(A, "name IS TRUE", "IS TRUE needs a condition or a boolean"),
    Bad(A, "state = BOGUS", "unknown state 'BOGUS' at line 1, column 9"),
    Bad(A, "state IN (LIVE, BOGUS)", "unknown state 'BOGUS'"),
    Bad(A, "state = 99", "99 is not a state at line 1, column 9"),
    Bad(A, "events_e.type IN (INPUT, 99)", "99 is not a"),
    Bad(A, "state = 'LIVE'", "expected an integer after '='"),
    Bad(A, "state < LIVE", "unknown attribute 'LIVE'"),
    Bad(A, "events_e.type = BOGUS", "unknown event type 'BOGUS'"),
    Bad(A, "last_known_state = COMPLETE", "unknown attribute 'last_known_state'"),
    Bad(E, "state = LIVE", "unknown attribute 'state'"),
    Bad(E, "uri = 'x'", "unknown attribute 'uri'"),
    Bad(C, "state IS NULL", "unknown attribute 'state'"),
    Bad(C, "contexts_a.name = 'x'", "contexts_<alias> is not available when filtering contexts"),
    Bad(C, "events_e.type = INPUT", "events_<alias> is not available when filtering contexts"),
    Bad(A, "parent_contexts_p.name = 'x'", "parent_contexts_<alias> is not available"),
    Bad(E, "artifacts_a.name = 'x'", "artifacts_<alias> is not available"),
    Bad(A, "properties.rows = 1", "needs a property name and a value field"),
    Bad(
        A,
        "properties.rows.foo_value = 1",
        "unknown property value field 'foo_value' at line 1, column 17",
    ),  # noqa: E501
    Bad(A, "properties.rows.proto_value IS NULL", "cannot be filtered on"),
    Bad(A, "contexts_.name = 'x'", "needs an alias"),
    Bad(A, "contexts_a = 1", "contexts_a needs an attribute"),
    Bad(A, "contexts_a.foo = 'x'", "unknown attribute 'foo' of contexts_a at line 1, column 12"),
    Bad(A, "events_e.foo = 1", "unknown attribute 'foo' of events_e"),
    Bad(A, "events_e.artifact_id = 1", "unknown attribute 'artifact_id' of events_e"),
    Bad(A, "type.name = 'x'", "unexpected '.name' after type"),
    Bad(A, "uri", "expected a condition (like name = 'x'), found uri (a string)"),
    Bad(A, "1", "expected a condition"),
    Bad(A, "NULL", "expected a condition"),
    Bad(A, "NOT name", "expected a condition after NOT"),
    Bad(A, "name = 'x' AND 1", "expected a condition around AND"),
    Bad(A, "id = 99999999999999999999", "out of range"),
    Bad(A, "name = 'x' // comment", "expected a value after '/'"),
    Bad(A, "", "the query is empty", mlmd_rejects=False),  # MLMD: no filter
    Bad(A, "é = 1", "unexpected character 'é'"),
]


@pytest.mark.parametrize("bad", BAD, ids=lambda b: f"{b.kind}: {b.query}")
def test_malformed_filters_are_rejected(data: Data, bad: Bad) -> None:
    with pytest.raises(InvalidArgument) as e:
        compile_filter(bad.kind, bad.query)
    assert e.value.message.startswith("filter_query: ")
    assert bad.message in e.value.message
    if bad.mlmd_rejects:
        with pytest.raises(errors.InvalidArgumentError):
            data.mlmd_ids(bad.kind, bad.query)


def test_deep_nesting_is_rejected_cleanly() -> None:
    compile_filter(A, "(" * 5000 + "id = 1" + ")" * 5000)  # parentheses leave no trace
    with pytest.raises(InvalidArgument, match="nested too deeply"):
        compile_filter(A, "NOT " * 500 + "id = 1")
    # long flat chains are fine
    compile_filter(A, " OR ".join(f"id = {i}" for i in range(2000)))


def test_too_long_and_too_many_aliases() -> None:
    with pytest.raises(InvalidArgument, match="too long"):
        compile_filter(A, "id = 1 OR " * 30000 + "id = 1")
    with pytest.raises(InvalidArgument, match="too many aliases"):
        compile_filter(A, " AND ".join(f"contexts_c{i}.id > 0" for i in range(100)))


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        compile_filter("artefact", "id = 1")


# --- injection ---------------------------------------------------------------------------


INJECTIONS = [
    'name = "x\'; DROP TABLE Artifact; --"',
    "name = 'x\\'; DROP TABLE Artifact; --'",
    'custom_properties.`x" OR "1"="1`.string_value IS NULL',
    "custom_properties.`x'; DROP TABLE Artifact; --`.int_value = 1",
    "contexts_a.name = '\\' OR 1=1 --'",
    "uri LIKE '%'' OR ''1''=''1'",
]


@pytest.mark.parametrize("query", INJECTIONS)
def test_user_text_only_reaches_sql_as_parameters(sqlite_engine: Engine, query: str) -> None:
    try:
        condition = compile_filter(A, query)
    except InvalidArgument:
        return  # rejected: nothing reaches the database
    stmt = select(schema.artifact_table.c.id).where(condition)
    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect(), mysql.pymysql.dialect()):
        sql = str(stmt.compile(dialect=dialect))
        for word in ("DROP", "1=1", '"1"', "'", "--"):
            assert word not in sql, (word, sql)
    with sqlite_engine.connect() as conn:
        assert conn.execute(stmt).scalars().all() == []
        assert inspect(conn).has_table("Artifact")


# --- the shape of the SQL --------------------------------------------------------------------


def test_property_conditions_use_the_value_indexes(sqlite_engine: Engine) -> None:
    stmt = select(schema.artifact_table.c.id).where(
        compile_filter(A, "properties.rows.int_value > 500 AND name != 'x'")
    )
    sql = str(stmt.compile(dialect=sqlite.dialect()))
    assert "JOIN" not in sql.split("WHERE")[0]  # no join in the outer query
    compiled = stmt.compile(sqlite_engine)
    with sqlite_engine.connect() as conn:
        plan = " | ".join(
            str(r[-1])
            for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(compiled),
                tuple(compiled.params[k] for k in compiled.positiontup or ()),
            )
        )
    assert "idx_artifact_property_int" in plan, plan


def test_contexts_go_through_attribution_and_association() -> None:
    a = str(select(schema.artifact_table.c.id).where(compile_filter(A, "contexts_x.name = 'r'")))
    e = str(select(schema.execution_table.c.id).where(compile_filter(E, "contexts_x.name = 'r'")))
    assert "Attribution" in a and "Association" not in a
    assert "Association" in e and "Attribution" not in e


def test_parse_gives_an_ast() -> None:
    tree = parse("a = 1 AND (b = 'x' OR NOT c IS NULL)")
    assert type(tree).__name__ == "And"
    assert tree.line == 1 and tree.column == 1


def test_a_custom_table_alias(sqlite_engine: Engine, data: Data) -> None:
    alias = schema.artifact_table.alias("a")
    condition = compile_filter(A, "properties.rows.int_value > 500", table=alias)
    with sqlite_engine.connect() as conn:
        got = sorted(conn.execute(select(alias.c.id).where(condition)).scalars())
    assert got == data.mlmd_ids(A, "properties.rows.int_value > 500")


def test_sqlite_file_is_mlmds(data: Data, sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("SELECT schema_version FROM MLMDEnv")).scalar() == 10
    assert os.path.exists(data.path)


def test_arithmetic_types_and_errors() -> None:
    """'+ - * /' take numbers; '/' makes a double, the others keep integers integers
    (so an integer result still compares with an enum or an integer column)."""
    from lineage.query import compile_filter

    for good in (
        "id + 1 = 3",
        "properties.p.double_value * 2 >= 1.5",
        "-id + 6 = 1",
        "(id + 1) / 2 = 1.5",
        "create_time_since_epoch - 1000 < last_update_time_since_epoch",
    ):
        compile_filter("artifact", good)
    for bad, words in (
        ("uri + 1 = 2", "'+' takes numbers, found uri (a string) at line 1, column 1"),
        ("id + 'a' = 1", "'+' takes numbers, found the string 'a'"),
        ("id * NULL = 1", "cannot use NULL with '*'"),
        ("id + = 1", "expected a value after '+'"),
        ("id 2", "expected an arithmetic operator (+, -, *, /)"),
    ):
        with pytest.raises(InvalidArgument) as e:
            compile_filter("artifact", bad)
        assert words in e.value.message, (bad, e.value.message)
