"""Bring a database to the current schema with Alembic (ours sits beside MLMD's)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from lineage.errors import FailedPrecondition

VERSION_TABLE = "lineage_alembic_version"


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
    """Create or adopt the schema, then apply every migration not yet applied."""
    if current_revision(engine) == head_revision():
        return
    config = _config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except RuntimeError as exc:
        raise FailedPrecondition(str(exc)) from None
