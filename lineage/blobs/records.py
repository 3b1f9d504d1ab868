"""Blob records in the database: the ``lineage_blob`` table and the artifact properties.

An artifact that owns bytes carries two custom properties, ``lineage_sha256`` (string) and
``lineage_size`` (int); ``lineage_blob`` has one row per stored object (sha256, size,
location). Call these inside the transaction that creates or updates the artifact, after
``BlobStore.put`` returned: if the transaction rolls back, the object stays unreferenced and
``lineage gc`` removes it later; if the upload failed, there is nothing to record.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from lineage.model import ArtifactState
from lineage.store.kinds import ARTIFACT
from lineage.store.nodes import lock_node
from lineage.store.schema import artifact_property_table, artifact_table, blob_table

from .base import BlobRef, normalize_blake3, normalize_sha256

__all__ = [
    "SHA256_PROPERTY",
    "SIZE_PROPERTY",
    "attach_blob",
    "blob_of_artifact",
    "is_live",
    "live_blob_condition",
    "record_blob",
]

SHA256_PROPERTY = "lineage_sha256"
SIZE_PROPERTY = "lineage_size"


def _now_ms() -> int:
    return int(time.time() * 1000)


def record_blob(connection: Connection, ref: BlobRef, *, location: str | None = None) -> bool:
    """Insert the ``lineage_blob`` row of ``ref`` unless there is one; True if inserted.

    One statement that ignores a duplicate key (SQLite and PostgreSQL ``ON CONFLICT DO
    NOTHING``, MySQL/MariaDB ``INSERT IGNORE``), so a concurrent insert of the same sha256
    neither fails nor aborts the caller's transaction. No savepoint: pysqlite's default
    transaction handling would commit it on its own. A row recorded without a BLAKE3
    (before revision 0003) gains ``ref``'s.
    """
    sha = normalize_sha256(ref.sha256)
    b3 = normalize_blake3(ref.blake3) if ref.blake3 is not None else None
    row = {
        "sha256": sha,
        "size": int(ref.size),
        "location": location or ref.uri,
        "create_time_since_epoch": _now_ms(),
        "blake3": b3,
    }
    inserted = _insert_unless_there(connection, sha, row)
    if not inserted and b3 is not None:
        connection.execute(
            update(blob_table)
            .where(blob_table.c.sha256 == sha, blob_table.c.blake3.is_(None))
            .values(blake3=b3)
        )
    return inserted


def _insert_unless_there(connection: Connection, sha: str, row: dict[str, Any]) -> bool:
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        # rowcount is not reliable here (psycopg reports -1): ask for the inserted key.
        make = sqlite_insert if dialect == "sqlite" else pg_insert
        stmt = make(blob_table).values(**row).on_conflict_do_nothing()
        inserted = connection.execute(stmt.returning(blob_table.c.sha256)).first()
        return inserted is not None
    if dialect in ("mysql", "mariadb"):
        result = connection.execute(insert(blob_table).values(**row).prefix_with("IGNORE"))
        return bool(result.rowcount and result.rowcount > 0)
    # Other dialects: look, then insert in a savepoint.
    exists = connection.execute(
        select(blob_table.c.sha256).where(blob_table.c.sha256 == sha)
    ).first()
    if exists is not None:
        return False
    try:
        with connection.begin_nested():
            connection.execute(insert(blob_table).values(**row))
    except IntegrityError:
        return False  # inserted meanwhile by another transaction
    return True


def attach_blob(connection: Connection, artifact_id: int, ref: BlobRef) -> bool:
    """Record ``ref`` on an artifact (its ``lineage_sha256``/``lineage_size`` custom
    properties) and in ``lineage_blob`` (``record_blob``: True if that row is new).
    Replaces a previous blob of the artifact."""
    sha = normalize_sha256(ref.sha256)
    p = artifact_property_table
    # Two uploads to one artifact at once (a retry racing a slow first attempt) take
    # turns on its row; else both delete nothing and the second insert collides.
    lock_node(connection, ARTIFACT, artifact_id)
    connection.execute(
        delete(p).where(
            p.c.artifact_id == artifact_id,
            p.c.is_custom_property == 1,
            p.c.name.in_([SHA256_PROPERTY, SIZE_PROPERTY]),
        )
    )
    connection.execute(
        insert(p),
        [
            {
                "artifact_id": artifact_id,
                "name": SHA256_PROPERTY,
                "is_custom_property": 1,
                "string_value": sha,
                "int_value": None,
            },
            {
                "artifact_id": artifact_id,
                "name": SIZE_PROPERTY,
                "is_custom_property": 1,
                "string_value": None,
                "int_value": int(ref.size),
            },
        ],
    )
    return record_blob(connection, ref)


def blob_of_artifact(connection: Connection, artifact_id: int) -> tuple[str, int | None] | None:
    """(sha256, size) recorded on an artifact, or None if it has no blob."""
    p = artifact_property_table
    rows = connection.execute(
        select(p.c.name, p.c.string_value, p.c.int_value).where(
            p.c.artifact_id == artifact_id,
            p.c.is_custom_property == 1,
            p.c.name.in_([SHA256_PROPERTY, SIZE_PROPERTY]),
        )
    ).all()
    values = {r.name: r for r in rows}
    if SHA256_PROPERTY not in values or not values[SHA256_PROPERTY].string_value:
        return None
    size_row = values.get(SIZE_PROPERTY)
    size = (
        int(size_row.int_value) if size_row is not None and size_row.int_value is not None else None
    )
    return values[SHA256_PROPERTY].string_value, size


def live_blob_condition() -> ColumnElement[bool]:
    """WHERE clause over ArtifactProperty JOIN Artifact selecting live blob references:
    the ``lineage_sha256`` custom property of an artifact not in state DELETED (an artifact
    with no state, NULL, is live)."""
    p, a = artifact_property_table, artifact_table
    return and_(
        p.c.is_custom_property == 1,
        p.c.name == SHA256_PROPERTY,
        p.c.string_value.isnot(None),
        or_(a.c.state.is_(None), a.c.state != int(ArtifactState.DELETED)),
    )


def live_blobs_query() -> Select[Any]:
    p, a = artifact_property_table, artifact_table
    return (
        select(p.c.string_value)
        .select_from(p.join(a, a.c.id == p.c.artifact_id))
        .where(live_blob_condition())
        .distinct()
    )


def is_live(connection: Connection, sha256: str) -> bool:
    """Does a live artifact reference this blob?"""
    p, a = artifact_property_table, artifact_table
    row = connection.execute(
        select(p.c.artifact_id)
        .select_from(p.join(a, a.c.id == p.c.artifact_id))
        .where(live_blob_condition(), p.c.string_value == normalize_sha256(sha256))
        .limit(1)
    ).first()
    return row is not None
