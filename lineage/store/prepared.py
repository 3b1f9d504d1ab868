"""Hot statements, compiled once per dialect and run on the driver's cursor.

Executing a statement through SQLAlchemy Core costs about 0.1 ms of Python (building
the construct, its cache key, the execution context and the result wrapper) where a
SQLite lookup by primary key costs 0.01 ms. Every pipeline step and lineage question
runs a dozen such statements, so the ones on those paths are declared here once:
a :class:`Prepared` holds a builder of the Core statement, compiles it the first time
each dialect (and IN-list size) needs it, and sends the SQL with bound parameters to
the DBAPI cursor of the caller's SQLAlchemy connection, inside its transaction.

Values are always bound, never rendered into the SQL. Driver errors come back as
SQLAlchemy's exception classes (``IntegrityError``, ``OperationalError``...) so
callers handle errors one way, and SQLAlchemy's ``before_cursor_execute`` listeners
still see each statement (statement counters rely on it). Parameters must already be
what the driver takes (ints, floats, strings, None): no type processing is applied,
and rows come back as plain tuples.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Connection, bindparam
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

# IN-list sizes a statement is compiled for; a list is padded to the next one by
# repeating its last value (which changes nothing in an IN).
_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
MAX_ITEMS = _SIZES[-1]

Builder = Callable[[str, int], ClauseElement]


def items_in(column: Any, size: int, name: str = "item") -> ColumnElement[bool]:
    """``column IN (:item_0, ..., :item_{size-1})``, for a builder's IN list."""
    params: list[BindParameter[Any]] = [bindparam(f"{name}_{i}") for i in range(size)]
    return column.in_(params)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Form:
    """One compiled statement: its SQL and how to lay out its parameters."""

    sql: str
    order: tuple[str, ...] | None  # bind names in order (positional styles); None: named
    defaults: Mapping[str, Any]  # values of the statement's own literals
    returns_id: bool

    def args(self, params: Mapping[str, Any]) -> Any:
        if not self.defaults and self.order is None:
            return params
        values = {**self.defaults, **params}
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


class Prepared:
    """A statement built and compiled once per dialect and IN-list size.

    ``build(dialect_name, size)`` returns the Core statement; ``size`` is the number of
    IN-list slots (see :func:`items_in`) for statements given ``items``, else 0.
    ``returning_id``: an INSERT whose new primary key :meth:`insert` returns.
    """

    def __init__(self, build: Builder, *, returning_id: bool = False) -> None:
        self._build = build
        self._returning_id = returning_id
        self._forms: dict[tuple[str, int], _Form] = {}
        self._lock = threading.Lock()

    def _form(self, conn: Connection, size: int) -> _Form:
        dialect = conn.dialect
        key = (dialect.name, size)
        form = self._forms.get(key)
        if form is None:
            with self._lock:
                form = self._forms.get(key) or self._compile(conn, size)
                self._forms[key] = form
        return form

    def _compile(self, conn: Connection, size: int) -> _Form:
        dialect = conn.dialect
        statement = self._build(dialect.name, size)
        returns_id = False
        if self._returning_id and dialect.name == "postgresql":
            statement = statement.returning(statement.table.c.id)  # type: ignore[attr-defined]
            returns_id = True
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if "POSTCOMPILE" in compiled.string:
            raise TypeError(
                "a prepared statement cannot hold an expanding IN list; use items_in() or "
                "literal() values"
            )
        required = {name: None for name, bind in compiled.binds.items() if bind.required}
        defaults = {
            name: value
            for name, value in (compiled.construct_params(required) or {}).items()
            if name not in required
        }
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        return _Form(compiled.string, order, defaults, returns_id)

    # -- running ---------------------------------------------------------------------

    def rows(
        self,
        conn: Connection,
        params: Mapping[str, Any] | None = None,
        items: Sequence[Any] = (),
    ) -> list[tuple[Any, ...]]:
        """Every row of the result (``items``: the IN list, at most MAX_ITEMS)."""
        form, values = self._bind(conn, params, items)
        with _cursor(conn, form.sql, values) as cursor:
            cursor.execute(form.sql, values)
            return list(cursor.fetchall()) if cursor.description else []

    def chunked_rows(
        self, conn: Connection, items: Sequence[Any], params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Rows for an IN list of any length, MAX_ITEMS at a time."""
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(items), MAX_ITEMS):
            found.extend(self.rows(conn, params, items[start : start + MAX_ITEMS]))
        return found

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement without rows; the number of rows it changed."""
        form, values = self._bind(conn, params, ())
        with _cursor(conn, form.sql, values) as cursor:
            cursor.execute(form.sql, values)
            return int(cursor.rowcount)

    def insert(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Insert one row; its new primary key."""
        form, values = self._bind(conn, params, ())
        with _cursor(conn, form.sql, values) as cursor:
            cursor.execute(form.sql, values)
            new_id = cursor.fetchone()[0] if form.returns_id else cursor.lastrowid
        if new_id is None:
            raise RuntimeError("the database returned no id for an inserted row")
        return int(new_id)

    def insert_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows, one statement sent with many parameter sets."""
        if not rows:
            return
        form = self._form(conn, 0)
        values = [form.args(row) for row in rows]
        with _cursor(conn, form.sql, values, many=True) as cursor:
            cursor.executemany(form.sql, values)

    def _bind(
        self, conn: Connection, params: Mapping[str, Any] | None, items: Sequence[Any]
    ) -> tuple[_Form, Any]:
        given = dict(params or {})
        size = 0
        if items:
            if len(items) > MAX_ITEMS:
                raise ValueError(f"at most {MAX_ITEMS} items per prepared statement")
            size = next(s for s in _SIZES if s >= len(items))
            last = items[-1]
            for i in range(size):
                given[f"item_{i}"] = items[i] if i < len(items) else last
        form = self._form(conn, size)
        return form, form.args(given)


@contextmanager
def _cursor(conn: Connection, sql: str, values: Any, many: bool = False) -> Iterator[Any]:
    """The driver cursor of ``conn``'s connection, in its transaction, with driver
    errors raised as SQLAlchemy's and listeners told about the statement."""
    if not conn.in_transaction():
        conn.begin()
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    dialect = conn.dialect
    try:
        if conn.dispatch.before_cursor_execute:
            for listener in conn.dispatch.before_cursor_execute:
                listener(conn, cursor, sql, values, None, many)
        yield cursor
        if conn.dispatch.after_cursor_execute:
            for listener in conn.dispatch.after_cursor_execute:
                listener(conn, cursor, sql, values, None, many)
    except dialect.loaded_dbapi.Error as exc:
        invalidated = dialect.is_disconnect(exc, dbapi_connection, cursor)
        if invalidated:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            values,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=invalidated,
            dialect=dialect,
        ) from exc
    finally:
        try:
            cursor.close()
        except dialect.loaded_dbapi.Error:
            pass  # a connection that just broke; the error above says why
