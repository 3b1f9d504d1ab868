"""Results of the dashboard questions: lineage graphs, run metrics tables, run
comparisons; and the input objects of the schema."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from lineage.errors import InvalidArgument
from lineage.server.graphql.ids import to_global_id
from lineage.server.graphql.types import (
    Artifact,
    EventType,
    Execution,
    Long,
    Metric,
    OrderDirection,
    OrderField,
    PipelineRun,
    _enum,
)

# --- inputs ----------------------------------------------------------------------------------


@strawberry.input(description="A time range; either end may be left open.")
class TimeRange:
    after: datetime | None = strawberry.field(default=None, description="Inclusive.")
    before: datetime | None = strawberry.field(default=None, description="Exclusive.")


def to_ms(value: datetime | None) -> int | None:
    """Milliseconds since the epoch; a time without a zone is taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def time_bounds(time_range: TimeRange | None, what: str) -> tuple[int | None, int | None]:
    if time_range is None:
        return None, None
    after, before = to_ms(time_range.after), to_ms(time_range.before)
    if after is not None and before is not None and after >= before:
        raise InvalidArgument(f"{what}: after must be earlier than before")
    return after, before


@strawberry.input(description="How to order a list; ties are broken by id in the same direction.")
class Order:
    field: OrderField = OrderField.ID
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input(description="Where a lineage walk starts: exactly one of the two.")
class LineageStart:
    artifact_id: strawberry.ID | None = strawberry.field(
        default=None, description="An Artifact id (or a bare MLMD id)."
    )
    execution_id: strawberry.ID | None = strawberry.field(
        default=None, description="An Execution id (or a bare MLMD id)."
    )


@strawberry.enum(description="Which way a lineage walk goes from its start.")
class LineageDirection(enum.Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@strawberry.input(description="One custom property to set: its name and exactly one value field.")
class CustomPropertyInput:
    name: str
    int_value: Long | None = None
    double_value: float | None = None
    string_value: str | None = None
    bool_value: bool | None = None
    struct_value: JSON | None = strawberry.field(
        default=None, description="A JSON object, stored as MLMD's struct value."
    )


# --- lineage ---------------------------------------------------------------------------------


@strawberry.type(description="A node of a lineage graph and how many hops it is from the start.")
class LineageNode:
    hops: int
    artifact: Artifact | None = strawberry.field(description="Set when the node is an artifact.")
    execution: Execution | None = strawberry.field(description="Set when the node is an execution.")

    @strawberry.field(description="The global id of the artifact or execution.")
    def id(self) -> strawberry.ID:
        item = self.artifact if self.artifact is not None else self.execution
        assert item is not None
        return item.id


@strawberry.type(
    description="An edge of a lineage graph, in the direction data flows: artifact -> "
    "execution for inputs, execution -> artifact for outputs."
)
class LineageEdge:
    source: strawberry.ID
    target: strawberry.ID
    type: EventType
    artifact_id: strawberry.ID
    execution_id: strawberry.ID
    milliseconds_since_epoch: Long | None


@strawberry.type(
    description="The nodes within some hops of a start node, and the events between them."
)
class LineageGraph:
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    artifacts: list[Artifact]
    executions: list[Execution]
    truncated: bool = strawberry.field(
        description="True when more nodes were in reach than maxNodes: the nearest were kept."
    )


def lineage_edge(event: Any) -> LineageEdge:
    artifact_id = strawberry.ID(to_global_id("Artifact", int(event.artifact_id)))
    execution_id = strawberry.ID(to_global_id("Execution", int(event.execution_id)))
    event_type = _enum(EventType, event.type)
    is_input = int(event.type or 0) in (2, 3, 5)  # DECLARED_INPUT, INPUT, INTERNAL_INPUT
    return LineageEdge(
        source=artifact_id if is_input else execution_id,
        target=execution_id if is_input else artifact_id,
        type=event_type,
        artifact_id=artifact_id,
        execution_id=execution_id,
        milliseconds_since_epoch=Long(event.milliseconds_since_epoch)
        if event.milliseconds_since_epoch is not None
        else None,
    )


# --- runs side by side ---------------------------------------------------------------------


@strawberry.type(description="One run's metrics, as a row of the table.")
class RunMetricsRow:
    run: PipelineRun
    values: list[float | None] = strawberry.field(
        description="One value per column of the table (null: the run does not have it)."
    )
    metrics: list[Metric]


@strawberry.type(
    description="Metrics of many runs flattened into a table: a column per metric name "
    "(qualified as '<artifact>.<name>' where a run has the name twice), a row per run."
)
class RunMetricsTable:
    columns: list[str]
    rows: list[RunMetricsRow]


@strawberry.type(description="One parameter or metric across the compared runs.")
class ComparedValue:
    name: str
    values: list[JSON | None] = strawberry.field(
        description="One value per compared run, in the order of runs (null: not set)."
    )
    differs: bool = strawberry.field(description="Whether the runs do not all have the same value.")


@strawberry.type(description="Runs side by side: their parameters and metrics.")
class RunComparison:
    runs: list[PipelineRun]
    parameters: list[ComparedValue]
    metrics: list[ComparedValue]


def metric_columns(per_run: list[list[Metric]]) -> tuple[list[str], list[dict[str, float]]]:
    """Column names and each run's values: a metric is named by its name unless some run
    has that name more than once, then by its qualified name everywhere."""
    repeated: set[str] = set()
    for metrics in per_run:
        seen: set[str] = set()
        for metric in metrics:
            if metric.name in seen:
                repeated.add(metric.name)
            seen.add(metric.name)
    columns: dict[str, None] = {}
    rows: list[dict[str, float]] = []
    for metrics in per_run:
        row: dict[str, float] = {}
        for metric in metrics:
            key = metric.qualified_name if metric.name in repeated else metric.name
            # Artifacts of one name in a run (each step's output 'metrics'): '#2', '#3'...
            # in order, so no value hides another.
            column, n = key, 1
            while column in row:
                n += 1
                column = f"{key}#{n}"
            row[column] = metric.value
            columns[column] = None
        rows.append(row)
    return sorted(columns), rows


def compared(names: list[str], rows: list[dict[str, Any]]) -> list[ComparedValue]:
    out = []
    for name in names:
        values = [row.get(name) for row in rows]
        present = [row[name] for row in rows if name in row]
        differs = len(present) != len(rows) or any(v != present[0] for v in present)
        out.append(ComparedValue(name=name, values=values, differs=differs))
    return out
