"""Two-way compatibility of the database file itself.

A SQLite file MLMD's own library wrote opens in place under ``lineage serve`` and reads
back identically over gRPC; a file our server wrote opens with MLMD's own library and
reads back identically. Identical means every field, timestamps included.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from lineage_server import LineageServer
from ml_metadata.metadata_store import metadata_store as mlmd
from ml_metadata.proto import metadata_store_pb2 as pb


def mlmd_on(path: Path) -> Any:
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return mlmd.MetadataStore(config)


def populate(s: Any) -> None:
    """Every kind of thing the schema holds."""
    at = pb.ArtifactType(
        name="Model", version="1", description="a model", base_type=pb.ArtifactType.MODEL
    )
    for name, kind in (
        ("acc", pb.DOUBLE),
        ("n", pb.INT),
        ("tag", pb.STRING),
        ("cfg", pb.STRUCT),
        ("ok", pb.BOOLEAN),
        ("raw", pb.PROTO),
    ):
        at.properties[name] = kind
    a_type = s.put_artifact_type(at)
    d_type = s.put_artifact_type(pb.ArtifactType(name="Dataset", external_id="type-ds"))
    et = pb.ExecutionType(name="Trainer", base_type=pb.ExecutionType.TRAIN)
    et.properties["lr"] = pb.DOUBLE
    et.input_type.any.SetInParent()
    e_type = s.put_execution_type(et)
    c_type = s.put_context_type(pb.ContextType(name="Run"))
    p_type = s.put_context_type(pb.ContextType(name="Pipeline"))
    [pipeline] = s.put_contexts([pb.Context(type_id=p_type, name="pipe", external_id="p-1")])
    data = pb.Artifact(type_id=d_type, uri="gs://b/data", state=pb.Artifact.LIVE, name="data")
    data.custom_properties["rows"].int_value = 1000
    [data_id] = s.put_artifacts([data])
    for run in range(3):
        model = pb.Artifact(
            type_id=a_type, uri=f"s3://b/model-{run}", name=f"model-{run}", external_id=f"m-{run}"
        )
        model.properties["acc"].double_value = 0.9 + run / 100
        model.properties["n"].int_value = -run
        model.properties["tag"].string_value = "ünïcode ✓"
        model.properties["cfg"].struct_value.update(
            {"layers": [1, 2, {"k": "v"}], "on": True, "none": None}
        )
        model.properties["ok"].bool_value = run % 2 == 0
        model.properties["raw"].proto_value.Pack(pb.Artifact(id=run, uri="nested"))
        model.custom_properties["note"].string_value = f"run {run}"
        ex = pb.Execution(
            type_id=e_type, name=f"train-{run}", last_known_state=pb.Execution.COMPLETE
        )
        ex.properties["lr"].double_value = 0.1 * (run + 1)
        inp = pb.Event(type=pb.Event.INPUT)
        inp.path.steps.add().key = "data"
        inp.path.steps.add().index = run
        data_now = s.get_artifacts_by_id([data_id])[0]
        _, _, [ctx] = s.put_execution(
            ex,
            [(data_now, inp), (model, pb.Event(type=pb.Event.OUTPUT))],
            [pb.Context(type_id=c_type, name=f"run-{run}")],
        )
        s.put_parent_contexts([pb.ParentContext(child_id=ctx, parent_id=pipeline)])


def dump(s: Any) -> dict[str, Any]:
    """Everything, read through the client."""

    def d(items: Any) -> Any:
        return [MessageToDict(i) for i in items]

    artifacts = s.get_artifacts()
    executions = s.get_executions()
    contexts = s.get_contexts()
    out: dict[str, Any] = {
        "artifact_types": d(s.get_artifact_types()),
        "execution_types": d(s.get_execution_types()),
        "context_types": d(s.get_context_types()),
        "artifacts": d(artifacts),
        "executions": d(executions),
        "contexts": d(contexts),
        "events": d(s.get_events_by_execution_ids([e.id for e in executions])),
        "model type": MessageToDict(s.get_artifact_type("Model", type_version="1")),
        "types by external id": d(s.get_artifact_types_by_external_ids(["type-ds"])),
    }
    for c in contexts:
        out[f"context {c.id}"] = {
            "artifacts": d(s.get_artifacts_by_context(c.id)),
            "executions": d(s.get_executions_by_context(c.id)),
            "parents": d(s.get_parent_contexts_by_context(c.id)),
            "children": d(s.get_children_contexts_by_context(c.id)),
        }
    for a in artifacts:
        try:
            out[f"contexts of artifact {a.id}"] = d(s.get_contexts_by_artifact(a.id))
        except Exception as exc:  # MLMD: NotFound when there are none
            out[f"contexts of artifact {a.id}"] = type(exc).__name__
    return out


def test_mlmd_database_opens_in_place(tmp_path: Path) -> None:
    path = tmp_path / "mlmd.sqlite"
    store = mlmd_on(path)
    populate(store)
    expected = dump(store)
    del store
    server = LineageServer(f"sqlite:///{path}", tmp_path / "data").start()
    try:
        actual = dump(server.client())
    finally:
        assert server.stop() == 0
    assert actual == expected
    # ... and MLMD still opens it after we did, and still reads the same.
    assert dump(mlmd_on(path)) == expected


def test_our_database_opens_with_mlmd(tmp_path: Path) -> None:
    path = tmp_path / "ours.sqlite"
    server = LineageServer(f"sqlite:///{path}", tmp_path / "data").start()
    try:
        client = server.client()
        populate(client)
        expected = dump(client)
    finally:
        assert server.stop() == 0
    copy = tmp_path / "copy.sqlite"
    shutil.copy(path, copy)
    assert dump(mlmd_on(copy)) == expected
    # MLMD can keep writing to it, and we read what it wrote.
    store = mlmd_on(copy)
    [type_id] = [t.id for t in store.get_artifact_types() if t.name == "Dataset"]
    store.put_artifacts([pb.Artifact(type_id=type_id, uri="written-by-mlmd")])
    after_mlmd = dump(store)
    del store
    server = LineageServer(f"sqlite:///{copy}", tmp_path / "data2").start()
    try:
        assert dump(server.client()) == after_mlmd
    finally:
        assert server.stop() == 0
