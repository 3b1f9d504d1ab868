"""How reports reach a store: in this process (embedded) or over gRPC (``grpc_transport``).

A transport raises :class:`lineage.errors.Unavailable` when the store cannot be reached
now (the SDK spools the report and replays it later) and the other ``LineageError``
classes for reports the store refuses (replaying them would not help).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from lineage.steps import ArtifactRecord, CachedStep, StepBlob, StepReport, StepResult

from .config import Target

if TYPE_CHECKING:
    from lineage.blobs import BlobStore
    from lineage.store.store import Store


class Transport:
    """The operations the SDK needs from a store."""

    target: Target

    def report(self, report: StepReport) -> StepResult:
        raise NotImplementedError

    def find_cached(self, cache_key: str) -> CachedStep | None:
        raise NotImplementedError

    def resolve(self, refs: list[ArtifactRecord]) -> list[ArtifactRecord | None]:
        raise NotImplementedError

    def upload(self, path: Path, sha256: str, size: int) -> StepBlob | None:
        """Store the file's bytes; None when the store takes no blobs."""
        raise NotImplementedError

    def download(self, blob: StepBlob, artifact_id: int, handle: BinaryIO) -> None:
        """Write the blob's bytes to ``handle`` (the caller checks them)."""
        raise NotImplementedError

    def reachable(self, timeout: float) -> bool:
        return True

    def close(self) -> None:
        pass


class EmbeddedTransport(Transport):
    """The store in this process: a database (SQLite by default) and a blob store."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._store: Store | None = None
        self._blobs: BlobStore | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                from lineage.store.store import Store

                self._store = Store.open(self.target.database_url)
            return self._store

    @property
    def blobs(self) -> BlobStore:
        with self._lock:
            if self._blobs is None:
                from lineage.blobs import open_blob_store

                self._blobs = open_blob_store(self.target.blob_store)
            return self._blobs

    def report(self, report: StepReport) -> StepResult:
        from lineage.steps import record_step

        return record_step(self.store, report)

    def find_cached(self, cache_key: str) -> CachedStep | None:
        from lineage.steps import find_cached_step

        cached = self.store.read(lambda c: find_cached_step(c, cache_key))
        return cached.check_blobs(self.blobs.exists) if cached is not None else None

    def resolve(self, refs: list[ArtifactRecord]) -> list[ArtifactRecord | None]:
        from lineage.steps import resolve_artifacts

        return self.store.read(lambda c: resolve_artifacts(c, refs))

    def upload(self, path: Path, sha256: str, size: int) -> StepBlob | None:
        with open(path, "rb") as handle:
            ref = self.blobs.put(handle, expected_sha256=sha256, expected_size=size)
        return StepBlob(ref.sha256, ref.size, ref.uri, blake3=ref.blake3)

    def download(self, blob: StepBlob, artifact_id: int, handle: BinaryIO) -> None:
        with self.blobs.open(blob.sha256, size=blob.size or None) as reader:
            for chunk in reader:
                handle.write(chunk)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            if self._blobs is not None:
                self._blobs.close()
                self._blobs = None


def make_transport(target: Target) -> Transport:
    if target.kind == "grpc":
        from .grpc_transport import GrpcTransport

        return GrpcTransport(target)
    return EmbeddedTransport(target)


def describe(transport: Any) -> str:
    target = getattr(transport, "target", None)
    return target.describe() if isinstance(target, Target) else repr(transport)
