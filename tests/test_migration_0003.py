"""Revision 0003 (``lineage_blob.blake3``) on a database recorded before it, on every
backend: the column is added, existing rows keep their values with no BLAKE3 (their
downloads check the sha256), and a new upload of the same bytes fills it in."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from blake3 import blake3

from lineage.blobs import BlobRef, record_blob
from lineage.store.migrate import VERSION_TABLE, current_revision, head_revision
from lineage.store.schema import blob_table
from lineage.store.store import Store


def _as_before_0003(url: str) -> None:
    """Make a current database look like one written by a server at revision 0002."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE lineage_blob DROP COLUMN blake3"))
            conn.execute(
                sa.table(VERSION_TABLE, sa.column("version_num"))
                .update()
                .values(version_num="0002")
            )
            conn.execute(
                sa.text(
                    "INSERT INTO lineage_blob (sha256, size, location, create_time_since_epoch)"
                    " VALUES (:sha, 3, 'file:///old', 1)"
                ),
                {"sha": hashlib.sha256(b"old").hexdigest()},
            )
        assert current_revision(engine) == "0002"
        columns = {c["name"] for c in sa.inspect(engine).get_columns("lineage_blob")}
        assert "blake3" not in columns
    finally:
        engine.dispose()


def test_0003_adds_the_column_and_keeps_old_rows(database_url: str) -> None:
    Store.open(database_url).close()  # a current database
    _as_before_0003(database_url)

    store = Store.open(database_url)  # migrates
    try:
        assert head_revision() == "0003" and current_revision(store.engine) == "0003"
        sha = hashlib.sha256(b"old").hexdigest()
        row = store.read(
            lambda c: c.execute(sa.select(blob_table).where(blob_table.c.sha256 == sha)).one()
        )
        assert (row.size, row.location, row.blake3) == (3, "file:///old", None)

        ref = BlobRef(sha, 3, "file:///old", blake3=blake3(b"old").hexdigest())
        assert store.write(lambda c: record_blob(c, ref)) is False  # there already
        filled = store.read(
            lambda c: c.execute(
                sa.select(blob_table.c.blake3).where(blob_table.c.sha256 == sha)
            ).scalar()
        )
        assert filled == ref.blake3
    finally:
        store.close()
