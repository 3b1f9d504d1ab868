"""The SDK against a running ``lineage serve``: runs, steps (decorator and context
manager), inputs, outputs, parameters, states, times, contexts, caching, bad input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from test_sdk_common import Server, blobs_served, executions, props, sdk_env  # noqa: F401

import lineage
import lineage.client  # noqa: F401 - installs lineage.connect & co. (see lineage.client)
from lineage import ClassificationMetrics, Dataset, Input, Metrics, Model, Output
from lineage.client import (
    AnnotationError,
    CacheWarning,
    MissingInputError,
    OutputNotWrittenError,
)
from lineage.model import EventType, ExecutionState

try:
    from kfp import dsl as kfp_dsl
except ImportError:  # pragma: no cover - kfp is a dev dependency
    kfp_dsl = None

RUNNING, COMPLETE, FAILED, CACHED = (
    int(ExecutionState.RUNNING),
    int(ExecutionState.COMPLETE),
    int(ExecutionState.FAILED),
    int(ExecutionState.CACHED),
)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Any:
    running = Server(tmp_path_factory.mktemp("sdk-server")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def store(srv: Server) -> Any:
    opened = srv.store()
    yield opened
    opened.close()


@pytest.fixture
def client(srv: Server, sdk_env: Path) -> Any:  # noqa: F811
    return lineage.connect(srv.url)


@pytest.fixture
def with_blobs(srv: Server) -> None:
    if not blobs_served(srv.url):
        pytest.skip(
            "the server has no blob service yet (lineage.v1 UploadBlob answers "
            "UNIMPLEMENTED): artifact bytes cannot cross gRPC"
        )


def run_executions(store: Any, run_name: str) -> list[Any]:
    [ctx] = [c for c in store.list_all("context") if c.name == run_name]
    return sorted(store.list_all("execution", context_id=ctx.id), key=lambda e: e.id)


calls: dict[str, int] = {}


@lineage.step
def prepare(data: Output[Dataset], rows: int = 3, label: str = "x") -> int:
    calls["prepare"] = calls.get("prepare", 0) + 1
    Path(data.path).write_text("".join(f"{label}{i}\n" for i in range(rows)))
    data.metadata["rows"] = rows
    return rows


@lineage.step
def fit(
    data: Input[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    report: Output[ClassificationMetrics],
    lr: float = 0.1,
) -> dict:
    calls["fit"] = calls.get("fit", 0) + 1
    lines = Path(data.path).read_text().splitlines()
    os.makedirs(model.path)  # a directory output: uploaded as one archive
    Path(model.path, "weights.txt").write_text(f"{lr}\n{len(lines)}\n")
    model.framework = "toy"
    metrics.log_metric("accuracy", 0.75)
    report.log_confusion_matrix(["a", "b"], [[3, 1], [0, 4]])
    report.log_roc_curve([0.0, 0.5, 1.0], [0.0, 0.9, 1.0], [1.0, 0.5, 0.0])
    return {"lines": len(lines)}


# --------------------------------------------------------------------------- decorator


def test_decorated_steps_are_recorded_like_kfp(client: Any, store: Any) -> None:
    with lineage.start_run(pipeline="toy", name="toy-1", cache=False) as run:
        a = prepare(rows=4)
        b = fit(data=a.outputs["data"], lr=0.5)
    assert (a.state, b.state) == ("COMPLETE", "COMPLETE")
    assert a.output == 4 and b.output == {"lines": 4}
    first, second = run_executions(store, "toy-1")
    assert [first.id, second.id] == [a.execution_id, b.execution_id]
    assert first.type == "system.ContainerExecution"
    assert (first.last_known_state, second.last_known_state) == (COMPLETE, COMPLETE)
    p = props(second)
    assert p["task_name"] == "fit" and p["inputs"] == {"lr": 0.5}
    assert p["outputs"] == {"Output": {"lines": 4.0}}
    assert p["lineage_start_time_ms"] <= p["lineage_end_time_ms"]
    assert len(p["cache_fingerprint"]) == 64  # recorded even with caching off for the run
    # Lineage: fit's input is prepare's output, the same artifact.
    events = store.get_events_by_execution_ids([first.id, second.id])
    out_of_prepare = {e.artifact_id for e in events if e.execution_id == first.id}
    into_fit = {
        e.artifact_id for e in events if e.execution_id == second.id and e.type == EventType.INPUT
    }
    assert out_of_prepare == into_fit == {a.outputs["data"].id}
    fit_outputs = {
        e.path[0].key: e.artifact_id
        for e in events
        if e.execution_id == second.id and e.type == EventType.OUTPUT
    }
    assert set(fit_outputs) == {"model", "metrics", "report"}
    arts = {x.id: x for x in store.get_nodes_by_id("artifact", list(fit_outputs.values()))}
    model_art = arts[fit_outputs["model"]]
    assert model_art.type == "system.Model"
    assert props(model_art)["framework"] == "toy"
    metrics_art = arts[fit_outputs["metrics"]]
    assert metrics_art.type == "system.Metrics" and props(metrics_art)["accuracy"] == 0.75
    report_art = arts[fit_outputs["report"]]
    assert props(report_art)["confusionMatrix"]["struct"]["annotationSpecs"] == [
        {"displayName": "a"},
        {"displayName": "b"},
    ]
    # Contexts: the run (child of the pipeline) holds every execution and artifact.
    names = {c.name for c in store.get_contexts_by_node("artifact", fit_outputs["model"])}
    assert names == {"toy", "toy-1"}
    assert run.run_context_id is not None


def test_blobs_cross_the_wire(client: Any, store: Any, with_blobs: None) -> None:
    with lineage.start_run(pipeline="toy", name="toy-blobs", cache=False):
        a = prepare(rows=2, label="blob")
        b = fit(data=a.outputs["data"])
    data_id = a.outputs["data"].id
    [data] = store.get_nodes_by_id("artifact", [data_id])
    assert props(data)["lineage_size"] == len("blob0\nblob1\n")
    # A later run reads the input by id: downloaded, checked, same bytes.
    with lineage.start_run(pipeline="toy", name="toy-blobs-2", cache=False):
        with lineage.step("read", inputs={"data": data_id}) as s:
            assert Path(s.inputs["data"].path).read_text() == "blob0\nblob1\n"
        [model_ref] = [b.outputs["model"].id]
        with lineage.step("read-model", inputs={"model": model_ref}) as s:
            assert Path(s.inputs["model"].path, "weights.txt").read_text().startswith("0.1")


# --------------------------------------------------------------------------- context manager


def test_context_manager_steps(client: Any, store: Any, tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text("a,b\n1,2\n")
    with lineage.start_run(pipeline="manual", name="manual-1") as run:
        with run.step("ingest", inputs={"raw": str(raw)}, params={"sep": ","}) as s:
            assert Path(s.inputs["raw"].path).read_text() == "a,b\n1,2\n"
            out = s.output("table", Dataset)
            Path(out.path).write_text("table")
            s.set_param("rows", 1)
        with lineage.step("score", inputs={"table": s.outputs["table"]}) as t:
            m = t.output("metrics", Metrics)
            m.log_metric("rmse", 0.25)
    ingest, score = run_executions(store, "manual-1")
    assert props(ingest)["inputs"] == {"sep": ",", "rows": 1.0}
    events = store.get_events_by_execution_ids([ingest.id, score.id])
    [raw_event] = [e for e in events if e.execution_id == ingest.id and e.type == EventType.INPUT]
    [raw_artifact] = store.get_nodes_by_id("artifact", [raw_event.artifact_id])
    assert raw_artifact.uri == str(raw)  # recorded like KFP's importer, under its own URI
    assert raw_artifact.type == "system.Artifact"
    assert s.execution_id == ingest.id and t.execution_id == score.id
    assert t.outputs["metrics"].id is not None


def test_inputs_by_id_uri_and_lists(client: Any, store: Any) -> None:
    @lineage.step
    def merge(parts: Input[list[Dataset]], merged: Output[Dataset]) -> None:
        Path(merged.path).write_text("".join(Path(p.path).read_text() for p in parts))

    with lineage.start_run(pipeline="lists", name="lists-1", cache=False):
        one = prepare(rows=1, label="one")
        two = prepare(rows=1, label="two")
        joined = merge(parts=[one.outputs["data"], two.outputs["data"]])
        assert Path(joined.outputs["merged"].path).read_text() == "one0\ntwo0\n"
        # By id, and by the recorded URI: the same artifact.
        by_id = prepare.__wrapped__  # the plain function is still there
        assert callable(by_id)
        with lineage.step("by-id", inputs={"d": one.outputs["data"].id}) as s1:
            pass
        with lineage.step("by-uri", inputs={"d": one.outputs["data"].uri}) as s2:
            pass
    merge_exec = run_executions(store, "lists-1")[2]
    events = [
        e for e in store.get_events_by_execution_ids([merge_exec.id]) if e.type == EventType.INPUT
    ]
    assert sorted((e.path[0].key, e.path[1].index) for e in events) == [("parts", 0), ("parts", 1)]
    ids = {
        e.artifact_id
        for ex in (s1.execution_id, s2.execution_id)
        for e in store.get_events_by_execution_ids([ex])
    }
    assert ids == {one.outputs["data"].id}


# --------------------------------------------------------------------------- failures


def test_failed_step_records_the_message(client: Any, store: Any) -> None:
    @lineage.step
    def explode(data: Input[Dataset], out: Output[Model]) -> None:
        raise RuntimeError("the GPU caught fire")

    with lineage.start_run(pipeline="fail", name="fail-1", cache=False):
        a = prepare(rows=1)
        with pytest.raises(RuntimeError, match="caught fire"):
            explode(data=a.outputs["data"])
    _, failed = run_executions(store, "fail-1")
    assert failed.last_known_state == FAILED
    assert props(failed)["lineage_error_message"] == "RuntimeError: the GPU caught fire"
    assert "lineage_end_time_ms" in props(failed)
    # RUNNING was recorded first, then updated: still one execution, with its input.
    events = store.get_events_by_execution_ids([failed.id])
    assert [e.type for e in events] == [EventType.INPUT]


def test_output_never_written(client: Any, store: Any) -> None:
    @lineage.step
    def lazy(model: Output[Model], metrics: Output[Metrics]) -> None:
        metrics.log_metric("ok", 1.0)  # metrics need no file; the model does

    with lineage.start_run(pipeline="lazy", name="lazy-1"):
        with pytest.raises(OutputNotWrittenError) as info:
            lazy()
    message = str(info.value)
    assert "model" in message and "model.path" in message and "FAILED" in message
    [execution] = run_executions(store, "lazy-1")
    assert execution.last_known_state == FAILED
    assert "without writing output(s) model" in props(execution)["lineage_error_message"]


def test_missing_input_artifact(client: Any, store: Any) -> None:
    with lineage.start_run(pipeline="missing", name="missing-1"):
        with pytest.raises(MissingInputError, match="no artifact id 987654"):
            fit(data=987654)
        with pytest.raises(MissingInputError, match="does not exist"):
            fit(data="/nonexistent/file.csv")
    assert not [c for c in store.list_all("context") if c.name == "missing-1"]


def test_bad_annotations_and_calls(client: Any) -> None:
    with pytest.raises(AnnotationError, match=r"Input\[int\].*artifact class"):

        @lineage.step
        def wrong(x: Input[int]) -> None: ...

    with pytest.raises(AnnotationError, match="one artifact"):

        @lineage.step
        def several(out: Output[list[Model]]) -> None: ...

    with pytest.raises(AnnotationError, match="cannot resolve"):

        @lineage.step
        def unresolvable(x: Input[NotDefinedAnywhere]) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(AnnotationError, match=r"\*args"):

        @lineage.step
        def varargs(*args: int) -> None: ...

    with lineage.start_run(pipeline="bad", name="bad-1"):
        with pytest.raises(TypeError, match="outputs: the step creates them"):
            prepare(data="x")
        with pytest.raises(TypeError, match="missing argument"):
            fit()
        with pytest.raises(TypeError, match="parameters must be"):
            prepare(rows=object())  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="takes a system.Dataset, got a system.Model"):
            a = prepare(rows=1)
            b = fit(data=a.outputs["data"])
            fit(data=b.outputs["model"])


def test_kfp_annotations_are_understood(client: Any, store: Any) -> None:
    if kfp_dsl is None:
        pytest.skip("kfp is not installed")

    @lineage.step
    def kfp_style(data: kfp_dsl.Input[kfp_dsl.Dataset], out: kfp_dsl.Output[kfp_dsl.Model]) -> None:
        Path(out.path).write_text(Path(data.path).read_text())

    with lineage.start_run(pipeline="kfp-style", name="kfp-style-1", cache=False):
        a = prepare(rows=1)
        handle = kfp_style(data=a.outputs["data"])
    assert isinstance(handle.outputs["out"], lineage.Model)


# --------------------------------------------------------------------------- caching


def test_cache_hit_skips_the_body_and_links_outputs(client: Any, store: Any) -> None:
    calls.clear()
    with lineage.start_run(pipeline="cache", name="cache-1"):
        first = prepare(rows=5, label="c")
        again = prepare(rows=5, label="c")
        other = prepare(rows=6, label="c")
        assert Path(again.outputs["data"].path).read_text() == "c0\nc1\nc2\nc3\nc4\n"
    assert calls["prepare"] == 2  # the second call was served from cache
    assert (first.state, again.state, other.state) == ("COMPLETE", "CACHED", "COMPLETE")
    assert again.cached and again.output == 5
    assert again.outputs["data"].id == first.outputs["data"].id
    execs = run_executions(store, "cache-1")
    cached = next(e for e in execs if e.id == again.execution_id)
    assert cached.last_known_state == CACHED
    assert props(cached)["cached_execution_id"] == str(first.execution_id)
    [out_event] = [
        e for e in store.get_events_by_execution_ids([cached.id]) if e.type == EventType.OUTPUT
    ]
    assert out_event.artifact_id == first.outputs["data"].id


def test_cache_across_runs(client: Any, store: Any, with_blobs: None) -> None:
    calls.clear()
    with lineage.start_run(pipeline="cache", name="cache-a"):
        a = prepare(rows=2, label="r")
        fit(data=a.outputs["data"], lr=0.3)
    with lineage.start_run(pipeline="cache", name="cache-b"):
        b = prepare(rows=2, label="r")
        f = fit(data=b.outputs["data"], lr=0.3)
    assert calls == {"prepare": 1, "fit": 1}
    assert (b.state, f.state) == ("CACHED", "CACHED")
    assert Path(f.outputs["model"].path, "weights.txt").read_text() == "0.3\n2\n"


def test_cache_opt_outs(client: Any, store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    @lineage.step(cache=False)
    def never_cached(out: Output[Dataset]) -> None:
        calls["never"] = calls.get("never", 0) + 1
        Path(out.path).write_text("n")

    calls.clear()
    with lineage.start_run(pipeline="optout", name="optout-1"):
        never_cached()
        never_cached()
        prepare(rows=9)
    with lineage.start_run(pipeline="optout", name="optout-2", cache=False):
        prepare(rows=9)
        prepare(rows=9)
    monkeypatch.setenv("LINEAGE_CACHE", "0")
    with lineage.start_run(pipeline="optout", name="optout-3"):
        prepare(rows=9)
    assert calls == {"never": 2, "prepare": 4}
    assert all(
        e.last_known_state == COMPLETE
        for name in ("optout-1", "optout-2", "optout-3")
        for e in run_executions(store, name)
    )


def test_code_version_changes_the_cache_key(client: Any) -> None:
    def make(version: str) -> Any:
        @lineage.step(name="versioned", version=version)
        def versioned(out: Output[Dataset]) -> None:
            Path(out.path).write_text("v")

        return versioned

    with lineage.start_run(pipeline="versions", name="versions-1"):
        one = make("1")()
        same = make("1")()
        two = make("2")()
    assert (one.state, same.state, two.state) == ("COMPLETE", "CACHED", "COMPLETE")
    assert one.cache_key == same.cache_key != two.cache_key


def test_cache_lookup_failure_runs_the_step(client: Any, srv: Server, sdk_env: Path) -> None:  # noqa: F811
    """A cache hit whose outputs' bytes are gone (local file and stored object) is not used."""
    with lineage.start_run(pipeline="gone", name="gone-1") as run:
        first = prepare(rows=3, label="gone")
        Path(first.outputs["data"].path).unlink(missing_ok=True)
        sha = first.outputs["data"].__dict__.get("_lineage_ref").sha256
        for stored in (srv.data_dir / "blobs").rglob(sha or "-"):
            stored.unlink()  # lost from the blob store too (e.g. a bucket emptied by hand)
        with pytest.warns(CacheWarning, match="not served from cache"):
            again = prepare(rows=3, label="gone")
    assert again.state == "COMPLETE"
    assert run.name == "gone-1"


