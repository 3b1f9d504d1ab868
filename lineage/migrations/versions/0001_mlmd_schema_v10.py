"""MLMD schema version 10, or adopt a database MLMD already created.

A database written by MLMD's own library already holds every MLMD table at schema
version 10: it is adopted in place (only our own tables and extra indexes are added),
so MLMD's library still opens it afterwards. An empty database gets MLMD's tables, its
``MLMDEnv`` row and the nine simple types MLMD seeds (ids 1-9, which MLMD's
``base_type`` links refer to).

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from lineage.store import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# MLMD's SystemDefinedBaseType rows: (id, name, type_kind).
SIMPLE_TYPES = [
    (1, "mlmd.Dataset", 1),
    (2, "mlmd.Model", 1),
    (3, "mlmd.Metrics", 1),
    (4, "mlmd.Statistics", 1),
    (5, "mlmd.Train", 0),
    (6, "mlmd.Transform", 0),
    (7, "mlmd.Process", 0),
    (8, "mlmd.Evaluate", 0),
    (9, "mlmd.Deploy", 0),
]


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    if "MLMDEnv" in existing:
        version = bind.execute(sa.select(schema.mlmd_env_table.c.schema_version)).scalar()
        if version != schema.SCHEMA_VERSION:
            raise RuntimeError(
                f"this database has MLMD schema version {version}; Lineage needs version "
                f"{schema.SCHEMA_VERSION}. Upgrade it first with MLMD's own library "
                "(MetadataStore with enable_upgrade_migration=True)."
            )
        missing = [t.name for t in schema.MLMD_TABLES if t.name not in existing]
        if missing:
            raise RuntimeError(f"MLMD database is missing tables: {', '.join(missing)}")
    else:
        schema.metadata.create_all(bind, tables=schema.MLMD_TABLES)
        bind.execute(schema.mlmd_env_table.insert(), [{"schema_version": schema.SCHEMA_VERSION}])
        bind.execute(
            schema.type_table.insert(),
            [{"id": i, "name": n, "type_kind": k} for i, n, k in SIMPLE_TYPES],
        )
        if bind.dialect.name == "postgresql":
            bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('\"Type\"', 'id'), 9)"))
    schema.metadata.create_all(bind, tables=schema.OWN_TABLES, checkfirst=True)
    # Our extra indexes on MLMD's tables (an MLMD-created database lacks them).
    for table in schema.MLMD_TABLES:
        present = {ix["name"] for ix in sa.inspect(bind).get_indexes(table.name)}
        for index in table.indexes:
            if index.name and index.name.startswith("lineage_") and index.name not in present:
                index.create(bind)


def downgrade() -> None:
    for table in schema.OWN_TABLES:
        table.drop(op.get_bind(), checkfirst=True)
