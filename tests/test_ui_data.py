"""Data for the UI and report tests (helpers only, no tests here).

``make_store(dir)`` records into an embedded store what a person would look at: the
scikit-learn demo (``lineage demo``: five runs with metrics, confusion matrices and ROC
curves), a run with HTML and Markdown reports (one with a script to strip), and a
2,001-node fan-out (one dataset read by 1,000 executions, each writing a model) for the
large-graph tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lineage import model
from lineage.store.engine import default_database_url
from lineage.store.store import Store

FAN_OUT = 1000
HTML_CONTENT = (
    "<h1>Evaluation report</h1><p>Accuracy is <b>fine</b>.</p>"
    '<script>window.pwned = true</script><p onmouseover="window.pwned = true">hover</p>'
    '<a href="javascript:alert(1)">bad link</a>'
)
MARKDOWN_CONTENT = "# Model card\n\n| metric | value |\n|---|---|\n| accuracy | 0.97 |\n\n<script>alert(1)</script>\n"


@dataclass
class UIData:
    data_dir: Path
    runs: dict[str, int] = field(default_factory=dict)  # demo label -> run context id
    run_names: dict[str, str] = field(default_factory=dict)  # demo label -> run name
    classification: dict[str, int] = field(default_factory=dict)  # label -> artifact id
    metrics: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)
    executions: dict[str, dict[str, int]] = field(default_factory=dict)  # label -> step -> id
    html_id: int = 0
    markdown_id: int = 0
    hub_id: int = 0
    fan_execution_ids: list[int] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return default_database_url(str(self.data_dir))


def make_store(data_dir: Path, *, fan_out: int = FAN_OUT) -> UIData:
    import lineage
    from lineage.artifacts import HTML, Markdown
    from lineage.client.client import Client
    from lineage.client.demo.pipeline import RUNS, run_demo

    data_dir.mkdir(parents=True, exist_ok=True)
    run_demo(str(data_dir), echo=None)
    client = Client(str(data_dir))
    with client.start_run("reports", "reports-1"):
        with lineage.step("publish") as step:
            page = step.output("page", HTML)
            Path(page.path).write_text(HTML_CONTENT)
            card = step.output("card", Markdown)
            Path(card.path).write_text(MARKDOWN_CONTENT)
    client.close()

    data = UIData(data_dir=data_dir)
    store = Store.open(data.database_url)
    try:
        for context in store.list_all("context"):
            if context.type != "system.PipelineRun":
                continue
            for label, _, _ in RUNS:
                if context.name and context.name.endswith(f"-{label}"):
                    data.runs[label] = int(context.id)
                    data.run_names[label] = context.name
        for label, run_id in data.runs.items():
            steps: dict[str, int] = {}
            for artifact in _in_context(store, "artifact", run_id):
                if artifact.type == "system.ClassificationMetrics":
                    data.classification[label] = int(artifact.id)
                elif artifact.type == "system.Metrics":
                    data.metrics[label] = int(artifact.id)
                elif artifact.type == "system.Model":
                    data.models[label] = int(artifact.id)
            for execution in _in_context(store, "execution", run_id):
                name = execution.custom_properties.get("display_name")
                steps[str(name.data if name is not None else execution.name)] = int(execution.id)
            data.executions[label] = steps
        for artifact in store.list_all("artifact"):
            if artifact.type == "system.HTML":
                data.html_id = int(artifact.id)
            elif artifact.type == "system.Markdown":
                data.markdown_id = int(artifact.id)
        if fan_out:
            data.hub_id, data.fan_execution_ids = add_fan_out(store, fan_out)
    finally:
        store.close()
    return data


def _in_context(store: Store, kind: str, context_id: int) -> list[object]:
    from lineage.store import dashboard
    from lineage.store.kinds import ARTIFACT, EXECUTION

    found = store.read(
        lambda c: dashboard.nodes_in_contexts(
            c, ARTIFACT if kind == "artifact" else EXECUTION, [context_id]
        )
    )
    return list(found.get(context_id, []))


def add_fan_out(store: Store, n: int) -> tuple[int, list[int]]:
    """One dataset read by n executions, each writing one model: 2n + 1 nodes within two
    hops of the dataset. Returns the dataset's id and the executions' ids."""
    dataset_type = store.get_type("artifact", "system.Dataset")
    model_type = store.get_type("artifact", "system.Model")
    execution_type = store.get_type("execution", "system.ContainerExecution")
    artifacts = [
        model.Artifact(
            type_id=dataset_type.id,
            uri="file:///data/shared-features.csv",
            state=model.ArtifactState.LIVE,
            custom_properties={
                "display_name": model.Value(model.PropertyType.STRING, "shared-features")
            },
        )
    ]
    executions = []
    edges: list[tuple[int | None, int | None, model.Event]] = []
    for i in range(n):
        executions.append(
            model.Execution(
                type_id=execution_type.id,
                last_known_state=model.ExecutionState.COMPLETE,
                custom_properties={
                    "display_name": model.Value(model.PropertyType.STRING, f"score-{i:04d}")
                },
            )
        )
        artifacts.append(
            model.Artifact(
                type_id=model_type.id,
                uri=f"file:///models/m{i:04d}",
                state=model.ArtifactState.LIVE,
                custom_properties={
                    "display_name": model.Value(model.PropertyType.STRING, f"model-{i:04d}")
                },
            )
        )
        edges.append((i, 0, model.Event(type=model.EventType.INPUT)))
        edges.append((i, i + 1, model.Event(type=model.EventType.OUTPUT)))
    execution_ids, artifact_ids, _ = store.put_lineage_subgraph(executions, artifacts, [], edges)
    return artifact_ids[0], execution_ids
