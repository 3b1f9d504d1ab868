"""The database fixtures give a working, empty, private database on every backend."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

_seen_urls: dict[str, list[str]] = {}


def _roundtrip(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        assert sa.inspect(engine).get_table_names() == [], "database is not empty"
        meta = sa.MetaData()
        t = sa.Table(
            "probe",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(64), nullable=False),
        )
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(t.insert(), [{"name": "a"}, {"name": "ünïcode ✓"}])
        with engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.name).order_by(t.c.id)).scalars().all()
        assert rows == ["a", "ünïcode ✓"]
    finally:
        engine.dispose()


def test_database_url_works_and_is_empty(database_backend: str, database_url: str) -> None:
    expected_prefix = {
        "sqlite": "sqlite:///",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:",
        "mysql": "mysql+pymysql://root@127.0.0.1:",
    }[database_backend]
    assert database_url.startswith(expected_prefix)
    _roundtrip(database_url)
    _seen_urls.setdefault(database_backend, []).append(database_url)


def test_each_test_gets_a_fresh_database(database_backend: str, database_url: str) -> None:
    # Runs after the test above (same module, definition order): a different, empty database.
    _roundtrip(database_url)  # would fail on "not empty" or "table exists" if shared
    assert database_url not in _seen_urls.get(database_backend, [])


def test_factory_gives_several_databases(
    database_backend: str, database_url_factory: Callable[[str], str]
) -> None:
    a = database_url_factory(database_backend)
    b = database_url_factory(database_backend)
    assert a != b
    _roundtrip(a)
    _roundtrip(b)  # b is still empty after a got a table


def test_connection_left_open_does_not_block_teardown(database_url: str) -> None:
    # A test that forgets engine.dispose() must not hang or break the drop afterwards.
    engine = sa.create_engine(database_url)
    conn = engine.connect()
    conn.execute(sa.text("SELECT 1"))
