"""Prepared statements (lineage/store/prepared.py) and the type catalog, on every backend.

They bypass SQLAlchemy's execution path for speed, so what that path gave for free is
checked here: the same transaction, SQLAlchemy's exception classes, listeners seeing
each statement, IN lists of any length, bound (never rendered) values.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, event, insert, literal, select
from sqlalchemy.exc import IntegrityError

from lineage import model
from lineage.store import type_catalog
from lineage.store.prepared import MAX_ITEMS, Prepared, items_in
from lineage.store.schema import type_table
from lineage.store.store import Store


def _names_in(_dialect: str, size: int) -> Any:
    return (
        select(type_table.c.id, type_table.c.name, literal(7).label("seven"))
        .where(items_in(type_table.c.name, size))
        .order_by(type_table.c.id)
    )


def _insert_type(_dialect: str, _size: int) -> Any:
    return insert(type_table).values(name=bindparam("name"), type_kind=bindparam("kind"))


NAMES_IN = Prepared(_names_in)
INSERT_TYPE = Prepared(_insert_type, returning_id=True)


def _put_types(store: Store, count: int) -> list[int]:
    return [
        store.put_type(model.ArtifactType(name=f"T{i:04d}", properties={})) for i in range(count)
    ]


def test_in_lists_of_every_size_and_literals(store: Store) -> None:
    ids = _put_types(store, MAX_ITEMS + 20)
    names = [f"T{i:04d}" for i in range(MAX_ITEMS + 20)]
    with store.engine.connect() as conn:
        for n in (1, 3, 4, 5, MAX_ITEMS):
            rows = NAMES_IN.rows(conn, items=names[:n])
            assert [r[0] for r in rows] == ids[:n]
            assert {r[2] for r in rows} == {7}
        rows = NAMES_IN.chunked_rows(conn, names + ["no such type"])
        assert [r[0] for r in rows] == ids
        with pytest.raises(ValueError, match="at most"):
            NAMES_IN.rows(conn, items=names)


def test_values_are_bound_not_rendered(store: Store) -> None:
    tricky = "x' OR '1'='1"
    with store.engine.connect() as conn:
        assert NAMES_IN.rows(conn, items=[tricky]) == []


def test_writes_join_the_callers_transaction(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.engine.begin() as conn:
            INSERT_TYPE.insert(conn, {"name": "Gone", "kind": 1})
            assert NAMES_IN.rows(conn, items=["Gone"])
            raise RuntimeError("roll back")
    with store.engine.begin() as conn:
        assert NAMES_IN.rows(conn, items=["Gone"]) == []
        new_id = INSERT_TYPE.insert(conn, {"name": "Kept", "kind": 1})
    with store.engine.connect() as conn:
        assert [r[0] for r in NAMES_IN.rows(conn, items=["Kept"])] == [new_id]


def test_driver_errors_are_sqlalchemy_errors(store: Store) -> None:
    with store.engine.begin() as conn:
        with pytest.raises(IntegrityError):
            INSERT_TYPE.insert(conn, {"name": None, "kind": 1})


def test_listeners_see_prepared_statements(store: Store) -> None:
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", on_execute)
    try:
        with store.engine.connect() as conn:
            NAMES_IN.rows(conn, items=["a", "b"])
    finally:
        event.remove(store.engine, "before_cursor_execute", on_execute)
    assert any("IN" in s and "Type" in s for s in seen)


def test_type_catalog_follows_new_types_and_properties(store: Store) -> None:
    first = store.put_type(model.ArtifactType(name="Evolving", properties={}))
    assert store.get_types_by_id("artifact", [first])[0].properties == {}
    # Another writer (MLMD, another server) adds a property behind this store's back.
    other = Store.open(store.engine.url.render_as_string(hide_password=False))
    try:
        other.put_type(
            model.ArtifactType(name="Evolving", properties={"n": model.PropertyType.INT}),
            can_add_fields=True,
        )
        second = other.put_type(model.ArtifactType(name="Later", properties={}))
    finally:
        other.close()
    [evolved] = store.get_types_by_id("artifact", [first])
    assert evolved.properties == {"n": model.PropertyType.INT}
    assert [t.name for t in store.get_types_by_id("artifact", [first, second])] == [
        "Evolving",
        "Later",
    ]
    # Handed-out types are copies: changing one does not change the catalog.
    evolved.properties["x"] = model.PropertyType.STRING
    assert "x" not in store.get_type("artifact", "Evolving").properties


def test_type_catalog_is_checked_once_per_read_transaction(store: Store) -> None:
    """A read sees one snapshot: asking for types again in it costs no statement. A new
    read checks again (and sees what was committed in between)."""
    first = store.put_type(model.ArtifactType(name="Once", properties={}))
    store.get_types_by_id("artifact", [first])  # the catalog read once after the write
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", on_execute)
    try:
        names = store.read_view(
            lambda view: [view.types_by_id("artifact", [first])[0].name for _ in range(3)]
        )
        assert names == ["Once"] * 3
        assert len(seen) == 1, seen
        second = store.put_type(model.ArtifactType(name="Twice", properties={}))
        seen.clear()
        assert [t.name for t in store.get_types_by_id("artifact", [first, second])] == [
            "Once",
            "Twice",
        ]
        assert seen, "a new read transaction must check the catalog again"
    finally:
        event.remove(store.engine, "before_cursor_execute", on_execute)


def test_type_catalog_forgets_rolled_back_types(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.engine.begin() as conn:
            INSERT_TYPE.insert(conn, {"name": "Phantom", "kind": 1})
            names = {t.name for t in type_catalog.snapshot(conn).all_of_kind(1)}
            assert "Phantom" in names
            raise RuntimeError("roll back")
    assert "Phantom" not in {t.name for t in store.get_types("artifact")}


def test_type_catalog_never_serves_a_stale_type_under_concurrent_writes(store: Store) -> None:
    """A reader always sees every property committed before its read began, while another
    thread keeps adding properties and types (the catalog's one-statement check)."""
    import threading

    type_id = store.put_type(model.ArtifactType(name="Growing", properties={}))
    committed: list[int] = [0]  # properties committed so far
    stop = threading.Event()
    failures: list[str] = []

    def writer() -> None:
        try:
            for n in range(1, 41):
                props = {f"p{i}": model.PropertyType.INT for i in range(n)}
                store.put_type(
                    model.ArtifactType(name="Growing", properties=props), can_add_fields=True
                )
                store.put_type(model.ArtifactType(name=f"Side{n}", properties={}))
                committed[0] = n
        except Exception as exc:  # reported below
            failures.append(f"writer: {exc!r}")
        finally:
            stop.set()

    def reader() -> None:
        while not stop.is_set():
            before = committed[0]
            [found] = store.get_types_by_id("artifact", [type_id])
            if len(found.properties) < before:
                failures.append(f"saw {len(found.properties)} properties after {before}")
                return

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert len(store.get_type("artifact", "Growing").properties) == 40


def test_extreme_doubles_read_back_the_same_on_every_backend(store: Store) -> None:
    """Property rows go through prepared inserts: the largest doubles must not round up
    to infinity (stored as inf on SQLite/PostgreSQL, refused by MySQL) and -0.0 reads
    back as 0.0 everywhere (SQLite and MySQL keep no negative zero)."""
    t = store.put_type(model.ArtifactType(name="Doubles"))
    values = [1.7976931348623157e308, -1.7976931348623157e308, -0.0, 5e-324, 2.5]
    ids = store.put_nodes(
        "artifact",
        [model.Artifact(type_id=t, custom_properties={"v": model.Value.of(v)}) for v in values],
    )
    got = [repr(a.custom_properties["v"].data) for a in store.get_nodes_by_id("artifact", ids)]
    assert got == ["1.79769313486231e+308", "-1.79769313486231e+308", "0.0", "5e-324", "2.5"]
