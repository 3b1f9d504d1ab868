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
from collections.abc import Callable, Mapping, Sequence
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


def items_in(column: Any, size: int) -> ColumnElement[bool]:
    """``column IN (:item_0, ..., :item_{size-1})``, for a builder's IN list."""
    params: list[BindParameter[Any]] = [bindparam(f"item_{i}") for i in range(size)]
    return column.in_(params)  # type: ignore[no-any-return]


_CONSTANT, _PARAM, _ITEM = 0, 1, 2


@dataclass(frozen=True)
class _Form:
    """One compiled statement: its SQL and how to lay out its parameters."""

    sql: str
    # Positional styles: per placeholder, a constant (the statement's own literals), a
    # named parameter or an IN-list slot. Named styles (plan None): the defaults dict.
    plan: tuple[tuple[int, Any], ...] | None
    defaults: Mapping[str, Any]
    size: int
    returns_id: bool

    def args(self, params: Mapping[str, Any], items: Sequence[Any] = ()) -> Any:
        n = len(items)
        if self.plan is None:
            values = {**self.defaults, **params}
            for i in range(self.size):
                values[f"item_{i}"] = items[i] if i < n else items[-1]
            return values
        out = []
        for kind, key in self.plan:
            if kind == _PARAM:
                out.append(params[key])
            elif kind == _ITEM:
                out.append(items[key] if key < n else items[-1])
            else:
                out.append(key)
        return out


class Prepared:
    """A statement built and compiled once per dialect and IN-list size.

    ``build(dialect_name, size)`` returns the Core statement; ``size`` is the number of
    IN-list slots (see :func:`items_in`) for statements given ``items``, else 0.
    ``returning_id``: an INSERT whose new primary key :meth:`insert` returns.
    """

    def __init__(self, build: Builder, *, returning_id: bool = False) -> None:
        self._build = build
        self._returning_id = returning_id
        self._forms: dict[tuple[Any, ...], _Form] = {}
        self._lock = threading.Lock()

    def _form(self, conn: Connection, size: int) -> _Form:
        dialect = conn.dialect
        # The SQL differs by driver (paramstyle) and, for MySQL, MariaDB or not.
        key = (type(dialect), dialect.paramstyle, getattr(dialect, "is_mariadb", None), size)
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
        plan = None
        if compiled.positional:
            plan = tuple(_slot(name, defaults) for name in compiled.positiontup or ())
        return _Form(compiled.string, plan, defaults, size, returns_id)

    # -- running ---------------------------------------------------------------------

    def rows(
        self,
        conn: Connection,
        params: Mapping[str, Any] | None = None,
        items: Sequence[Any] = (),
    ) -> list[tuple[Any, ...]]:
        """Every row of the result (``items``: the IN list, at most MAX_ITEMS)."""
        form, values = self._bind(conn, params, items)
        return _run(conn, form.sql, values, _fetch_all)

    def chunked_rows(
        self, conn: Connection, items: Sequence[Any], params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Rows for an IN list of any length, MAX_ITEMS at a time."""
        if len(items) <= MAX_ITEMS:
            return self.rows(conn, params, items) if items else []
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(items), MAX_ITEMS):
            found.extend(self.rows(conn, params, items[start : start + MAX_ITEMS]))
        return found

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement without rows; the number of rows it changed."""
        form, values = self._bind(conn, params, ())
        return _run(conn, form.sql, values, lambda cursor: int(cursor.rowcount))

    def insert(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Insert one row; its new primary key."""
        form, values = self._bind(conn, params, ())
        new_id = _run(conn, form.sql, values, _fetch_id if form.returns_id else _last_row_id)
        if new_id is None:
            raise RuntimeError("the database returned no id for an inserted row")
        return int(new_id)

    def insert_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows, one statement sent with many parameter sets."""
        if not rows:
            return
        form = self._form(conn, 0)
        values = [form.args(row) for row in rows]
        _run(conn, form.sql, values, None)

    def _bind(
        self, conn: Connection, params: Mapping[str, Any] | None, items: Sequence[Any]
    ) -> tuple[_Form, Any]:
        size = 0
        if items:
            if len(items) > MAX_ITEMS:
                raise ValueError(f"at most {MAX_ITEMS} items per prepared statement")
            size = next(s for s in _SIZES if s >= len(items))
        form = self._form(conn, size)
        return form, form.args(params or {}, items)


def _slot(name: str, defaults: Mapping[str, Any]) -> tuple[int, Any]:
    if name in defaults:
        return _CONSTANT, defaults[name]
    if name.startswith("item_") and name[5:].isdigit():
        return _ITEM, int(name[5:])
    return _PARAM, name


def _fetch_all(cursor: Any) -> list[tuple[Any, ...]]:
    return list(cursor.fetchall()) if cursor.description else []


def _fetch_id(cursor: Any) -> Any:
    return cursor.fetchone()[0]


def _last_row_id(cursor: Any) -> Any:
    return cursor.lastrowid


def _run(conn: Connection, sql: str, values: Any, result: Callable[[Any], Any] | None) -> Any:
    """Execute on the driver cursor of ``conn``'s connection, in its transaction
    (``result``: what to read back; None: ``values`` is a list of parameter sets), with
    listeners told about the statement and driver errors raised as SQLAlchemy's."""
    if not conn.in_transaction():
        conn.begin()
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    dialect = conn.dialect
    many = result is None
    dispatch = conn.dispatch
    try:
        if dispatch.before_cursor_execute:
            for listener in dispatch.before_cursor_execute:
                listener(conn, cursor, sql, values, None, many)
        if result is None:
            cursor.executemany(sql, values)
            found = None
        else:
            cursor.execute(sql, values)
            found = result(cursor)
        if dispatch.after_cursor_execute:
            for listener in dispatch.after_cursor_execute:
                listener(conn, cursor, sql, values, None, many)
        return found
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
