"""Delivering reports: send now, or spool and replay later, in order, exactly once.

Every report goes through :meth:`Outbox.submit`. Under the spool's lock it first
replays what is waiting for the same store (so reports arrive in the order they were
made: a step's inputs may refer to an output an earlier, spooled report creates), then
uploads the report's files and sends it. When the store is unreachable the report and
copies of its files go to the spool, with a warning saying how to replay them
(``lineage sync``, or any later connection). When even the spool cannot take it (disk or
quota full) the report is kept in memory and retried with every later report and at
exit, with a warning that says what to free; only if it still cannot go anywhere when
the process ends is it reported lost, loudly.
"""

from __future__ import annotations

import atexit
import threading
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from lineage import errors
from lineage.steps import StepReport, StepResult

from .errors import BlobWarning, SpoolFullWarning, SpoolWarning
from .spool import PendingUpload, Spool, SpoolEntry, SpoolFull
from .transport import Transport

_outboxes: weakref.WeakSet[Outbox] = weakref.WeakSet()


@dataclass
class Delivery:
    """What became of a report: ``result`` when the store recorded it now."""

    result: StepResult | None = None
    spooled: bool = False
    held: bool = False  # neither sent nor spooled: kept in memory for a later retry


@dataclass
class SyncStats:
    sent: int = 0
    already: int = 0  # the store had recorded them before (replayed twice: written once)
    failed: int = 0
    left: int = 0
    failures: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"replayed {self.sent} report(s)"]
        if self.already:
            parts.append(f"{self.already} of them already recorded")
        if self.failed:
            parts.append(f"{self.failed} refused (kept in the spool's failed/ folder)")
        if self.left:
            parts.append(f"{self.left} still waiting (store unreachable)")
        return ", ".join(parts)


@dataclass
class _Held:
    report: StepReport
    uploads: list[PendingUpload]
    what: str


