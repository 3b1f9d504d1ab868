"""SQLite write-ahead-log checkpoints, run off the request path.

SQLite copies its write-ahead log back into the database file ("checkpoint") inside
whichever commit takes the log past 1,000 pages, and with ``synchronous=NORMAL`` that
checkpoint is where the fsyncs happen. Measured on a PutExecution workload it was a
quarter of each call's time on average, paid in full by the unlucky call that crossed
the line. A server hands the work to a background thread instead: a PASSIVE checkpoint
every half second, which never waits for readers nor blocks writers (SQLite releases
the GIL while it runs). Commits still checkpoint by themselves past a much longer log,
so a stalled thread cannot let the log grow without bound.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

BACKSTOP_PAGES = 10_000  # ~40 MB of log before a commit checkpoints by itself
_MODES = ("PASSIVE", "TRUNCATE")


class WalCheckpointer:
    """Background checkpoints for one SQLite engine; ``stop()`` leaves the log empty."""

    def __init__(self, engine: Engine, interval: float = 0.5) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("WAL checkpoints are a SQLite matter")
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        event.listen(self.engine, "connect", _raise_autocheckpoint)
        # Connections opened before (migrations) do not have the setting: drop them.
        self.engine.dispose()
        self._thread = threading.Thread(target=self._run, name="lineage-wal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        try:
            self.checkpoint("TRUNCATE")
        except Exception:  # nothing is lost: SQLite replays the log on the next open
            log.warning("final WAL checkpoint failed; the log is kept", exc_info=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint("PASSIVE")
            except Exception:  # the next round, or a commit's own checkpoint, catches up
                log.warning("WAL checkpoint failed", exc_info=True)

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """Run one checkpoint: (busy, log frames, frames copied), as SQLite reports."""
        if mode not in _MODES:
            raise ValueError(f"checkpoint mode is one of {_MODES}")
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(f"PRAGMA wal_checkpoint({mode})")
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()
        busy, frames, copied = row if row is not None else (0, 0, 0)
        return int(busy), int(frames), int(copied)


def _raise_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
    finally:
        cursor.close()
