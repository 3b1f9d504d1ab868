"""Compile a ``filter_query`` syntax tree into a SQLAlchemy condition.

Semantics (MLMD's, as its in-process store runs them): MLMD turns every mention of a
neighbor (``contexts_a``, ``events_e``, ``parent_contexts_p``...) and of a property
(``properties.p``, ``custom_properties.q``) into an INNER JOIN, and keeps a node when
*some* combination of joined rows makes the whole condition true. So a name that is
mentioned anywhere, even under ``OR`` or ``NOT``, requires the row to exist: with
``contexts_a.name = 'x' OR name = 'y'`` a node in no context never matches, and
``NOT contexts_a.name = 'x'`` keeps a node that has *some other* context. Conditions on
the same alias talk about the same row; different aliases are independent rows.

We express exactly that with subqueries instead of joins (no DISTINCT, no row blow-up),
split along ``AND``/``OR`` where the logic allows it:

* ``∃r. (A ∧ B)`` is ``(∃r. A) ∧ (∃r'. B)`` when A and B name disjoint rows;
* ``∃r. (A ∨ B)`` is ``(∃r. A) ∨ (∃r. B)``, where a row a branch does not name still has
  to exist (``EXISTS`` on its link alone);
* under ``NOT``, or when one condition names several rows, one ``EXISTS`` holds the whole
  condition.

A subquery whose condition names only its own rows is written as a semi-join,
``node.id IN (SELECT artifact_id FROM ArtifactProperty WHERE name = ? AND
is_custom_property = ? AND int_value > ?)``: uncorrelated, so every backend (SQLite
too) can drive it from the (name, is_custom_property, *_value) indexes. The others are
correlated ``EXISTS`` subqueries (found by the primary key / link indexes).

The type name (``type``, ``contexts_a.type``) is one row per node, so it is a subquery
on ``Type``; comparisons of it with constants become ``type_id IN (SELECT id FROM Type
WHERE name ...)``, which uses the index on ``Type.name``.

Literals are bound parameters; every identifier comes from :mod:`lineage.query.fields`.

Strings compare as MLMD's SQLite compares them, on every backend: byte for byte (our
MySQL tables have a binary collation; on PostgreSQL ``<``/``>`` on strings take
``COLLATE "C"``, whatever the database's locale), and ``LIKE`` is SQLite's: ASCII
letters match either case and there is no escape character (a backslash is a
backslash; PostgreSQL and MySQL would take it as an escape).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Double,
    FromClause,
    Select,
    String,
    and_,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from lineage.errors import InvalidArgument
from lineage.query import ast
from lineage.query.fields import (
    ALL_PREFIXES,
    EVENT_ATTRIBUTES_OF_ARTIFACT,
    EVENT_ATTRIBUTES_OF_EXECUTION,
    PROPERTY_VALUE_FIELDS,
    SCHEMAS,
    Attribute,
    Neighbor,
    NodeSchema,
    VType,
)
from lineage.query.parser import parse
from lineage.store import schema as db

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_RELATIONS = 64  # distinct aliases and properties one query may name

Condition = ColumnElement[Any]


def _error(message: str) -> InvalidArgument:
    return InvalidArgument(f"filter_query: {message}")


# --- the rows a query names ----------------------------------------------------------------


class Rel:
    """One row the query names: a property row, a linked node, or an event.

    ``parent`` is the relation whose row this one hangs off (None: the filtered node).
    A row is found from its parent through ``owner_column() == parent.id`` plus
    ``filters()``.
    """

    parent: Rel | None
    label: str
    aliases: tuple[FromClause, ...]

    @property
    def depth(self) -> int:
        return 0 if self.parent is None else self.parent.depth + 1

    def owner_column(self) -> ColumnElement[Any]:
        raise NotImplementedError

    def filters(self) -> list[Condition]:
        return []

    def from_clause(self) -> FromClause:
        raise NotImplementedError

    def join_onto(self, left: FromClause, parent_table: FromClause) -> FromClause:
        """``left JOIN <this relation's table> ON <link to parent_table>``."""
        return left.join(
            self.from_clause(), and_(self.owner_column() == parent_table.c.id, *self.filters())
        )


class PropertyRel(Rel):
    def __init__(self, parent: Rel | None, owner: NodeSchema, custom: bool, name: str, label: str):
        self.parent = parent
        self.owner = owner
        self.custom = custom
        self.name = name
        self.label = label
        self.table = owner.property_table.alias()
        self.aliases = (self.table,)

    def owner_column(self) -> ColumnElement[Any]:
        return self.table.c[self.owner.owner_column]

    def filters(self) -> list[Condition]:
        # Bound parameters typed as the columns: (name, is_custom_property, *_value) indexes.
        t = self.table
        return [t.c.name == self.name, t.c.is_custom_property == (1 if self.custom else 0)]

    def from_clause(self) -> FromClause:
        return self.table


