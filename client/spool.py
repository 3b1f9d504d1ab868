"""The local spool: reports that could not be delivered wait here, with their bytes.

Layout (``LINEAGE_REPORT_SPOOL_DIR``, default ``~/.local/state/lineage/spool``)::

    pending/<time>-<pid>-<n>.json   one report each, replayed in name (= time) order
    blobs/<sha256>                  bytes of the outputs those reports still have to upload
    failed/<...>.json               reports the store refused on replay, with the reason
    lock                            one replaying process at a time (flock)

Every file is written to a temporary name, flushed to disk and renamed, so a crash
leaves either a whole entry or none. Replays are safe to repeat: each report carries an
idempotency key, so the store records it once however often it arrives.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.steps import StepReport

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process at a time is up to the user
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 1
_counter = 0
_counter_lock = threading.Lock()


class SpoolFull(OSError):
    """The spool's disk or quota cannot take a report."""


@dataclass
class PendingUpload:
    """A file the report still has to upload before it is sent."""

    side: str  # "inputs" or "outputs"
    position: int  # index into report.inputs / report.outputs
    path: str
    sha256: str
    size: int
    set_uri: bool  # the artifact's uri becomes the blob's (SDK outputs); else kept (KFP)

    def to_dict(self, path: str | None = None) -> dict[str, Any]:
        return {
            "side": self.side,
            "position": self.position,
            "path": path if path is not None else self.path,
            "sha256": self.sha256,
            "size": self.size,
            "set_uri": self.set_uri,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingUpload:
        return cls(
            side=data["side"],
            position=int(data["position"]),
            path=data["path"],
            sha256=data["sha256"],
            size=int(data["size"]),
            set_uri=bool(data.get("set_uri", True)),
        )


@dataclass
class SpoolEntry:
    path: Path
    url: str
    created_ms: int
    what: str
    report: StepReport
    uploads: list[PendingUpload]


def _next_name() -> str:
    global _counter
    with _counter_lock:
        _counter += 1
        n = _counter
    return f"{time.time_ns():020d}-{os.getpid()}-{n:06d}"


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class Spool:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.pending_dir = self.root / "pending"
        self.blobs_dir = self.root / "blobs"
        self.failed_dir = self.root / "failed"
        self._thread_lock = threading.RLock()
        self.unreadable: list[str] = []  # entries pending() moved to failed/, why and where

    # -- locking -------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float = 120.0) -> Iterator[bool]:
        """Hold the spool (threads and processes); yields False if it could not be had
        in ``timeout`` seconds (the caller then goes on without it)."""
        with self._thread_lock:
            if fcntl is None:
                yield True
                return
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                handle = open(self.root / "lock", "a+b")  # noqa: SIM115 - closed below
            except OSError:
                yield False
                return
            got = False
            deadline = time.monotonic() + timeout
            try:
                while True:
                    try:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                        got = True
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            break
                        time.sleep(0.05)
                yield got
            finally:
                if got:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
                handle.close()

    # -- reading -------------------------------------------------------------------

    def pending(self, url: str | None = None) -> list[SpoolEntry]:
        """Waiting entries in replay order (all, or those for ``url``)."""
        if not self.pending_dir.is_dir():
            return []
        entries = []
        for path in sorted(self.pending_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text())
                entry = SpoolEntry(
                    path=path,
                    url=data["url"],
                    created_ms=int(data.get("created_ms") or 0),
                    what=data.get("what") or "",
                    report=StepReport.from_dict(data["report"]),
                    uploads=[PendingUpload.from_dict(u) for u in data.get("uploads") or ()],
                )
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                reason = f"unreadable spool entry: {type(exc).__name__}: {exc}"
                target = self._quarantine(path, reason)
                self.unreadable.append(f"{path.name}: {reason} (moved to {target})")
                continue
            if url is None or entry.url == url:
                entries.append(entry)
        return entries

    def count(self, url: str | None = None) -> int:
        return len(self.pending(url))

    def size(self) -> int:
        total = 0
        for directory in (self.pending_dir, self.blobs_dir):
            if directory.is_dir():
                for path in directory.iterdir():
                    with contextlib.suppress(OSError):
                        total += path.stat().st_size
        return total

    # -- writing -------------------------------------------------------------------

    def add(
        self, url: str, report: StepReport, uploads: list[PendingUpload], what: str
    ) -> SpoolEntry:
        """Keep a report (and copies of the files it uploads). SpoolFull when the disk
        or ``LINEAGE_REPORT_SPOOL_MAX_MB`` cannot take it; nothing is left behind then."""
        try:
            self.pending_dir.mkdir(parents=True, exist_ok=True)
            self.blobs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolFull(exc.errno, f"cannot create the spool {self.root}: {exc}") from exc
        new_blobs = [u for u in uploads if not (self.blobs_dir / u.sha256).exists()]
        needed = sum(u.size for u in {u.sha256: u for u in new_blobs}.values()) + 64 * 1024
        used = self.size()
        if used + needed > self.max_bytes:
            raise SpoolFull(
                errno.ENOSPC,
                f"the spool {self.root} holds {used / 1e6:.1f} MB and this report needs "
                f"{needed / 1e6:.1f} MB more, over its limit of {self.max_bytes / 1e6:.1f} MB "
                "(LINEAGE_REPORT_SPOOL_MAX_MB)",
            )
        written: list[Path] = []
        try:
            for upload in new_blobs:
                target = self.blobs_dir / upload.sha256
                if target.exists():
                    continue
                tmp = self.blobs_dir / f".part-{_next_name()}"
                written.append(tmp)
                try:
                    os.link(upload.path, tmp)
                except OSError:
                    shutil.copyfile(upload.path, tmp)
                    with open(tmp, "rb+") as handle:
                        os.fsync(handle.fileno())
                os.replace(tmp, target)
                written[-1] = target
            name = _next_name()
            final = self.pending_dir / f"{name}.json"
            tmp = self.pending_dir / f".part-{name}"
            data: dict[str, Any] = {
                "version": FORMAT_VERSION,
                "url": url,
                "created_ms": int(time.time() * 1000),
                "what": what,
                "report": report.to_dict(),
                "uploads": [u.to_dict(path=str(self.blobs_dir / u.sha256)) for u in uploads],
            }
            written.append(tmp)
            with open(tmp, "w") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
            _fsync_dir(self.pending_dir)
        except OSError as exc:
            for path in written:
                if path.name.startswith(".part-") or not self._blob_referenced(path.name):
                    with contextlib.suppress(OSError):
                        path.unlink()
            if isinstance(exc, SpoolFull):
                raise
            if _full(exc):
                raise SpoolFull(exc.errno, f"the spool disk is full ({self.root}): {exc}") from exc
            raise SpoolFull(exc.errno, f"cannot write to the spool {self.root}: {exc}") from exc
        return SpoolEntry(
            path=final,
            url=url,
            created_ms=data["created_ms"],
            what=what,
            report=report,
            uploads=[PendingUpload.from_dict(u) for u in data["uploads"]],
        )

    def remove(self, entry: SpoolEntry) -> None:
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()

    def fail(self, entry: SpoolEntry, reason: str) -> Path:
        """Move an entry the store refused to ``failed/``, with the reason."""
        return self._quarantine(entry.path, reason)

    def _quarantine(self, path: Path, reason: str) -> Path:
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        target = self.failed_dir / path.name
        with contextlib.suppress(OSError):
            os.replace(path, target)
            (self.failed_dir / (path.stem + ".reason.txt")).write_text(reason + "\n")
        return target

    def _blob_referenced(self, sha256: str) -> bool:
        return any(u.sha256 == sha256 for e in self.pending() for u in e.uploads)

    def collect_blobs(self) -> None:
        """Delete spooled bytes no waiting entry needs any more."""
        if not self.blobs_dir.is_dir():
            return
        needed = {u.sha256 for e in self.pending() for u in e.uploads}
        for path in self.blobs_dir.iterdir():
            if path.name not in needed and not path.name.startswith(".part-"):
                with contextlib.suppress(OSError):
                    path.unlink()
