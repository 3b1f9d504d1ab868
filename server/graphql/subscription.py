"""The Subscription root: live state changes of a run's executions (websocket,
graphql-transport-ws).

Replicas keep no shared state, so each subscription polls the database: one indexed
statement a poll (the run's executions updated since its watermark, minus a slack for
commits that land late or clocks a little apart), remembering the last state it sent
of each execution and sending only changes. Executions are loaded (with fresh
DataLoaders, nothing cached between events) only when something changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

from lineage.errors import InvalidArgument, NotFound
from lineage.server.graphql.ids import parse_id
from lineage.server.graphql.loaders import Loaders
from lineage.server.graphql.types import (
    Execution,
    ExecutionState,
    PipelineRun,
    _enum,
    ms_to_datetime,
)
from lineage.store import dashboard

SLACK_MS = 2000
MIN_POLL_SECONDS = 0.2
MAX_POLL_SECONDS = 60.0
_UNSEEN = object()


@strawberry.type(description="An execution of the run changed state (or appeared).")
class ExecutionStateChange:
    execution: Execution
    state: ExecutionState | None
    previous_state: ExecutionState | None = strawberry.field(
        description="The state last sent; null for a new execution or the initial snapshot."
    )
    initial: bool = strawberry.field(
        description="True for the snapshot of the states when the subscription started."
    )
    changed_at: datetime = strawberry.field(description="The execution's last update time.")
    run: PipelineRun


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="State changes of the executions of a pipeline run: first the current "
        "states (unless includeCurrent is false), then each change and each new execution, "
        "polled every pollIntervalSeconds (0.2 to 60, default 1)."
    )
    async def execution_state_changes(
        self,
        info: Info,
        run_id: strawberry.ID,
        include_current: bool = True,
        poll_interval_seconds: float = 1.0,
    ) -> AsyncGenerator[ExecutionStateChange, None]:
        if not MIN_POLL_SECONDS <= poll_interval_seconds <= MAX_POLL_SECONDS:
            raise InvalidArgument(
                f"pollIntervalSeconds must be between {MIN_POLL_SECONDS} and "
                f"{MAX_POLL_SECONDS}, got {poll_interval_seconds}"
            )
        store = info.context.store
        _, context_id = parse_id(run_id, ("PipelineRun", "Context"), what="runId")
        probe = Loaders(store)
        run = await probe.context.load(context_id)
        if run is None or run.type != dashboard.PIPELINE_RUN_TYPE:
            raise NotFound(f"runId: no pipeline run {run_id!r}")
        known: dict[int, object] = {}
        watermark = 0
        first_poll = True
        while True:
            since = max(0, watermark - SLACK_MS) if not first_poll else 0
            stamps = await probe.read(dashboard.execution_stamps, context_id, since)
            changed: list[tuple[int, object]] = []
            for stamp in stamps:
                watermark = max(watermark, stamp.last_update)
                before = known.get(stamp.execution_id, _UNSEEN)
                if before is _UNSEEN or before != stamp.state:
                    known[stamp.execution_id] = stamp.state
                    if first_poll and not include_current:
                        continue
                    changed.append((stamp.execution_id, before))
            if changed:
                loaders = Loaders(store)  # fresh: each event shows the rows as they are now
                found = await loaders.execution.load_many([i for i, _ in changed])
                run_node = PipelineRun.of(run, loaders)
                for (execution_id, before), execution in zip(changed, found, strict=True):
                    if execution is None:
                        continue  # deleted meanwhile
                    known[execution_id] = execution.last_known_state
                    yield ExecutionStateChange(
                        execution=Execution.of(execution, loaders),
                        state=_enum(ExecutionState, execution.last_known_state),
                        previous_state=None if before is _UNSEEN else _enum(ExecutionState, before),  # type: ignore[arg-type]
                        initial=first_poll,
                        changed_at=ms_to_datetime(execution.last_update_time_since_epoch)
                        or datetime.fromtimestamp(0),
                        run=run_node,
                    )
            first_poll = False
            await asyncio.sleep(poll_interval_seconds)
