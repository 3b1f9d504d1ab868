"""Garbage collection of blobs no live artifact references (``lineage gc``).

A blob is live if some artifact whose state is not DELETED (NULL counts as live) has the
custom property ``lineage_sha256`` equal to its sha256. Objects in the store and rows of
``lineage_blob`` that are not live are garbage, as are temporaries of uploads whose process
died. Dry run by default: the report says what would be freed.

Concurrency: ``BlobStore.put`` publishes (or, for identical bytes, touches) the object
before the server records the artifact, so an object whose modification time is within
``grace`` is kept even if nothing references it yet; before deleting, each object is checked
again (referenced now? modified meanwhile?). Pick ``grace`` longer than any upload takes
from its last byte to its commit (default one hour).

Give it an engine (``lineage gc`` does): it reads what is live in one short read
transaction, lists the store outside any transaction, and re-checks and deletes each
object in a short write transaction of its own, so writers (on SQLite, which has one
write lock) wait for one object at a time, never for a whole listing of the bucket.
Given a connection instead, everything runs in the caller's transaction.
Objects are deleted before their rows; a failure leaves rows that the next run removes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine

from lineage.store.engine import read_only
from lineage.store.schema import blob_table

from .base import BlobInfo, BlobStore
from .records import is_live, live_blobs_query

__all__ = ["GcReport", "collect_garbage", "format_size"]

DEFAULT_GRACE = timedelta(hours=1)
DEFAULT_TEMP_GRACE = timedelta(days=1)


def format_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


@dataclass
class GcReport:
    dry_run: bool
    store: str
    grace_seconds: float
    live: int = 0
    objects: list[BlobInfo] = field(default_factory=list)  # unreferenced objects
    records: list[str] = field(default_factory=list)  # lineage_blob rows not live
    temporaries: list[tuple[str, int]] = field(default_factory=list)  # (key, size)
    kept_recent: list[BlobInfo] = field(default_factory=list)  # within the grace period
    missing: list[str] = field(default_factory=list)  # live, but not in the store
    errors: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        """Bytes freed (or, in a dry run, that would be)."""
        return sum(o.size for o in self.objects) + sum(size for _, size in self.temporaries)

    def render(self, *, verbose: bool = True) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        lines = [
            f"Blob store: {self.store}",
            f"Live blobs (referenced by artifacts not DELETED): {self.live}",
            f"Unreferenced objects: {len(self.objects)} ({format_size(sum(o.size for o in self.objects))}), {verb}",
        ]
        if verbose:
            lines += [
                f"  sha256:{o.sha256}  {format_size(o.size):>10}  {o.uri}" for o in self.objects
            ]
        lines.append(f"Unreferenced blob records (lineage_blob rows): {len(self.records)}, {verb}")
        if verbose:
            lines += [f"  sha256:{sha}" for sha in self.records]
        if self.temporaries:
            lines.append(
                f"Leftover temporary uploads: {len(self.temporaries)} "
                f"({format_size(sum(s for _, s in self.temporaries))}), {verb}"
            )
            if verbose:
                lines += [f"  {key}  {format_size(size)}" for key, size in self.temporaries]
        if self.kept_recent:
            lines.append(
                f"Kept: {len(self.kept_recent)} unreferenced objects newer than the grace "
                f"period ({timedelta(seconds=int(self.grace_seconds))})"
            )
        if self.missing:
            lines.append(
                f"WARNING: {len(self.missing)} blobs referenced by live artifacts are missing "
                "from the store:"
            )
            lines += [f"  sha256:{sha}" for sha in self.missing]
        for err in self.errors:
            lines.append(f"ERROR: {err}")
        if self.dry_run:
            lines.append(
                f"Dry run: would free {format_size(self.bytes_freed)}; nothing was deleted "
                "(run with --delete to delete)."
            )
        else:
            lines.append(f"Freed {format_size(self.bytes_freed)}.")
        return "\n".join(lines)


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@contextmanager
def _transaction(db: Engine | Connection, *, writes: bool = True) -> Iterator[Connection]:
    """A short transaction of its own on an engine; the caller's on a connection."""
    if isinstance(db, Connection):
        yield db
        return
    with (db if writes else read_only(db)).begin() as conn:
        yield conn


def collect_garbage(
    db: Engine | Connection,
    blob_store: BlobStore,
    dry_run: bool = True,
    *,
    grace: timedelta | float = DEFAULT_GRACE,
    temp_grace: timedelta | float = DEFAULT_TEMP_GRACE,
    now: float | None = None,
) -> GcReport:
    """Find (and unless ``dry_run``, delete) blobs no live artifact references."""
    now = time.time() if now is None else now
    grace_s, temp_grace_s = _seconds(grace), _seconds(temp_grace)
    report = GcReport(dry_run=dry_run, store=blob_store.describe(), grace_seconds=grace_s)

    with _transaction(db, writes=False) as conn:
        live = {str(sha) for sha in conn.execute(live_blobs_query()).scalars() if sha}
        rows = conn.execute(select(blob_table.c.sha256, blob_table.c.create_time_since_epoch)).all()
    report.live = len(live)

    def recent(modified: float | None, window: float) -> bool:
        return modified is not None and now - modified < window

    stored: set[str] = set()
    candidates: list[BlobInfo] = []
    for info in blob_store.list_objects():
        stored.add(info.sha256)
        if info.sha256 in live:
            continue
        if recent(info.modified, grace_s):
            report.kept_recent.append(info)
        else:
            candidates.append(info)
    report.missing = sorted(live - stored)
    kept = {info.sha256 for info in report.kept_recent}

    row_candidates = [
        r.sha256
        for r in rows
        if r.sha256 not in live
        and r.sha256 not in kept
        and not recent((r.create_time_since_epoch or 0) / 1000.0, grace_s)
    ]

    temporaries = [
        (key, st.size)
        for key, st in blob_store.list_temporaries()
        if not recent(st.modified, temp_grace_s)
    ]

    if dry_run:
        report.objects = candidates
        report.records = sorted(row_candidates)
        report.temporaries = temporaries
        return report

    for info in candidates:
        try:
            # No artifact can start to reference it between the check and the delete.
            with _transaction(db) as conn:
                if is_live(conn, info.sha256):
                    continue  # referenced since the listing
                current = blob_store.stat(info.sha256)
                if current is None:
                    continue
                if recent(current.modified, grace_s):
                    report.kept_recent.append(current)  # uploaded again since the listing
                    row_candidates = [s for s in row_candidates if s != info.sha256]
                    continue
                if blob_store.delete(info.sha256):
                    report.objects.append(info)
        except Exception as exc:  # report and go on with the others
            report.errors.append(f"deleting sha256:{info.sha256}: {exc}")
            row_candidates = [s for s in row_candidates if s != info.sha256]

    for start in range(0, len(row_candidates), 500):
        batch = row_candidates[start : start + 500]
        with _transaction(db) as conn:
            result = conn.execute(
                delete(blob_table).where(
                    blob_table.c.sha256.in_(batch),
                    blob_table.c.sha256.not_in(live_blobs_query()),
                )
            )
            if result.rowcount == len(batch):
                report.records.extend(batch)
            else:  # some became live: report exactly what is gone
                remaining = set(
                    conn.execute(
                        select(blob_table.c.sha256).where(blob_table.c.sha256.in_(batch))
                    ).scalars()
                )
                report.records.extend(s for s in batch if s not in remaining)
    report.records.sort()

    for key, size in temporaries:
        try:
            if blob_store.delete_temporary(key):
                report.temporaries.append((key, size))
        except Exception as exc:
            report.errors.append(f"deleting temporary {key}: {exc}")
    return report
