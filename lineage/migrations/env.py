"""Alembic environment: runs on the connection that ``lineage.store.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from lineage.store.schema import metadata

VERSION_TABLE = "lineage_alembic_version"

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
