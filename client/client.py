"""``lineage.connect``: one client per store, and the process's default client."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

from lineage.artifacts import Artifact

from . import config
from .config import Target, parse_target
from .errors import SpoolWarning
from .outbox import Outbox, SyncStats
from .spool import Spool
from .transport import Transport, make_transport

_default: Client | None = None
_default_lock = threading.Lock()


class Client:
    """Reports go to one store (a server, or the embedded store), through the spool."""

    def __init__(
        self,
        url: str | os.PathLike[str] | None = None,
        *,
        spool_dir: str | os.PathLike[str] | None = None,
        replay: bool = True,
        probe_timeout: float = 2.0,
    ) -> None:
        self.target: Target = parse_target(url)
        self.transport: Transport = make_transport(self.target)
        self.spool = Spool(
            Path(spool_dir) if spool_dir is not None else config.spool_dir(),
            config.spool_max_bytes(),
        )
        self.outbox = Outbox(self.transport, self.spool)
        self.last_replay: SyncStats | None = None
        if self.target.kind == "grpc" and not self.transport.reachable(probe_timeout):
            self.outbox.offline = True
            waiting = self.spool.count(self.target.url)
            warnings.warn(
                f"lineage: {self.target.describe()} is unreachable; step reports will be "
                f"spooled to {self.spool.root} and replayed on the next connection or by "
                f"`lineage sync`" + (f" ({waiting} already waiting)" if waiting else ""),
                SpoolWarning,
                stacklevel=3,
            )
        elif replay and self.spool.count(self.target.url):
            self.last_replay = self.replay(lock_timeout=10.0)

    @property
    def url(self) -> str:
        return self.target.url

    def __repr__(self) -> str:
        return f"<lineage.Client {self.target.url}>"

    def replay(self, *, lock_timeout: float = 120.0) -> SyncStats:
        """Send the reports waiting in the spool for this store (exactly once each)."""
        return self.outbox.replay(lock_timeout=lock_timeout)

    def start_run(
        self, pipeline: str | None = None, name: str | None = None, *, cache: bool = True
    ) -> Any:
        from .runs import Run

        return Run(self, pipeline, name, cache=cache)

    def get_artifact(self, ref: int | str) -> Artifact:
        """A recorded artifact by id or URI, its bytes downloaded (``.path``);
        ``MissingInputError`` if there is none."""
        from lineage.steps import ArtifactRecord

        from .runs import Run, StepContext

        lookup = StepContext(
            Run(self, "lookup", "lookup"),
            "lookup",
            inputs={},
            params={},
            cache=False,
            fingerprint="",
        )
        if isinstance(ref, bool) or not isinstance(ref, int | str):
            raise TypeError(f"get_artifact takes an artifact id or URI, got {ref!r}")
        record = ArtifactRecord(id=ref) if isinstance(ref, int) else ArtifactRecord(uri=ref)
        what = f"id {ref}" if isinstance(ref, int) else f"with URI {ref!r}"
        return lookup._by_reference("artifact", 0, record, Artifact, what).artifact

    def close(self) -> None:
        self.outbox.final_attempt()
        self.transport.close()


def connect(
    url: str | os.PathLike[str] | None = None,
    *,
    spool_dir: str | os.PathLike[str] | None = None,
) -> Client:
    """Connect to a store and make it the default for ``start_run`` and ``@lineage.step``.

    ``url``: ``grpc://host:port`` (a ``lineage serve`` server), a directory (the embedded
    store there), or a database URL; by default ``LINEAGE_URL``, else the embedded store
    in ``./lineage-data``. Reports waiting in the spool for that store are replayed now.
    """
    global _default
    client = Client(url, spool_dir=spool_dir)
    with _default_lock:
        _default = client
    return client


def default_client() -> Client:
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default


def start_run(pipeline: str | None = None, name: str | None = None, *, cache: bool = True) -> Any:
    """A run of ``pipeline`` named ``name`` (generated when not given) on the default
    client; use it as a context manager. ``cache=False`` runs every step."""
    return default_client().start_run(pipeline, name, cache=cache)


def get_artifact(ref: int | str) -> Artifact:
    return default_client().get_artifact(ref)


def sync(url: str | None = None, *, spool_dir: str | None = None) -> SyncStats:
    """Replay every spooled report, each to the store it was meant for (or all to
    ``url``), in order, exactly once each."""
    spool = Spool(Path(spool_dir) if spool_dir else config.spool_dir(), config.spool_max_bytes())
    clients: dict[str, Client] = {}

    def client_for(target: str) -> Client:
        if target not in clients:
            clients[target] = Client(target, spool_dir=spool_dir, replay=False, probe_timeout=1.0)
        return clients[target]

    stats = SyncStats()
    try:
        for each in list(dict.fromkeys(e.url for e in spool.pending())):
            outbox = Outbox(client_for(url or each).transport, spool)
            part = outbox.replay(each)
            stats.sent += part.sent
            stats.already += part.already
            stats.failed += part.failed
            stats.left += part.left
            stats.failures += part.failures
        stats.failed += len(spool.unreadable)
        stats.failures += spool.unreadable
    finally:
        for client in clients.values():
            client.transport.close()
    return stats
