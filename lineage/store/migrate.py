"""Bring a database to the current schema with Alembic (ours sits beside MLMD's)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from lineage.errors import FailedPrecondition, Unavailable

VERSION_TABLE = "lineage_alembic_version"
_LOCK_NAME = "lineage_migrate"
_LOCK_KEY = 0x6C696E6561676500  # "lineage\0": the advisory lock of migrations


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "lineage:migrations")
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def upgrade(engine: Engine) -> None:
    """Create or adopt the schema, then apply every migration not yet applied.

    Servers started at once on one new database (replicas) take turns: the first
    migrates, the others then find the schema current."""
    if current_revision(engine) == head_revision():
        return
    config = _config()
    try:
        with engine.begin() as connection, _migrating_alone(connection):
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except RuntimeError as exc:
        raise FailedPrecondition(str(exc)) from None


@contextmanager
def _migrating_alone(connection: Connection) -> Iterator[None]:
    """Hold a database-wide lock while migrating. PostgreSQL: an advisory lock that ends
    with the transaction; MySQL: a named lock (its DDL commits by itself); SQLite: the
    write lock the transaction already took (BEGIN IMMEDIATE)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        yield
        return
    if dialect not in ("mysql", "mariadb"):
        yield
        return
    got = connection.execute(
        text("SELECT GET_LOCK(:name, :seconds)"), {"name": _LOCK_NAME, "seconds": 600}
    ).scalar()
    if got != 1:
        raise Unavailable("another server has been migrating this database for 10 minutes")
    try:
        yield
    finally:
        connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": _LOCK_NAME})