class Outbox:
    def __init__(self, transport: Transport, spool: Spool) -> None:
        self.transport = transport
        self.spool = spool
        self.url = transport.target.url
        self._held: list[_Held] = []
        self._lock = threading.RLock()
        self._warned_offline = False
        self._warned_no_blobs = False
        # True after a report could not be sent, until one is: callers skip lookups
        # (the cache) that would only wait for the same unreachable store.
        self.offline = False
        _outboxes.add(self)

    # -- sending ---------------------------------------------------------------------

    def _send(
        self,
        report: StepReport,
        uploads: list[PendingUpload],
        transport: Transport | None = None,
    ) -> StepResult:
        transport = transport or self.transport
        for upload in uploads:
            items = report.outputs if upload.side == "outputs" else report.inputs
            record = items[upload.position].artifact
            if record.blob is not None and record.blob.uri:
                continue  # uploaded on an earlier attempt
            blob = transport.upload(Path(upload.path), upload.sha256, upload.size)
            if blob is None:
                if not self._warned_no_blobs:
                    self._warned_no_blobs = True
                    warnings.warn(
                        f"{transport.target.describe()} takes no artifact bytes (no blob "
                        "service): artifacts are recorded with their URIs only, and the files "
                        "of step outputs stay where they were written; upgrade the server to "
                        "store their bytes",
                        BlobWarning,
                        stacklevel=4,
                    )
                continue
            record.blob = blob
            if upload.set_uri:
                record.uri = blob.uri
        return transport.report(report)

    def submit(self, report: StepReport, uploads: list[PendingUpload], what: str) -> Delivery:
        """Deliver a report (see the module docstring); never raises for an unreachable
        store. A report the store refuses raises its error (InvalidArgument, NotFound...)."""
        with self._lock, self.spool.lock() as locked:
            if locked:
                self._replay_locked(self.url, SyncStats(), self.transport)
            self._retry_held()
            waiting = self._held or (locked and self.spool.count(self.url) > 0)
            if not waiting:
                try:
                    delivered = Delivery(result=self._send(report, uploads))
                    self.offline = False
                    return delivered
                except errors.Unavailable as exc:
                    reason = exc.message
            else:
                reason = "earlier reports to the same store are still waiting"
            return self._keep(report, uploads, what, reason)

    def _keep(
        self, report: StepReport, uploads: list[PendingUpload], what: str, reason: str
    ) -> Delivery:
        self.offline = True
        try:
            self.spool.add(self.url, report, uploads, what)
        except SpoolFull as exc:
            self._held.append(_Held(report, uploads, what))
            warnings.warn(
                f"lineage: the report of {what} could not be sent ({reason}) and the spool "
                f"cannot take it: {exc.strerror or exc}. It is kept in memory and retried with "
                "the next report and when this process exits; free space in "
                f"{self.spool.root} or raise LINEAGE_REPORT_SPOOL_MAX_MB, or bring "
                f"{self.transport.target.describe()} back, or it will be lost at exit.",
                SpoolFullWarning,
                stacklevel=3,
            )
            return Delivery(held=True)
        if not self._warned_offline:
            self._warned_offline = True
            warnings.warn(
                f"lineage: {reason}; the report of {what} was spooled to {self.spool.root} "
                f"(and so will the next ones). They are replayed on the next connection to "
                f"{self.url}, or run `lineage sync`.",
                SpoolWarning,
                stacklevel=3,
            )
        return Delivery(spooled=True)

    def _retry_held(self) -> None:
        while self._held:
            held = self._held[0]
            try:
                self._send(held.report, held.uploads)
            except errors.Unavailable:
                try:
                    self.spool.add(self.url, held.report, held.uploads, held.what)
                except SpoolFull:
                    return
            except errors.LineageError as exc:
                warnings.warn(
                    f"lineage: the store refused the report of {held.what}: {exc.message}",
                    SpoolFullWarning,
                    stacklevel=4,
                )
            self._held.pop(0)

    @property
    def held(self) -> int:
        return len(self._held)

    # -- replaying -------------------------------------------------------------------

    def replay(self, url: str | None = None, *, lock_timeout: float = 120.0) -> SyncStats:
        """Replay the reports waiting for ``url`` (default: this outbox's store), in
        order, through this outbox's transport; stop at the first the store cannot take
        now (they stay, in order)."""
        stats = SyncStats()
        target = url or self.url
        with self._lock, self.spool.lock(lock_timeout) as locked:
            if not locked:
                stats.left = self.spool.count(target)
                return stats
            self._retry_held()
            self._replay_locked(target, stats, self.transport)
            self.spool.collect_blobs()
        return stats

    def _replay_locked(self, url: str, stats: SyncStats, transport: Transport) -> None:
        entries = self.spool.pending(url)
        for i, entry in enumerate(entries):
            try:
                result = self._send(entry.report, entry.uploads, transport)
            except errors.Unavailable:
                stats.left += len(entries) - i
                return
            except errors.LineageError as exc:
                self._refused(entry, exc, stats)
                continue
            self.spool.remove(entry)
            stats.sent += 1
            if result.replayed:
                stats.already += 1
        if entries:
            self.spool.collect_blobs()

    def _refused(self, entry: SpoolEntry, exc: errors.LineageError, stats: SyncStats) -> None:
        where = self.spool.fail(entry, f"{exc.code}: {exc.message}")
        stats.failed += 1
        message = f"the report of {entry.what} was refused by the store: {exc.message} ({where})"
        stats.failures.append(message)
        warnings.warn(f"lineage: {message}", SpoolWarning, stacklevel=4)

    # -- exit ------------------------------------------------------------------------

    def final_attempt(self) -> None:
        with self._lock:
            if not self._held:
                return
            self._retry_held()
            if self._held:
                lost = ", ".join(h.what for h in self._held)
                warnings.warn(
                    f"lineage: {len(self._held)} step report(s) LOST ({lost}): "
                    f"{self.transport.target.describe()} was unreachable and the spool "
                    f"{self.spool.root} could not take them. Free space there (or raise "
                    "LINEAGE_REPORT_SPOOL_MAX_MB) before the next run.",
                    SpoolFullWarning,
                    stacklevel=2,
                )
                self._held.clear()


@atexit.register
def _at_exit() -> None:
    for outbox in list(_outboxes):
        try:
            outbox.final_attempt()
        except Exception as exc:  # noqa: BLE001 - never fail an exiting interpreter
            warnings.warn(f"lineage: at exit: {exc}", SpoolFullWarning, stacklevel=1)
