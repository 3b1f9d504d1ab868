"""Pipeline-shaped data for the GraphQL tests (helpers only, no tests here).

``populate(store, runs)`` writes, through the Store, what KFP v2 records for ``runs``
runs of two pipelines: a system.Pipeline context per pipeline, a system.PipelineRun
context per run (child of its pipeline), and per run a root system.DAGExecution with the
pipeline parameters (KFP's ``inputs`` struct) and three system.ContainerExecution steps,
ingest -> train -> evaluate, writing a Dataset, a Model and a Metrics artifact (KFP's
layout: one double custom property per metric, ``display_name``). Every fifth run has a
failed evaluate step and every fifth (offset 4) a running one; those have no metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineage import model
from lineage.model import PropertyType as P
from lineage.model import Value
from lineage.store.store import ArtifactAndEvent, Store

S = model.ExecutionState


@dataclass
class Run:
    context_id: int
    name: str
    pipeline: str
    state: str  # the derived run state expected
    lr: float
    dag_id: int = 0
    step_ids: dict[str, int] = field(default_factory=dict)
    dataset_id: int = 0
    model_id: int = 0
    metrics_id: int | None = None
    accuracy: float | None = None


@dataclass
class Data:
    runs: list[Run]
    pipeline_ids: dict[str, int]
    types: dict[str, int]

    def run(self, index: int) -> Run:
        return self.runs[index]


def _s(text: str) -> Value:
    return Value(P.STRING, text)


def _d(number: float) -> Value:
    return Value(P.DOUBLE, number)


def put_types(store: Store) -> dict[str, int]:
    ids: dict[str, int] = {}
    for name in ("system.Pipeline", "system.PipelineRun"):
        ids[name] = store.put_type(model.ContextType(name=name))
    for name in ("system.DAGExecution", "system.ContainerExecution"):
        ids[name] = store.put_type(model.ExecutionType(name=name))
    for name in ("system.Dataset", "system.Model", "system.Metrics"):
        ids[name] = store.put_type(model.ArtifactType(name=name))
    return ids


def populate(store: Store, runs: int, *, prefix: str = "run") -> Data:
    types = put_types(store)
    pipelines: dict[str, int] = {}
    for name in ("pipeline-a", "pipeline-b"):
        existing = store.get_node_by_type_and_name("context", "system.Pipeline", name)
        if existing is not None:
            pipelines[name] = existing.id
        else:
            [pipelines[name]] = store.put_nodes(
                "context", [model.Context(type_id=types["system.Pipeline"], name=name)]
            )
    out: list[Run] = []
    for i in range(runs):
        pipeline = "pipeline-a" if i % 2 == 0 else "pipeline-b"
        name = f"{prefix}-{i}"
        ctx = model.Context(
            type_id=types["system.PipelineRun"],
            name=name,
            custom_properties={"namespace": _s("default")},
        )
        [context_id] = store.put_nodes("context", [ctx])
        store.put_parent_contexts([model.ParentContext(context_id, pipelines[pipeline])])
        # put_execution upserts its contexts: pass the run's context whole
        ctx.id = context_id
        lr = round(0.01 * (i + 1), 6)
        state = "FAILED" if i % 5 == 3 else "RUNNING" if i % 5 == 4 else "COMPLETE"
        run = Run(context_id=context_id, name=name, pipeline=pipeline, state=state, lr=lr)
        run.dag_id, _, _ = store.put_execution(
            model.Execution(
                type_id=types["system.DAGExecution"],
                last_known_state=S.RUNNING if state == "RUNNING" else S.COMPLETE,
                custom_properties={
                    "display_name": _s("root"),
                    "inputs": Value.of({"lr": lr, "epochs": 5 + i % 3}),
                },
            ),
            contexts=[ctx],
        )
        ingest_id, [dataset_id], _ = store.put_execution(
            model.Execution(
                type_id=types["system.ContainerExecution"],
                last_known_state=S.COMPLETE,
                custom_properties={"display_name": _s("ingest")},
            ),
            [
                ArtifactAndEvent(
                    model.Artifact(
                        type_id=types["system.Dataset"],
                        uri=f"s3://data/{name}/dataset",
                        state=model.ArtifactState.LIVE,
                        custom_properties={"display_name": _s("dataset")},
                    ),
                    model.Event(type=model.EventType.OUTPUT),
                )
            ],
            [ctx],
        )
        train_id, [_, model_id], _ = store.put_execution(
            model.Execution(
                type_id=types["system.ContainerExecution"],
                last_known_state=S.COMPLETE,
                custom_properties={
                    "display_name": _s("train"),
                    "inputs": Value.of({"lr": lr}),
                },
            ),
            [
                ArtifactAndEvent(
                    None, model.Event(artifact_id=dataset_id, type=model.EventType.INPUT)
                ),
                ArtifactAndEvent(
                    model.Artifact(
                        type_id=types["system.Model"],
                        uri=f"s3://models/{name}/model",
                        state=model.ArtifactState.LIVE,
                        custom_properties={"display_name": _s("model"), "framework": _s("sklearn")},
                    ),
                    model.Event(type=model.EventType.OUTPUT),
                ),
            ],
            [ctx],
        )
        pairs: list[ArtifactAndEvent] = [
            ArtifactAndEvent(None, model.Event(artifact_id=model_id, type=model.EventType.INPUT))
        ]
        accuracy = None
        if state == "COMPLETE":
            accuracy = round(0.8 + 0.001 * i, 6)
            pairs.append(
                ArtifactAndEvent(
                    model.Artifact(
                        type_id=types["system.Metrics"],
                        uri=f"s3://metrics/{name}/metrics",
                        state=model.ArtifactState.LIVE,
                        custom_properties={
                            "display_name": _s("metrics"),
                            "accuracy": _d(accuracy),
                            "loss": _d(round(1 - accuracy, 6)),
                        },
                    ),
                    model.Event(type=model.EventType.OUTPUT),
                )
            )
        evaluate_state = {"FAILED": S.FAILED, "RUNNING": S.RUNNING}.get(state, S.COMPLETE)
        evaluate_id, artifact_ids, _ = store.put_execution(
            model.Execution(
                type_id=types["system.ContainerExecution"],
                last_known_state=evaluate_state,
                custom_properties={"display_name": _s("evaluate")},
            ),
            pairs,
            [ctx],
        )
        run.step_ids = {"ingest": ingest_id, "train": train_id, "evaluate": evaluate_id}
        run.dataset_id, run.model_id = dataset_id, model_id
        if accuracy is not None:
            run.metrics_id = artifact_ids[1]
            run.accuracy = accuracy
        out.append(run)
    return Data(out, pipelines, types)


def gid(typename: str, mlmd_id: int) -> str:
    from lineage.server.graphql.ids import to_global_id

    return to_global_id(typename, mlmd_id)


def errors_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body.get("errors") or [])