# --------------------------------------------------------------------------- idempotency


def test_report_step_rpc_is_idempotent(srv: Server, store: Any) -> None:
    import grpc

    from lineage._proto.lineage.v1 import lineage_pb2 as pb
    from lineage._proto.lineage.v1 import lineage_pb2_grpc as pb_grpc

    with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
        stub = pb_grpc.LineageServiceStub(channel)
        request = pb.ReportStepRequest(
            idempotency_key="rpc-key-1", pipeline="rpc", run="rpc-1", step="s", state=COMPLETE
        )
        first = stub.ReportStep(request)
        second = stub.ReportStep(request)
        assert not first.replayed and second.replayed
        assert first.execution_id == second.execution_id
        with pytest.raises(grpc.RpcError) as info:
            stub.ReportStep(
                pb.ReportStepRequest(
                    idempotency_key="k", pipeline="rpc", run="r", step="s", state=99
                )
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        # An artifact state MLMD has no name for would break every MLMD read of it.
        with pytest.raises(grpc.RpcError) as info:
            stub.ReportStep(
                pb.ReportStepRequest(
                    idempotency_key="k2",
                    pipeline="rpc",
                    run="r",
                    step="s",
                    state=COMPLETE,
                    outputs=[
                        pb.StepArtifact(
                            key="o",
                            artifact=pb.ArtifactRecord(schema_title="system.Dataset", state=99),
                        )
                    ],
                )
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not an artifact state" in info.value.details()
        found = stub.FindCachedStep(pb.FindCachedStepRequest(cache_key="none"))
        assert not found.found
    assert len(run_executions(store, "rpc-1")) == 1


# --------------------------------------------------------------------------- embedded


def test_embedded_store_without_server(sdk_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.chdir(sdk_env)
    calls.clear()
    with lineage.start_run(pipeline="local", name="local-1"):
        a = prepare(rows=2)
        fit(data=a.outputs["data"])
    with lineage.start_run(pipeline="local", name="local-2"):
        b = prepare(rows=2)
        f = fit(data=b.outputs["data"])
    assert calls == {"prepare": 1, "fit": 1} and f.state == "CACHED"
    assert Path(f.outputs["model"].path, "weights.txt").read_text() == "0.1\n2\n"
    from lineage.store.store import Store

    local = Store.open(f"sqlite:///{sdk_env / 'lineage-data' / 'metadata.sqlite'}")
    try:
        states = sorted(e.last_known_state for e in local.list_all("execution"))
        assert states == [COMPLETE, COMPLETE, CACHED, CACHED]
        assert (sdk_env / "lineage-data" / "blobs" / "sha256").is_dir()
    finally:
        local.close()


def test_local_input_counts_by_its_current_bytes(
    sdk_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An input given as a local path is recorded with its bytes, and a file edited since
    is another artifact: the step runs on the new bytes, never from the old one's cache."""
    monkeypatch.chdir(sdk_env)
    source = sdk_env / "table.csv"

    @lineage.step
    def count(table: Input[Dataset]) -> str:
        return Path(table.path).read_text()

    seen = []
    for text in ("a,b\n", "a,b\n", "c,d\n"):
        source.write_text(text)
        with lineage.start_run(pipeline="edited", name=f"edited-{len(seen)}"):
            seen.append(count(table=str(source)))
    assert [(h.state, h.output) for h in seen] == [
        ("COMPLETE", "a,b\n"),
        ("CACHED", "a,b\n"),
        ("COMPLETE", "c,d\n"),
    ]
    from lineage.store.store import Store

    local = Store.open(f"sqlite:///{sdk_env / 'lineage-data' / 'metadata.sqlite'}")
    try:
        inputs = [a for a in local.list_all("artifact") if a.uri == str(source)]
        assert sorted(props(a)["lineage_size"] for a in inputs) == [4, 4]
        assert len({props(a)["lineage_sha256"] for a in inputs}) == 2
    finally:
        local.close()


def test_steps_outside_a_run_and_get_artifact(client: Any, store: Any) -> None:
    handle = prepare(rows=2, label="implicit")  # no start_run: the process's own run
    run = lineage.current_run()
    assert handle.execution_id in [e.id for e in run_executions(store, run.name)]
    artifact = lineage.get_artifact(handle.outputs["data"].id)
    assert isinstance(artifact, Dataset) and artifact.id == handle.outputs["data"].id
    assert Path(artifact.path).read_text() == "implicit0\nimplicit1\n"
    assert lineage.get_artifact(artifact.uri).id == artifact.id
    with pytest.raises(MissingInputError, match="no artifact id 1000000000"):
        lineage.get_artifact(10**9)


def test_return_values_and_optional_parameters(client: Any, store: Any) -> None:
    @lineage.step
    def odd(out: Output[Metrics], tag: str | None = None, sizes: tuple = (1, 2)) -> set:
        out.log_metric("n", len(sizes))
        return {1, 2}  # not JSON-like: recorded as text, and the step is not a cache source

    with lineage.start_run(pipeline="odd", name="odd-1"):
        first = odd()
        second = odd()
    assert first.output == {1, 2} and second.state == "COMPLETE"  # not served from cache
    execution = run_executions(store, "odd-1")[0]
    p = props(execution)
    assert p["inputs"] == {"tag": None, "sizes": [1.0, 2.0]}
    assert p["outputs"] == {"Output": "{1, 2}"}
    assert "cache_fingerprint" not in p


def test_cached_return_value_keeps_its_types(
    sdk_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cache hit returns what the step returned: ints stay ints (the ``outputs`` struct
    holds numbers as doubles, as KFP's)."""
    monkeypatch.chdir(sdk_env)

    @lineage.step
    def sizes(out: Output[Metrics], n: int = 3) -> dict:
        out.log_metric("n", n)
        return {"n": n, "parts": [n, 2.5], "ok": True}

    with lineage.start_run(pipeline="typed", name="typed-1"):
        first = sizes()
    with lineage.start_run(pipeline="typed", name="typed-2"):
        again = sizes()
    assert again.state == "CACHED"
    assert again.output == first.output == {"n": 3, "parts": [3, 2.5], "ok": True}
    assert type(again.output["n"]) is int and type(again.output["parts"][0]) is int
