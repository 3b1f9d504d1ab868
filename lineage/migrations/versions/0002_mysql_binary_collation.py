"""MySQL/MariaDB: our tables and MLMD's compare strings byte for byte.

Their default collations (``utf8mb4_general_ci``...) are case- and accent-insensitive
and pad with spaces: names differing only there ('Model' / 'model' / 'model ', two
emoji) were the same name on these servers but not on SQLite or PostgreSQL, so lookups
found other nodes and unique keys refused distinct ones (ALREADY_EXISTS). Each table is
converted to utf8mb4 with the binary NO PAD collation (``schema.mysql_collation``) that
0001 now creates new tables with; an MLMD-created database is converted the same way
(its values only gain distinctness, so no unique key can break). Other backends: nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from lineage.store import schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name not in ("mysql", "mariadb"):
        return
    collation = schema.mysql_collation(bind.dialect)
    for table in [*schema.MLMD_TABLES, *schema.OWN_TABLES]:
        other = bind.execute(
            sa.text(
                "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME = :t AND COLLATION_NAME IS NOT NULL AND COLLATION_NAME <> :c"
            ),
            {"t": table.name, "c": collation},
        ).scalar()
        if other:
            bind.execute(
                sa.text(
                    f"ALTER TABLE `{table.name}` CONVERT TO CHARACTER SET utf8mb4 "
                    f"COLLATE {collation}"
                )
            )


def downgrade() -> None:
    pass  # the binary collation stays: going back could make stored names collide
