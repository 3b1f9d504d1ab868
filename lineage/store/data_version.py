"""Has anything been committed since? SQLite answers cheaply; other backends do not.

``PRAGMA data_version`` on one connection changes whenever another connection (another
thread's, another process's: MLMD's own library on the same file included) commits to
the database. Asked on an idle connection kept for nothing else, it becomes a token for
the whole database: two equal tokens mean nothing was committed between them. That lets
a server keep answers it prepared and hand them out only while they are still true.

PostgreSQL and MySQL have no such counter: there is no token (``None``), and callers
must not reuse an answer across calls.
"""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy import Engine


class DataVersion:
    """The data_version of one SQLite file, asked on a connection of its own."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closed = False

    def token(self) -> int | None:
        """The current version; ``None`` when SQLite cannot say right now (treat as changed)."""
        with self._lock:
            if self._closed:
                return None
            try:
                if self._conn is None:
                    # Autocommit and never written through: every PRAGMA sees the latest
                    # commit (a transaction left open would pin an old snapshot).
                    self._conn = sqlite3.connect(
                        self._path, isolation_level=None, check_same_thread=False, timeout=0
                    )
                row = self._conn.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error:  # busy (rollback journal mid-commit), file gone...
                return None
            return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def data_version_of(engine: Engine) -> DataVersion | None:
    """A DataVersion for a SQLite file database; ``None`` for anything else."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None  # URI filenames (shared memory databases, options): not worth parsing
    return DataVersion(database)
