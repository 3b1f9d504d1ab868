"""``lineage_blob.blake3``: a second digest of each blob, checked by downloads.

Uploads compute the BLAKE3 of the bytes beside their sha256; reads check it instead of
the sha256 where it is recorded (a third of the CPU). Rows recorded before this revision
keep NULL and are read with the sha256, as before; a later upload of the same bytes fills
it in. A database that 0001 just created already has the column (it creates our tables
from ``schema``): nothing to do then.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("lineage_blob")}
    if "blake3" not in columns:
        op.add_column("lineage_blob", sa.Column("blake3", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("lineage_blob", "blake3")
