"""DataLoaders: every relation a resolver follows is loaded for all parents at once.

One :class:`Loaders` per GraphQL operation (per subscription event for live updates), so
nothing is cached across requests. Each batch is one call into
:mod:`lineage.store.dashboard` in a worker thread, which answers for many parents with a
fixed number of statements: a page of 50 runs with their steps and metrics costs the
same number of statements as a page of 5.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import anyio.to_thread
from strawberry.dataloader import DataLoader

from lineage import model
from lineage.store import dashboard
from lineage.store.kinds import ARTIFACT, CONTEXT, EXECUTION, NodeKind
from lineage.store.store import Store

T = TypeVar("T")


class Loaders:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.artifact: DataLoader[int, model.Artifact | None] = self._by_id(ARTIFACT)
        self.execution: DataLoader[int, model.Execution | None] = self._by_id(EXECUTION)
        self.context: DataLoader[int, model.Context | None] = self._by_id(CONTEXT)
        self.artifact_type: DataLoader[int, Any] = self._loader(
            lambda ids: self.read(dashboard.types_by_id, ARTIFACT, ids), None
        )
        self.execution_type: DataLoader[int, Any] = self._loader(
            lambda ids: self.read(dashboard.types_by_id, EXECUTION, ids), None
        )
        self.context_type: DataLoader[int, Any] = self._loader(
            lambda ids: self.read(dashboard.types_by_id, CONTEXT, ids), None
        )
        self.artifact_events: DataLoader[int, list[model.Event]] = self._loader(
            lambda ids: self.read(dashboard.events_of, ARTIFACT, ids), []
        )
        self.execution_events: DataLoader[int, list[model.Event]] = self._loader(
            lambda ids: self.read(dashboard.events_of, EXECUTION, ids), []
        )
        self.artifact_contexts: DataLoader[int, list[model.Context]] = self._loader(
            lambda ids: self.read(dashboard.contexts_of_nodes, ARTIFACT, ids), []
        )
        self.execution_contexts: DataLoader[int, list[model.Context]] = self._loader(
            lambda ids: self.read(dashboard.contexts_of_nodes, EXECUTION, ids), []
        )
        self.context_parents: DataLoader[int, list[model.Context]] = self._loader(
            lambda ids: self.read(dashboard.related_contexts, ids, parents=True), []
        )
        self.context_children: DataLoader[int, list[model.Context]] = self._loader(
            lambda ids: self.read(dashboard.related_contexts, ids, parents=False), []
        )
        # All executions of a run (its steps) and its KFP Metrics artifacts.
        self.run_steps: DataLoader[int, list[model.Execution]] = self._loader(
            lambda ids: self.read(dashboard.nodes_in_contexts, EXECUTION, ids), []
        )
        self.run_metrics_artifacts: DataLoader[int, list[model.Artifact]] = self._loader(
            lambda ids: self.read(
                dashboard.nodes_in_contexts, ARTIFACT, ids, type_names=[dashboard.METRICS_TYPE]
            ),
            [],
        )
        self.run_stats: DataLoader[int, dashboard.RunStats] = self._loader(
            lambda ids: self.read(dashboard.run_stats, ids), dashboard.RunStats()
        )
        # The first N artifacts / executions of any context (a pipeline context may hold
        # millions), keyed by (context id, N); and how many there are.
        self.context_artifacts: DataLoader[tuple[int, int], list[model.Artifact]] = self._limited(
            ARTIFACT
        )
        self.context_executions: DataLoader[tuple[int, int], list[model.Execution]] = self._limited(
            EXECUTION
        )
        self.context_artifact_count: DataLoader[int, int] = self._loader(
            lambda ids: self.read(dashboard.count_in_contexts, ARTIFACT, ids), 0
        )
        self.context_execution_count: DataLoader[int, int] = self._loader(
            lambda ids: self.read(dashboard.count_in_contexts, EXECUTION, ids), 0
        )

    # --- plumbing -----------------------------------------------------------------------

    async def read(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``work(conn, *args, **kwargs)`` in one read transaction, in a worker thread."""
        return await anyio.to_thread.run_sync(
            self.store.read, lambda conn: work(conn, *args, **kwargs)
        )

    async def write(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``work(conn, *args, **kwargs)`` in one write transaction, in a worker thread."""
        return await anyio.to_thread.run_sync(
            self.store.write, lambda conn: work(conn, *args, **kwargs)
        )

    @staticmethod
    def _loader(
        fetch: Callable[[list[Any]], Awaitable[dict[Any, Any]]], missing: Any
    ) -> DataLoader[Any, Any]:
        async def load(keys: list[Any]) -> list[Any]:
            found = await fetch(list(keys))
            return [found.get(k, missing) for k in keys]

        return DataLoader(load_fn=load)

    def _by_id(self, kind: NodeKind) -> DataLoader[int, Any]:
        return self._loader(lambda ids: self.read(dashboard.nodes_by_id, kind, ids), None)

    def _limited(self, kind: NodeKind) -> DataLoader[tuple[int, int], list[Any]]:
        async def load(keys: list[tuple[int, int]]) -> list[list[Any]]:
            by_limit: dict[int, list[int]] = {}
            for context_id, limit in keys:
                by_limit.setdefault(limit, []).append(context_id)
            found: dict[tuple[int, int], list[Any]] = {}
            for limit, ids in by_limit.items():
                got = await self.read(dashboard.nodes_in_contexts, kind, ids, limit=limit)
                for context_id, items in got.items():
                    found[(context_id, limit)] = items
            return [found.get(k, []) for k in keys]

        return DataLoader(load_fn=load)

    def _node_loader(self, kind: NodeKind) -> DataLoader[int, Any]:
        loaders: dict[NodeKind, DataLoader[int, Any]] = {
            ARTIFACT: self.artifact,
            EXECUTION: self.execution,
            CONTEXT: self.context,
        }
        return loaders[kind]

    def prime(self, kind: NodeKind, items: Sequence[Any]) -> None:
        """Remember nodes already loaded (a page), so a later lookup by id is free."""
        self._node_loader(kind).prime_many({int(n.id): n for n in items})

    def forget(self, kind: NodeKind, node_id: int) -> None:
        """Drop a node from the caches after a write changed it."""
        loader = self._node_loader(kind)
        if loader.cache_map.get(node_id) is not None:
            loader.clear(node_id)
