"""Database engines: one place that knows each backend's connection settings.

SQLite runs in WAL mode with a busy timeout and takes its write lock at BEGIN
(``BEGIN IMMEDIATE``), so two writers queue instead of failing half way through a
transaction. PostgreSQL and MySQL use their defaults with a pre-ping pool.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from lineage.errors import InvalidArgument, NotFound
from lineage.store.schema import binary_collation

DEFAULT_DATA_DIR = Path("lineage-data")
DEFAULT_DATABASE_FILE = "metadata.sqlite"


def default_database_url(data_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR) -> str:
    return f"sqlite:///{Path(data_dir).resolve() / DEFAULT_DATABASE_FILE}"


def describe_url(url: str) -> str:
    """The URL with any password hidden, for logs and banners."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def driver_reason(exc: DBAPIError) -> str:
    """The first line of what the database driver said (its class name if nothing)."""
    lines = str(exc.orig).strip().splitlines() if exc.orig is not None else []
    return lines[0] if lines else type(exc.orig if exc.orig is not None else exc).__name__


def database_failure(url: str, exc: DBAPIError) -> str:
    """One line on a database error at startup: 'cannot reach' when the server could
    not be connected to, 'cannot open' for anything else (a migration, permissions)."""
    reason = driver_reason(exc)
    unreachable = exc.connection_invalidated or "connect" in reason.lower()
    return f"cannot {'reach' if unreachable else 'open'} the database {describe_url(url)}: {reason}"


def make_engine(url: str, *, existing: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url``. With ``existing``, a SQLite file that is not there is an
    error (NotFound) instead of a new empty database: for commands that only read."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidArgument(f"not a database URL: {url!r} ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if existing and _is_file(parsed.database) and not Path(str(parsed.database)).exists():
            raise NotFound(f"no SQLite database at {parsed.database}")
        return _sqlite_engine(url, parsed.database, **kwargs)
    if backend not in ("postgresql", "mysql", "mariadb"):
        raise InvalidArgument(
            f"unsupported database {backend!r}: use sqlite, postgresql+psycopg or mysql+pymysql"
        )
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    if backend in ("mysql", "mariadb"):
        options["isolation_level"] = "READ COMMITTED"
        options["connect_args"] = {"charset": "utf8mb4"}
    options.update(kwargs)
    engine = _create_engine(url, options)
    if backend in ("mysql", "mariadb"):
        event.listen(engine, "connect", _binary_literals)
    return engine


def _binary_literals(dbapi_connection: Any, _record: Any) -> None:
    """String literals and parameters in the tables' binary collation: with the server's
    default (``utf8mb4_general_ci``) ``'a' < 'B'`` is true, and MariaDB's optimizer
    takes ``name BETWEEN 'A' AND 'a'`` for ``name = 'A'``."""
    info = str(dbapi_connection.get_server_info())
    version = tuple(int(p) for p in re.findall(r"\d+", info.split("-")[0])[:3])
    collation = binary_collation("mariadb" in info.lower(), version)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"SET NAMES utf8mb4 COLLATE {collation}")
    cursor.close()


def _create_engine(url: str, options: dict[str, Any]) -> Engine:
    """``create_engine``, with a driver that is unknown or not installed as a clear error."""
    try:
        return create_engine(url, **options)
    except (NoSuchModuleError, ImportError) as exc:
        raise InvalidArgument(
            f"cannot use the database driver of {describe_url(url)}: {exc} "
            "(use sqlite, postgresql+psycopg or mysql+pymysql)"
        ) from None


def _is_file(database: str | None) -> bool:
    """Whether a SQLite URL's database is a plain file path (not memory or a file: URI)."""
    return bool(database) and database != ":memory:" and not str(database).startswith("file:")


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and _is_file(database):
        directory = Path(database).parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidArgument(
                f"cannot create the directory {directory} for the SQLite database: "
                f"{exc.strerror or exc}"
            ) from None
    options: dict[str, Any] = {
        "connect_args": {"timeout": 30, "check_same_thread": False},
        # The connection used last has SQLite's page and statement caches warm.
        "pool_use_lifo": True,
    }
    options.update(kwargs)
    engine = _create_engine(url, options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers (marked by read_only()) begin deferred, so WAL lets them run beside a writer.
        # Straight to the driver: this runs before every transaction.
        driver = connection.connection.driver_connection
        read_only = connection.get_execution_options().get("lineage_read_only")
        statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        try:
            driver.execute(statement)
        except connection.dialect.loaded_dbapi.Error as exc:  # e.g. locked past busy_timeout
            raise DBAPIError.instance(
                statement, None, exc, connection.dialect.loaded_dbapi.Error, dialect=engine.dialect
            ) from exc

    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine, for transactions that only read.

    A read runs several statements (nodes, then their properties; a lineage walk, then
    its nodes): on PostgreSQL and MySQL it takes one snapshot for all of them, or a
    write committing in between would show half of it. SQLite's deferred BEGIN already
    reads one snapshot."""
    if is_sqlite(engine):
        return engine.execution_options(lineage_read_only=True)
    return engine.execution_options(lineage_read_only=True, isolation_level="REPEATABLE READ")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
