"""lineage/steps.py: a step report recorded in one transaction, idempotent, on every
database backend (SQLite, PostgreSQL, MariaDB)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from lineage import model
from lineage.errors import InvalidArgument, NotFound
from lineage.steps import (
    ArtifactRecord,
    StepArtifact,
    StepBlob,
    StepReport,
    find_cached_step,
    record_step,
    resolve_artifacts,
)
from lineage.store.store import Store

RUNNING, COMPLETE, FAILED = (
    int(model.ExecutionState.RUNNING),
    int(model.ExecutionState.COMPLETE),
    int(model.ExecutionState.FAILED),
)


def _report(key: str, state: int, **fields: Any) -> StepReport:
    base: dict[str, Any] = {"pipeline": "pipe", "run": "run-1", "step": "train"}
    base.update(fields)
    return StepReport(idempotency_key=key, state=state, **base)


def _props(node: Any) -> dict[str, Any]:
    return {k: v.python() for k, v in node.custom_properties.items()}


def test_running_then_complete_in_kfp_layout(store: Store) -> None:
    raw = StepArtifact("raw", ArtifactRecord(uri="s3://b/raw.csv", schema_title="system.Dataset"))
    first = record_step(
        store,
        _report(
            "k-running", RUNNING, start_time_ms=1000, parameters={"C": 0.5, "n": 3}, inputs=[raw]
        ),
    )
    [execution] = store.get_nodes_by_id("execution", [first.execution_id])
    assert execution.type == "system.ContainerExecution"
    assert execution.last_known_state == RUNNING
    model_out = StepArtifact(
        "model",
        ArtifactRecord(
            uri="file:///models/1",
            schema_title="system.Model",
            external_id="ext-model-1",
            custom_properties={"framework": "sklearn"},
            blob=StepBlob("a" * 64, 12, "file:///blobs/sha256/aa/aa/" + "a" * 64),
        ),
    )
    final = record_step(
        store,
        _report(
            "k-final",
            COMPLETE,
            start_time_ms=1000,
            end_time_ms=2000,
            parameters={"C": 0.5, "n": 3},
            inputs=[raw],
            outputs=[model_out],
            cache_key="ck-1",
            custom_properties={"outputs": {"Output": 0.9}},
            running_idempotency_key="k-running",
        ),
    )
    assert final.execution_id == first.execution_id
    assert final.input_artifact_ids == first.input_artifact_ids
    [execution] = store.get_nodes_by_id("execution", [first.execution_id])
    assert execution.last_known_state == COMPLETE
    p = _props(execution)
    assert p["display_name"] == p["task_name"] == "train"
    assert p["inputs"] == {"C": 0.5, "n": 3.0}  # a Struct, as KFP stores input parameters
    assert p["outputs"] == {"Output": 0.9}
    assert p["cache_fingerprint"] == "ck-1"
    assert (p["lineage_start_time_ms"], p["lineage_end_time_ms"]) == (1000, 2000)

    # Contexts: pipeline and run, the run a child of the pipeline.
    contexts = store.get_contexts_by_node("execution", first.execution_id)
    assert sorted((c.type, c.name) for c in contexts) == [
        ("system.Pipeline", "pipe"),
        ("system.PipelineRun", "run-1"),
    ]
    run_ctx = next(c for c in contexts if c.type == "system.PipelineRun")
    parents = store.get_related_contexts([run_ctx.id], parents=True)[run_ctx.id]
    assert [c.name for c in parents] == ["pipe"]
    # Every artifact is attributed to both contexts.
    for artifact_id in final.input_artifact_ids + final.output_artifact_ids:
        names = {c.name for c in store.get_contexts_by_node("artifact", artifact_id)}
        assert names == {"pipe", "run-1"}
    # Events with path [key, index]; one INPUT, one OUTPUT (none duplicated by the update).
    events = store.get_events_by_execution_ids([first.execution_id])
    assert sorted((e.type, e.path[0].key, e.path[1].index) for e in events) == [
        (int(model.EventType.INPUT), "raw", 0),
        (int(model.EventType.OUTPUT), "model", 0),
    ]
    [out] = store.get_nodes_by_id("artifact", final.output_artifact_ids)
    assert out.type == "system.Model" and out.state == int(model.ArtifactState.LIVE)
    assert _props(out)["display_name"] == "model"
    assert _props(out)["lineage_sha256"] == "a" * 64  # the blob is recorded on it
    [inp] = store.get_nodes_by_id("artifact", final.input_artifact_ids)
    assert inp.type == "system.Dataset" and inp.uri == "s3://b/raw.csv"


def test_replays_write_nothing(store: Store) -> None:
    report = _report("k1-running", RUNNING)
    first = record_step(store, report)
    again = record_step(store, report)
    assert again.replayed and again.execution_id == first.execution_id
    final = _report("k1-final", COMPLETE, running_idempotency_key="k1-running")
    record_step(store, final)
    assert record_step(store, final).replayed
    assert len(store.list_all("execution")) == 1


def test_final_report_first_then_late_running_report(store: Store) -> None:
    """The RUNNING report was lost or is replayed after the final one: still one
    execution, in its final state."""
    final = record_step(store, _report("k2-final", COMPLETE, running_idempotency_key="k2-running"))
    late = record_step(store, _report("k2-running", RUNNING))
    assert late.replayed and late.execution_id == final.execution_id
    [execution] = store.list_all("execution")
    assert execution.last_known_state == COMPLETE


def test_inputs_by_id_external_id_and_uri(store: Store) -> None:
    producer = record_step(
        store,
        _report(
            "p",
            COMPLETE,
            step="prepare",
            outputs=[
                StepArtifact(
                    "data",
                    ArtifactRecord(
                        uri="u://data", external_id="ext-data", schema_title="system.Dataset"
                    ),
                ),
            ],
        ),
    )
    [data_id] = producer.output_artifact_ids
    consumer = record_step(
        store,
        _report(
            "c",
            COMPLETE,
            inputs=[
                StepArtifact("by_id", ArtifactRecord(id=data_id)),
                StepArtifact("by_external", ArtifactRecord(external_id="ext-data"), 0),
                StepArtifact("by_uri", ArtifactRecord(uri="u://data"), 0),
            ],
        ),
    )
    # One artifact, linked once (the event is unique per artifact, execution and type).
    assert consumer.input_artifact_ids == [data_id, data_id, data_id]
    assert len(store.get_events_by_execution_ids([consumer.execution_id])) == 1

    with pytest.raises(NotFound, match="no artifact with id 999"):
        record_step(
            store, _report("x1", COMPLETE, inputs=[StepArtifact("a", ArtifactRecord(id=999))])
        )
    with pytest.raises(NotFound, match="external_id 'nope'"):
        record_step(
            store,
            _report("x2", COMPLETE, inputs=[StepArtifact("a", ArtifactRecord(external_id="nope"))]),
        )
    # Nothing of the refused reports was written.
    assert len(store.list_all("execution")) == 2

    found = store.read(
        lambda c: resolve_artifacts(
            c, [ArtifactRecord(id=data_id), ArtifactRecord(uri="u://data"), ArtifactRecord(id=77)]
        )
    )
    assert [f.id if f else None for f in found] == [data_id, data_id, None]
    assert found[0] is not None and found[0].schema_title == "system.Dataset"


def test_invalid_reports_are_refused(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="pipeline"):
        record_step(store, _report("k", COMPLETE, pipeline=""))
    with pytest.raises(InvalidArgument, match="state"):
        record_step(store, _report("k", 42))
    with pytest.raises(InvalidArgument, match="finite"):
        record_step(store, _report("k", COMPLETE, parameters={"x": float("nan")}))
    with pytest.raises(InvalidArgument, match="refer to an artifact"):
        record_step(store, _report("k", COMPLETE, inputs=[StepArtifact("a", ArtifactRecord())]))
    assert store.list_all("execution") == []


def test_a_run_name_belongs_to_one_pipeline(store: Store) -> None:
    record_step(store, _report("a", COMPLETE, pipeline="alpha", run="nightly"))
    with pytest.raises(InvalidArgument, match="belongs to pipeline 'alpha'"):
        record_step(store, _report("b", COMPLETE, pipeline="beta", run="nightly"))
    record_step(store, _report("c", COMPLETE, pipeline="alpha", run="nightly"))  # joins it
    [run] = [c for c in store.list_all("context") if c.name == "nightly"]
    assert len(store.list_all("execution", context_id=run.id)) == 2
    assert [c.name for c in store.list_all("context") if c.name == "beta"] == []


def test_find_cached_step(store: Store) -> None:
    out = StepArtifact("model", ArtifactRecord(uri="u://m", schema_title="system.Model"))
    done = record_step(
        store,
        _report(
            "done",
            COMPLETE,
            cache_key="key-1",
            outputs=[out],
            custom_properties={"outputs": {"Output": 3}},
        ),
    )
    record_step(store, _report("failed", FAILED, cache_key="key-2", error_message="boom"))
    cached = store.read(lambda c: find_cached_step(c, "key-1"))
    assert cached is not None and cached.execution_id == done.execution_id
    assert [(o.key, o.artifact.id) for o in cached.outputs] == [
        ("model", done.output_artifact_ids[0])
    ]
    assert cached.custom_properties["outputs"] == {"Output": 3.0}
    assert store.read(lambda c: find_cached_step(c, "key-2")) is None  # FAILED never serves
    assert store.read(lambda c: find_cached_step(c, "other")) is None
    # An output marked for deletion makes the execution unusable as a cache source.
    [artifact] = store.get_nodes_by_id("artifact", done.output_artifact_ids)
    artifact.state = int(model.ArtifactState.DELETED)
    store.put_nodes("artifact", [artifact])
    assert store.read(lambda c: find_cached_step(c, "key-1")) is None


def test_concurrent_replays_of_one_key_record_one_execution(store: Store) -> None:
    report = _report("same-key", COMPLETE, run="run-concurrent")
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(record_step(store, report))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len({r.execution_id for r in results}) == 1
    assert len(store.list_all("execution")) == 1
    assert sum(not r.replayed for r in results) == 1


def test_concurrent_steps_share_new_contexts(store: Store) -> None:
    """Steps of one new run reported at once create its contexts once."""
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            record_step(store, _report(f"step-{i}", COMPLETE, run="run-x", step=f"s{i}"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    names = sorted(c.name for c in store.list_all("context"))
    assert names == ["pipe", "run-x"]
    assert len(store.list_all("execution")) == 4


def _at_once(*work: Any) -> list[BaseException]:
    """Run each callable in its own thread, started together; the errors they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(work))

    def run(fn: Any) -> None:
        try:
            start.wait()
            fn()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_a_running_report_racing_its_final_report_leaves_one_execution(store: Store) -> None:
    """A RUNNING report still being written (its client timed out) when the final one
    arrives: whichever commits first, the step has one execution, in its final state."""
    for i in range(12):
        run = f"race-{i}"
        running = _report(f"run-{i}", RUNNING, run=run, step="s")
        final = _report(f"fin-{i}", COMPLETE, run=run, step="s", running_idempotency_key=f"run-{i}")
        answers: dict[str, Any] = {}
        errors = _at_once(
            lambda r=running, a=answers: a.__setitem__("running", record_step(store, r)),
            lambda f=final, a=answers: a.__setitem__("final", record_step(store, f)),
        )
        assert not errors, errors
        executions = store.list_all("execution")
        assert len(executions) == i + 1, (i, [(e.id, e.last_known_state) for e in executions])
        assert answers["running"].execution_id == answers["final"].execution_id
        [execution] = store.get_nodes_by_id("execution", [answers["final"].execution_id])
        assert execution.last_known_state == COMPLETE
