"""Small helpers over SQLAlchemy results."""

from __future__ import annotations

from sqlalchemy import CursorResult


def inserted_id(result: CursorResult) -> int:
    """The primary key the database gave the row an INSERT just wrote."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise RuntimeError("the database returned no id for an inserted row")
    return int(key[0])
