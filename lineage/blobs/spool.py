"""Spool files for uploads whose checksum is not known yet, reused between uploads.

An upload is spooled to an anonymous temporary file while it is hashed, then uploaded
from there (``s3.py``). A new file costs more than its write: every page of it is a page
the kernel allocates, and on a virtual machine a page the guest has not touched lately is
one the host must fault in too. Measured here (KVM, ext4): writing 256 MiB into a fresh
temporary file runs at 0.4 GB/s when those pages are cold, rewriting a file that still has
them at 4.8-9 GB/s. So a finished upload's file goes back to a small pool, truncated to at
most ``keep_bytes``, and the next upload rewrites it from the start: its pages stay in the
page cache instead of being freed and faulted in again.

The pool holds at most ``keep_files`` idle files of at most ``keep_bytes`` each (local
disk the server keeps in use while idle, in ``spool_dir``; the files are unlinked, so
nothing is visible there and they vanish with the process). Uploads beyond that many at
once get files of their own, closed afterwards. A file an upload failed with is closed,
not reused.
"""

from __future__ import annotations

import tempfile
import threading
from typing import IO

__all__ = ["DEFAULT_KEEP_BYTES", "SpoolPool"]

MiB = 1024 * 1024
#: Largest idle spool file kept for the next upload (bytes beyond are freed).
DEFAULT_KEEP_BYTES = 512 * MiB


class SpoolPool:
    """Anonymous temporary files for spooling, handed out one per upload."""

    def __init__(
        self,
        spool_dir: str | None = None,
        *,
        keep_files: int = 2,
        keep_bytes: int = DEFAULT_KEEP_BYTES,
    ) -> None:
        self.spool_dir = spool_dir
        self.keep_files = max(0, keep_files)
        self.keep_bytes = max(0, keep_bytes)
        self._idle: list[IO[bytes]] = []
        self._lock = threading.Lock()

    def take(self) -> IO[bytes]:
        """A file positioned at its start; it may hold a previous upload's bytes past
        where this one's end: call ``written`` when the upload has been spooled."""
        with self._lock:
            f = self._idle.pop() if self._idle else None
        if f is None:
            f = tempfile.TemporaryFile(dir=self.spool_dir, prefix="lineage-blob-")  # noqa: SIM115
        f.seek(0)
        return f

    @staticmethod
    def written(f: IO[bytes]) -> None:
        """Cut the file at the current position (drop a longer previous upload's rest)
        and flush it, so it holds exactly this upload's bytes."""
        f.truncate()
        f.flush()

    def give_back(self, f: IO[bytes], *, reusable: bool = True) -> None:
        """Done with ``f``: keep it for the next upload, or close it."""
        if reusable and not f.closed:
            try:
                if f.seek(0, 2) > self.keep_bytes:
                    f.truncate(self.keep_bytes)
            except OSError:
                reusable = False
            else:
                with self._lock:
                    if len(self._idle) < self.keep_files:
                        self._idle.append(f)
                        return
        f.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for f in idle:
            f.close()