class NodeRel(Rel):
    def __init__(self, neighbor: Neighbor, target: NodeSchema, label: str):
        self.parent = None
        self.neighbor = neighbor
        self.target = target
        self.label = label
        self.link = neighbor.link.alias()
        self.node = target.table.alias()
        self.aliases = (self.link, self.node)

    def owner_column(self) -> ColumnElement[Any]:
        return self.link.c[self.neighbor.self_column]

    def from_clause(self) -> FromClause:
        return self.link.join(self.node, self.node.c.id == self.link.c[self.neighbor.other_column])


class EventRel(Rel):
    def __init__(self, neighbor: Neighbor, label: str):
        self.parent = None
        self.neighbor = neighbor
        self.label = label
        self.table = neighbor.link.alias()
        self.aliases = (self.table,)

    def owner_column(self) -> ColumnElement[Any]:
        return self.table.c[self.neighbor.self_column]

    def from_clause(self) -> FromClause:
        return self.table


@dataclass(frozen=True)
class FieldRef:
    """A resolved name: a column of the filtered node or of a row the query names."""

    rel: Rel | None
    table: FromClause  # holds ``column``; for ``type``: the node table (its type_id)
    column: str  # "" for ``type``
    vtype: VType
    label: str
    attr: Attribute | None = None
    type_kind: int = 0

    @property
    def is_type_name(self) -> bool:
        return self.column == ""


@dataclass(frozen=True)
class EnumConst:
    """An enum value name (``LIVE``, ``COMPLETE``, ``INPUT``) next to its attribute."""

    value: int
    name: str


# --- SQLite's string semantics on every backend ----------------------------------------


class _Like(FunctionElement[Any]):
    """``operand [NOT] LIKE pattern`` as SQLite runs it (MLMD's reference backend)."""

    type = Boolean()
    name = "lineage_like"
    inherit_cache = True


class _NotLike(_Like):
    name = "lineage_not_like"
    inherit_cache = True


@compiles(_Like)
def _like_sqlite(element: _Like, compiler: Any, **kw: Any) -> str:
    operand, pattern = element.clauses
    word = "NOT LIKE" if isinstance(element, _NotLike) else "LIKE"
    return f"{compiler.process(operand, **kw)} {word} {compiler.process(pattern, **kw)}"


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@compiles(_Like, "postgresql")
@compiles(_Like, "mysql")
@compiles(_Like, "mariadb")
def _like_server(element: _Like, compiler: Any, **kw: Any) -> str:
    # Their LIKE is case-sensitive (C / binary collations) and takes a backslash as an
    # escape: fold the case of both sides and double every backslash of the pattern, so
    # that it matches itself. PostgreSQL folds ASCII letters only, as SQLite; MySQL has
    # no translate(): its lower() folds other letters too.
    operand, pattern = element.clauses

    def text(value: str) -> str:
        return str(compiler.render_literal_value(value, String()))

    def fold(sql: str) -> str:
        if compiler.dialect.name == "postgresql":
            return f"translate({sql}, {text(_UPPER)}, {text(_UPPER.lower())})"
        return f"lower({sql})"

    escaped = f"replace({compiler.process(pattern, **kw)}, {text(chr(92))}, {text(chr(92) * 2)})"
    word = "NOT LIKE" if isinstance(element, _NotLike) else "LIKE"
    return f"{fold(compiler.process(operand, **kw))} {word} {fold(escaped)}"


class _ByteOrder(FunctionElement[Any]):
    """A string to order (``<``, ``>``, BETWEEN) byte for byte, as SQLite does."""

    type = String()
    name = "lineage_byte_order"
    inherit_cache = True


@compiles(_ByteOrder)
def _byte_order(element: _ByteOrder, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_ByteOrder, "postgresql")
def _byte_order_postgresql(element: _ByteOrder, compiler: Any, **kw: Any) -> str:
    # The database's own collation may be a locale's ('Holdout' > 'b' in en_US).
    return f'({compiler.process(element.clauses, **kw)} COLLATE "C")'


# --- the compiler -----------------------------------------------------------------------------


def _arith(op: str, left: Any, right: Any) -> ColumnElement[Any]:
    if op == "+":
        return left + right  # type: ignore[no-any-return]
    if op == "-":
        return left - right  # type: ignore[no-any-return]
    if op == "*":
        return left * right  # type: ignore[no-any-return]
    # Exact division on every backend (integer division truncates on SQLite and
    # PostgreSQL); by zero it is NULL, as on SQLite and MySQL (PostgreSQL would fail).
    return cast(left, Double()) / func.nullif(cast(right, Double()), 0)  # type: ignore[no-any-return]


def _compare_op(op: str) -> Callable[[Any, Any], Condition]:
    ops: dict[str, Callable[[Any, Any], Condition]] = {
        "=": operator.eq,
        "!=": operator.ne,
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
    }
    return ops[op]


def _segment_column(name: ast.Name, index: int) -> int:
    """Column of segment ``index`` of a dotted name, for messages."""
    offset = 0
    for seg in name.segments[:index]:
        offset += len(seg.name) + (2 if seg.quoted else 0) + 1
    return name.column + offset


def _attribute_list(node: NodeSchema) -> str:
    names = [n for n in node.attributes]
    names.append("properties.<name>.<int_value|double_value|string_value|bool_value>")
    names.append("custom_properties.<name>.<...>")
    names.extend(f"{p}<alias>.<attribute>" for p in node.neighbors)
    return ", ".join(names)


class _Compiler:
    def __init__(self, node: NodeSchema, table: FromClause):
        self.node = node
        self.base = table
        self.rels: dict[tuple[Any, ...], Rel] = {}
        self.refs: dict[int, FieldRef | EnumConst] = {}
        self.types: dict[int, VType] = {}
        self.null_inclusive: set[int] = set()  # enum != / NOT IN: also match NULL
        self._needs_cache: dict[int, frozenset[Rel]] = {}
        self._made: list[ast.Expr] = []  # nodes made here, kept alive: the caches key on id()

    # --- names ---------------------------------------------------------------------------

    def _where(self, name: ast.Name, index: int) -> str:
        return f"line {name.line}, column {_segment_column(name, index)}"

    def _new_rel(self, key: tuple[Any, ...], make: Callable[[], Rel]) -> Rel:
        rel = self.rels.get(key)
        if rel is None:
            if len(self.rels) >= MAX_RELATIONS:
                raise _error(
                    f"the query names too many aliases and properties (at most {MAX_RELATIONS})"
                )
            rel = self.rels[key] = make()
        return rel

    def resolve(self, name: ast.Name) -> FieldRef:
        return self._resolve_in(self.node, self.base, None, name, 0, "")

    def _resolve_in(
        self,
        node: NodeSchema,
        table: FromClause,
        rel: Rel | None,
        name: ast.Name,
        start: int,
        owner: str,
    ) -> FieldRef:
        segs = name.segments[start:]
        first = segs[0]
        low = first.name.lower()
        of = f" of {owner}" if owner else ""
        what = node.plural
        if low in ("properties", "custom_properties"):
            if len(segs) < 3:
                raise _error(
                    f"{name.text} needs a property name and a value field, like "
                    f"{first.name}.<name>.int_value (or double_value, string_value, bool_value), "
                    f"at {self._where(name, start)}"
                )
            value_field = segs[2].name.lower()
            if value_field not in PROPERTY_VALUE_FIELDS:
                hint = (
                    "byte, proto and struct values cannot be filtered on"
                    if value_field in ("byte_value", "proto_value", "struct_value")
                    else "expected int_value, double_value, string_value or bool_value"
                )
                raise _error(
                    f"unknown property value field '{segs[2].name}' at "
                    f"{self._where(name, start + 2)} ({hint})"
                )
            if len(segs) > 3:
                raise _error(
                    f"unexpected '.{segs[3].name}' after {first.name}.{segs[1].name}."
                    f"{segs[2].name} at {self._where(name, start + 3)}"
                )
            custom = low == "custom_properties"
            pname = segs[1].name
            key = ("property", rel, custom, pname)
            label = f"{owner + '.' if owner else ''}{low}.{pname}"
            prop = self._new_rel(key, lambda: PropertyRel(rel, node, custom, pname, label))
            assert isinstance(prop, PropertyRel)
            return FieldRef(
                prop, prop.table, value_field, PROPERTY_VALUE_FIELDS[value_field], name.text
            )
        if rel is None:
            prefix = next((p for p in ALL_PREFIXES if low.startswith(p)), None)
            if prefix is not None:
                return self._resolve_neighbor(node, prefix, name)
        attr = node.attributes.get(low)
        if attr is None:
            hint = f"{what} have: {_attribute_list(node)}"
            if (
                len(segs) == 1
                and not first.quoted
                and any(
                    a.enum_values and first.name.upper() in a.enum_values
                    for a in self._enum_attributes()
                )
            ):
                hint = (
                    f"{first.name} is an enum value: usable only with =, !=, <>, IN and NOT IN "
                    "against its attribute, like state = LIVE"
                )
            raise _error(
                f"unknown attribute '{first.name}'{of} at {self._where(name, start)} ({hint})"
            )
        if len(segs) > 1:
            raise _error(
                f"unexpected '.{segs[1].name}' after {first.name} at "
                f"{self._where(name, start + 1)} ({first.name} has no fields)"
            )
        return FieldRef(rel, table, attr.column, attr.vtype, name.text, attr, node.type_kind)

    def _enum_attributes(self) -> list[Attribute]:
        out = [a for s in SCHEMAS.values() for a in s.attributes.values() if a.enum_values]
        out.append(EVENT_ATTRIBUTES_OF_ARTIFACT["type"])
        return out

    def _resolve_neighbor(self, node: NodeSchema, prefix: str, name: ast.Name) -> FieldRef:
        first = name.segments[0]
        neighbor = node.neighbors.get(prefix)
        if neighbor is None:
            available = ", ".join(f"{p}<alias>" for p in node.neighbors)
            raise _error(
                f"{prefix}<alias> is not available when filtering {node.plural} "
                f"(at {self._where(name, 0)}; {node.plural} can use {available})"
            )
        alias = first.name[len(prefix) :]
        if not alias:
            raise _error(
                f"{first.name} needs an alias, like {prefix}a.name, at {self._where(name, 0)}"
            )
        label = f"{prefix}{alias}"
        if len(name.segments) == 1:
            example = "type" if neighbor.target == "event" else "name"
            raise _error(
                f"{label} needs an attribute, like {label}.{example}, at {self._where(name, 0)}"
            )
        key = ("neighbor", prefix, alias)
        if neighbor.target == "event":
            rel = self._new_rel(key, lambda: EventRel(neighbor, label))
            assert isinstance(rel, EventRel)
            attrs = (
                EVENT_ATTRIBUTES_OF_ARTIFACT
                if node.kind == "artifact"
                else EVENT_ATTRIBUTES_OF_EXECUTION
            )
            seg = name.segments[1]
            attr = attrs.get(seg.name.lower())
            if attr is None:
                raise _error(
                    f"unknown attribute '{seg.name}' of {label} at {self._where(name, 1)} "
                    f"(events have: {', '.join(attrs)})"
                )
            if len(name.segments) > 2:
                raise _error(
                    f"unexpected '.{name.segments[2].name}' after {label}.{seg.name} at "
                    f"{self._where(name, 2)}"
                )
            return FieldRef(rel, rel.table, attr.column, attr.vtype, name.text, attr)
        target = SCHEMAS[neighbor.target]
        rel = self._new_rel(key, lambda: NodeRel(neighbor, target, label))
        assert isinstance(rel, NodeRel)
        return self._resolve_in(target, rel.node, rel, name, 1, label)

    # --- types ----------------------------------------------------------------------------

    def _describe(self, e: ast.Expr) -> str:
        if isinstance(e, ast.Literal):
            kinds = {
                "int": "the integer",
                "double": "the number",
                "string": "the string",
            }
            if e.kind in kinds:
                return f"{kinds[e.kind]} {e.text}"
            return e.text
        ref = self.refs.get(id(e))
        if isinstance(ref, FieldRef):
            return f"{ref.label} ({ref.vtype.value})"
        if isinstance(ref, EnumConst):
            return ref.name
        vtype = self.types.get(id(e))
        if vtype is VType.BOOL:
            return "a condition"
        return f"an expression ({vtype.value if vtype else 'unknown type'})"

    def _enum_field(self, e: ast.Expr) -> FieldRef | None:
        if not isinstance(e, ast.Name):
            return None
        try:
            ref = self.resolve(e)
        except InvalidArgument:
            return None
        return ref if ref.attr is not None and ref.attr.enum_values else None

    def _enum_operand(self, e: ast.Expr, field: FieldRef) -> VType:
        """Type an operand next to an enum attribute: enum names are its values."""
        attr = field.attr
        assert attr is not None and attr.enum_values is not None
        if isinstance(e, ast.Name) and len(e.segments) == 1 and not e.segments[0].quoted:
            word = e.segments[0].name
            if word.upper() in attr.enum_values:
                self.refs[id(e)] = EnumConst(attr.enum_values[word.upper()], word.upper())
                self.types[id(e)] = VType.INT
                return VType.INT
            try:
                return self.check(e)
            except InvalidArgument:
                raise _error(
                    f"unknown {attr.enum_name} '{word}' at {e.where} "
                    f"(one of {', '.join(attr.enum_values)})"
                ) from None
        if (
            isinstance(e, ast.Literal)
            and e.kind == "int"
            and e.value not in attr.enum_values.values()
        ):
            # A number stands for the value it names (an extension of MLMD's language,
            # which takes names only); one that names no value is a mistake.
            raise _error(
                f"{e.text} is not a {attr.enum_name} at {e.where} "
                f"(one of {', '.join(f'{n} = {v}' for n, v in attr.enum_values.items())})"
            )
        return self.check(e)

    @staticmethod
    def _compatible(a: VType, b: VType) -> bool:
        return a == b or (a.numeric and b.numeric)

    def _mismatch(self, op: str, left: ast.Expr, right: ast.Expr) -> InvalidArgument:
        lt, rt = self.types[id(left)], self.types[id(right)]
        lref, rref = self.refs.get(id(left)), self.refs.get(id(right))
        if isinstance(lref, FieldRef) or not isinstance(rref, FieldRef):
            return _error(
                f"expected {lt.value} after '{op}' to compare with {self._describe(left)}, "
                f"found {self._describe(right)} at {right.where}"
            )
        return _error(
            f"expected {rt.value} before '{op}' to compare with {self._describe(right)}, "
            f"found {self._describe(left)} at {left.where}"
        )

    def _no_null(self, e: ast.Expr, what: str) -> None:
        if isinstance(e, ast.Literal) and e.kind == "null":
            raise _error(f"cannot use NULL with {what} at {e.where}; use IS NULL or IS NOT NULL")

    def _need_bool(self, e: ast.Expr, context: str) -> None:
        if self.check(e) is not VType.BOOL:
            raise _error(f"expected a condition {context} at {e.where}, found {self._describe(e)}")

    def check(self, e: ast.Expr) -> VType:
        """Resolve names and compute the type of ``e``; raise on anything ill-typed."""
        vtype = self._check(e)
        self.types[id(e)] = vtype
        return vtype

    def _check(self, e: ast.Expr) -> VType:
        if isinstance(e, ast.Literal):
            if e.kind == "int":
                assert isinstance(e.value, int)
                if not INT64_MIN <= e.value <= INT64_MAX:
                    raise _error(
                        f"the integer {e.text} at {e.where} is out of range (64-bit signed)"
                    )
                return VType.INT
            if e.kind == "double":
                assert isinstance(e.value, float)
                if e.value in (float("inf"), float("-inf")):
                    raise _error(f"the number {e.text} at {e.where} is out of range")
                return VType.DOUBLE
            return {"string": VType.STRING, "bool": VType.BOOL, "null": VType.NULL}[e.kind]
        if isinstance(e, ast.Name):
            ref = self.resolve(e)
            self.refs[id(e)] = ref
            return ref.vtype
        if isinstance(e, ast.Negate):
            t = self.check(e.operand)
            if not t.numeric:
                raise _error(
                    f"expected a number after '-' at {e.operand.where}, "
                    f"found {self._describe(e.operand)}"
                )
            return t
        if isinstance(e, ast.Arith):
            types = []
            for side in (e.left, e.right):
                self._no_null(side, f"'{e.op}'")
                t = self.check(side)
                if not t.numeric:
                    raise _error(
                        f"'{e.op}' takes numbers, found {self._describe(side)} at {side.where}"
                    )
                types.append(t)
            # As ZetaSQL: '/' divides exactly (a double), the rest keep integers integers.
            exact = e.op != "/" and types == [VType.INT, VType.INT]
            return VType.INT if exact else VType.DOUBLE
        if isinstance(e, ast.Compare):
            return self._check_compare(e)
        if isinstance(e, ast.InList):
            return self._check_in(e)
        if isinstance(e, ast.Like):
            word = "NOT LIKE" if e.negated else "LIKE"
            for side in (e.operand, e.pattern):
                self._no_null(side, word)
                t = self.check(side)
                if t is not VType.STRING:
                    raise _error(
                        f"{word} compares strings, found {self._describe(side)} at {side.where}"
                    )
            return VType.BOOL
        if isinstance(e, ast.Between):
            t = self.check(e.operand)
            self._no_null(e.operand, "BETWEEN")
            for bound in (e.low, e.high):
                bt = self.check(bound)
                if bt is not VType.NULL and not self._compatible(t, bt):
                    raise self._mismatch("BETWEEN", e.operand, bound)
            return VType.BOOL
        if isinstance(e, ast.IsTest):
            t = self.check(e.operand)
            if e.what != "null" and t not in (VType.BOOL, VType.NULL):
                word = f"IS {'NOT ' if e.negated else ''}{e.what.upper()}"
                raise _error(
                    f"{word} needs a condition or a boolean, found {self._describe(e.operand)} "
                    f"at {e.operand.where}"
                )
            return VType.BOOL
        if isinstance(e, ast.Not):
            self._need_bool(e.operand, "after NOT")
            return VType.BOOL
        if isinstance(e, ast.And | ast.Or):
            word = "AND" if isinstance(e, ast.And) else "OR"
            for item in e.items:
                self._need_bool(item, f"around {word}")
            return VType.BOOL
        raise AssertionError(f"unknown node {e!r}")  # pragma: no cover

    def _check_compare(self, e: ast.Compare) -> VType:
        left, right = e.left, e.right
        enum_side = None
        if e.op in ("=", "!="):
            lf = self._enum_field(left)
            rf = None if lf else self._enum_field(right)
            if lf is not None:
                self.check(left)
                rt = self._enum_operand(right, lf)
                lt = VType.INT
                enum_side = right
            elif rf is not None:
                self.check(right)
                lt = self._enum_operand(left, rf)
                rt = VType.INT
                enum_side = left
        if enum_side is None:
            lt = self.check(left)
            rt = self.check(right)
        for side in (left, right):
            self._no_null(side, f"'{e.op_text}'")
        if not self._compatible(lt, rt):
            raise self._mismatch(e.op_text, left, right)
        if e.op == "!=" and enum_side is not None and self._is_const(enum_side):
            self.null_inclusive.add(id(e))
        return VType.BOOL

    def _is_const(self, e: ast.Expr) -> bool:
        return isinstance(self.refs.get(id(e)), EnumConst) or isinstance(e, ast.Literal)

    def _check_in(self, e: ast.InList) -> VType:
        field = self._enum_field(e.operand)
        t = self.check(e.operand)
        self._no_null(e.operand, "IN")
        for item in e.items:
            it = self._enum_operand(item, field) if field is not None else self.check(item)
            if it is not VType.NULL and not self._compatible(t, it):
                raise self._mismatch("IN", e.operand, item)
        if e.negated and field is not None and all(self._is_const(i) for i in e.items):
            self.null_inclusive.add(id(e))
        return VType.BOOL

    # --- the rows each part of the query needs -------------------------------------------

    def needs(self, e: ast.Expr) -> frozenset[Rel]:
        key = id(e)
        cached = self._needs_cache.get(key)
        if cached is not None:
            return cached
        out: set[Rel] = set()
        if isinstance(e, ast.Name):
            ref = self.refs.get(id(e))
            rel = ref.rel if isinstance(ref, FieldRef) else None
            while rel is not None:
                out.add(rel)
                rel = rel.parent
        else:
            for child in ast.children(e):
                out |= self.needs(child)
        result = frozenset(out)
        self._needs_cache[key] = result
        return result

    # --- SQL for a condition whose rows are all in scope ---------------------------------

    def _const(self, e: ast.Literal) -> ColumnElement[Any]:
        if e.kind == "int":
            return literal(e.value, BigInteger())
        if e.kind == "double":
            return literal(e.value, Double())
        if e.kind == "string":
            return literal(e.value, String())
        if e.kind == "bool":
            return true() if e.value else false()
        return null()

    def _table_of(self, rel: Rel | None) -> FromClause:
        if rel is None:
            return self.base
        if isinstance(rel, NodeRel):
            return rel.node
        raise AssertionError("only nodes own properties")

    def _column(self, ref: FieldRef) -> ColumnElement[Any]:
        if ref.is_type_name:
            t = db.type_table.alias()
            return (
                select(t.c.name)
                .where(t.c.id == ref.table.c.type_id, t.c.type_kind == ref.type_kind)
                .correlate_except(t)
                .scalar_subquery()
            )
        return ref.table.c[ref.column]

    def _value(self, e: ast.Expr, subst: dict[int, ColumnElement[Any]]) -> ColumnElement[Any]:
        if id(e) in subst:
            return subst[id(e)]
        if isinstance(e, ast.Literal):
            return self._const(e)
        ref = self.refs.get(id(e))
        if isinstance(ref, EnumConst):
            return literal(ref.value, BigInteger())
        if isinstance(ref, FieldRef):
            return self._column(ref)
        if isinstance(e, ast.Negate):
            return -self._value(e.operand, subst)
        if isinstance(e, ast.Arith):
            return _arith(e.op, self._value(e.left, subst), self._value(e.right, subst))
        return self.plain(e, subst)

    def _type_name_shortcut(self, e: ast.Expr) -> Condition | None:
        """``type <op> constants`` as ``type_id IN (SELECT id FROM Type WHERE ...)``.

        Exact, also under NOT: a type name is never NULL and the constants are not NULL,
        so the condition on the name is TRUE or FALSE, never unknown.
        """
        if not isinstance(e, ast.Compare | ast.InList | ast.Like | ast.Between):
            return None
        operands = ast.children(e)
        refs = [self.refs.get(id(o)) for o in operands]
        names = [(o, r) for o, r in zip(operands, refs, strict=True) if isinstance(r, FieldRef)]
        if len(names) != 1 or not names[0][1].is_type_name:  # type: ignore[union-attr]
            return None
        others = [o for o in operands if o is not names[0][0]]
        if not all(isinstance(o, ast.Literal) and o.kind != "null" for o in others):
            return None
        if isinstance(e, ast.Compare) and id(e) in self.null_inclusive:
            return None
        node, ref = names[0]
        assert isinstance(ref, FieldRef)
        t = db.type_table.alias()
        condition = self.plain(e, {id(node): t.c.name})
        ids = select(t.c.id).where(t.c.type_kind == ref.type_kind, condition)
        return ref.table.c.type_id.in_(ids)

    def plain(self, e: ast.Expr, subst: dict[int, ColumnElement[Any]] | None = None) -> Condition:
        """The condition as SQL, every row it names being in scope already."""
        subst = subst or {}
        if not subst:
            shortcut = self._type_name_shortcut(e)
            if shortcut is not None:
                return shortcut
        if isinstance(e, ast.Compare):
            left, right = self._value(e.left, subst), self._value(e.right, subst)
            if e.op not in ("=", "!=") and self.types.get(id(e.left)) is VType.STRING:
                left, right = _ByteOrder(left), _ByteOrder(right)
            cond = _compare_op(e.op)(left, right)
            if id(e) in self.null_inclusive:
                field = e.left if isinstance(self.refs.get(id(e.left)), FieldRef) else e.right
                cond = or_(cond, self._value(field, subst).is_(None))
            return cond
        if isinstance(e, ast.InList):
            operand = self._value(e.operand, subst)
            items = [self._value(i, subst) for i in e.items]
            if not e.negated:
                return operand.in_(items)
            cond = operand.not_in(items)
            if id(e) in self.null_inclusive:
                cond = or_(cond, operand.is_(None))
            return cond
        if isinstance(e, ast.Like):
            operand, pattern = self._value(e.operand, subst), self._value(e.pattern, subst)
            return (_NotLike if e.negated else _Like)(operand, pattern)
        if isinstance(e, ast.Between):
            operand = self._value(e.operand, subst)
            low, high = self._value(e.low, subst), self._value(e.high, subst)
            if self.types.get(id(e.operand)) is VType.STRING:
                operand, low, high = _ByteOrder(operand), _ByteOrder(low), _ByteOrder(high)
            cond = operand.between(low, high)
            return not_(cond) if e.negated else cond
        if isinstance(e, ast.IsTest):
            operand = self._value(e.operand, subst)
            target: Any = None if e.what == "null" else (true() if e.what == "true" else false())
            return operand.is_not(target) if e.negated else operand.is_(target)
        if isinstance(e, ast.Not):
            return not_(self.plain(e.operand, subst))
        if isinstance(e, ast.And):
            return and_(*(self.plain(i, subst) for i in e.items))
        if isinstance(e, ast.Or):
            return or_(*(self.plain(i, subst) for i in e.items))
        # a bare boolean value: a bool property, TRUE, FALSE
        return self._value(e, subst)

    # --- rows: EXISTS --------------------------------------------------------------------

    def _parent_table(self, rel: Rel) -> FromClause:
        return self._table_of(rel.parent)

    def _trees(self, rels: frozenset[Rel] | set[Rel]) -> list[list[Rel]]:
        """Split rows into trees (a linked node with its properties), roots first."""
        trees: dict[Rel, list[Rel]] = {}
        for rel in sorted(rels, key=lambda r: r.depth):
            root = rel
            while root.parent is not None and root.parent in rels:
                root = root.parent
            trees.setdefault(root, []).append(rel)
        order = list(self.rels.values())
        return [trees[r] for r in sorted(trees, key=order.index)]

    def exists(
        self,
        rels: frozenset[Rel] | set[Rel],
        body: Condition | None,
        *,
        independent: bool = False,
    ) -> Condition:
        """There are rows ``rels`` (linked to what is in scope) such that ``body``.

        ``independent``: ``body`` names nothing outside ``rels``. Then one tree of rows is
        written ``parent.id IN (SELECT owner ... WHERE filters AND body)``: uncorrelated,
        so every database (SQLite too) can drive it from the (name, is_custom_property,
        *_value) indexes. Otherwise correlated ``EXISTS`` subqueries, one per tree.
        """
        trees = self._trees(rels)
        inner = body
        for tree in reversed(trees):
            root = tree[0]
            parent_table = self._parent_table(root)
            from_ = root.from_clause()
            for rel in tree[1:]:
                from_ = rel.join_onto(from_, self._parent_table(rel))
            where = root.filters()
            if inner is not None:
                where.append(inner)
            if independent and len(trees) == 1:
                ids = select(root.owner_column()).select_from(from_).where(*where)
                return parent_table.c.id.in_(ids)
            aliases = [a for rel in tree for a in rel.aliases]
            stmt: Select[Any] = (
                select(literal_column("1"))
                .select_from(from_)
                .where(root.owner_column() == parent_table.c.id, *where)
                .correlate_except(*aliases)
            )
            inner = stmt.exists()
        assert inner is not None
        return inner

    def _independent(self, e: ast.Expr, rels: set[Rel] | frozenset[Rel]) -> bool:
        """Whether ``e`` names only columns of the rows ``rels`` (and constants)."""
        stack = [e]
        while stack:
            n = stack.pop()
            if isinstance(n, ast.Name):
                ref = self.refs.get(id(n))
                if isinstance(ref, FieldRef) and ref.rel not in rels:
                    return False
            stack.extend(ast.children(n))
        return True

    def _closure_down(self, rels: set[Rel] | frozenset[Rel], scope: frozenset[Rel]) -> set[Rel]:
        """``rels`` plus the rows in ``scope`` that hang off them."""
        out = set(rels)
        for rel in scope:
            p = rel.parent
            while p is not None:
                if p in rels:
                    out.add(rel)
                    break
                p = p.parent
        return out

    def _existence(self, rels: set[Rel] | frozenset[Rel]) -> list[Condition]:
        return [self.exists(set(tree), None, independent=True) for tree in self._trees(rels)]

    def quantified(self, e: ast.Expr, scope: frozenset[Rel]) -> Condition:
        """There are rows ``scope`` (each linked to its parent) for which ``e`` holds."""
        if not scope:
            return self.plain(e)
        if isinstance(e, ast.Or):
            return or_(*(self.quantified(i, scope) for i in e.items))
        if isinstance(e, ast.And):
            return self._quantified_and(e, scope)
        rels = self._closure_down(self.needs(e) & scope, scope)
        if rels:
            independent = self._independent(e, rels)
            parts = [self.exists(rels, self.plain(e), independent=independent)]
        else:
            parts = [self.plain(e)]
        parts.extend(self._existence(scope - rels))
        return and_(*parts)

    def _quantified_and(self, e: ast.And, scope: frozenset[Rel]) -> Condition:
        # Group the conjuncts that name a common row (union-find by shared rows).
        groups: list[tuple[list[int], set[Rel]]] = []
        for index, item in enumerate(e.items):
            members, rels = [index], set(self.needs(item) & scope)
            rest = []
            for g_members, g_rels in groups:
                if g_rels & rels:
                    members = g_members + members
                    rels |= g_rels
                else:
                    rest.append((g_members, g_rels))
            groups = [*rest, (sorted(members), rels)]
        groups.sort(key=lambda g: g[0][0])
        parts: list[Condition] = []
        covered: set[Rel] = set()
        for members, rels in groups:
            items = [e.items[i] for i in members]
            if not rels:
                parts.extend(self.plain(i) for i in items)
                continue
            rels = self._closure_down(rels, scope)
            covered |= rels
            if len(items) == 1:
                parts.append(self.quantified(items[0], frozenset(rels)))
                continue
            # Rows named by two or more conjuncts are bound once, outside; the rest inside.
            counts: dict[Rel, int] = {}
            for item in items:
                for rel in self.needs(item) & rels:
                    counts[rel] = counts.get(rel, 0) + 1
            shared = {rel for rel, n in counts.items() if n > 1}
            inner = ast.And(e.line, e.column, tuple(items))
            self._made.append(inner)
            unshared = frozenset(rels - shared)
            independent = self._independent(inner, rels) and all(r.parent in rels for r in unshared)
            body = self.quantified(inner, unshared)
            parts.append(self.exists(shared, body, independent=independent))
        parts.extend(self._existence(scope - covered))
        return and_(*parts)

    def compile(self, e: ast.Expr) -> Condition:
        t = self.check(e)
        if t is not VType.BOOL:
            raise _error(
                f"expected a condition (like name = 'x'), found {self._describe(e)} at {e.where}"
            )
        return self.quantified(e, self.needs(e))


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> ast.Expr:
    return parse(text)


def compile_filter(kind: str, filter_query: str, *, table: FromClause | None = None) -> Condition:
    """The SQLAlchemy condition for MLMD ``filter_query`` on nodes of ``kind``.

    ``kind`` is ``"artifact"``, ``"execution"`` or ``"context"``. The condition is
    correlated to the node table (``artifact_table``, ...), or to ``table`` when given
    (an alias of it): use it as ``select(artifact_table.c.id).where(condition)``.
    Raises :class:`~lineage.errors.InvalidArgument` when the query is malformed, names
    something the kind does not have, or compares values of the wrong types.
    """
    node = SCHEMAS.get(kind)
    if node is None:
        raise ValueError(f"unknown node kind {kind!r}; one of {', '.join(SCHEMAS)}")
    tree = _parse_cached(filter_query) if isinstance(filter_query, str) else parse(filter_query)
    return _Compiler(node, node.table if table is None else table).compile(tree)
