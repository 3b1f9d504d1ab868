"""The syntax tree of a ``filter_query``, as the parser produces it.

Plain frozen dataclasses; nothing here knows about tables or SQL. Every node keeps the
position (1-based line and column) of its first character, for error messages. Names are
kept as written: the compiler resolves them against the attributes a node kind allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as TypingLiteral

LiteralKind = TypingLiteral["int", "double", "string", "bool", "null"]
CompareOp = TypingLiteral["=", "!=", "<", "<=", ">", ">="]
ArithOp = TypingLiteral["+", "-", "*", "/"]


@dataclass(frozen=True)
class Node:
    line: int
    column: int

    @property
    def where(self) -> str:
        return f"line {self.line}, column {self.column}"


@dataclass(frozen=True)
class Literal(Node):
    """A constant: ``1``, ``0x1F``, ``1.5``, ``'text'``, ``TRUE``, ``NULL``."""

    kind: LiteralKind
    value: int | float | str | bool | None
    text: str  # as written, for messages


@dataclass(frozen=True)
class Segment:
    """One dot-separated part of a name; ``quoted`` if it was written in backticks."""

    name: str
    quoted: bool = False


@dataclass(frozen=True)
class Name(Node):
    """A (dotted) name: ``uri``, ``properties.accuracy.double_value``, ``contexts_a.name``."""

    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return ".".join(f"`{s.name}`" if s.quoted else s.name for s in self.segments)


@dataclass(frozen=True)
class Negate(Node):
    """Unary minus (``-x``); unary plus is dropped by the parser."""

    operand: Expr


@dataclass(frozen=True)
class Arith(Node):
    """``a + b``, ``a - b``, ``a * b``, ``a / b`` on numbers (``/`` divides exactly)."""

    op: ArithOp
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Compare(Node):
    op: CompareOp  # ``<>`` is normalized to ``!=``
    left: Expr
    right: Expr
    op_text: str  # as written (``<>`` or ``!=``), for messages


@dataclass(frozen=True)
class InList(Node):
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool


@dataclass(frozen=True)
class Like(Node):
    operand: Expr
    pattern: Expr
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    operand: Expr
    low: Expr
    high: Expr
    negated: bool


@dataclass(frozen=True)
class IsTest(Node):
    """``x IS [NOT] NULL`` / ``TRUE`` / ``FALSE``."""

    operand: Expr
    what: TypingLiteral["null", "true", "false"]
    negated: bool


@dataclass(frozen=True)
class Not(Node):
    operand: Expr


@dataclass(frozen=True)
class And(Node):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or(Node):
    items: tuple[Expr, ...]


Expr = Literal | Name | Negate | Arith | Compare | InList | Like | Between | IsTest | Not | And | Or


def children(e: Expr) -> tuple[Expr, ...]:
    """The direct subexpressions of ``e``."""
    if isinstance(e, Negate | Not | IsTest):
        return (e.operand,)
    if isinstance(e, Compare | Arith):
        return (e.left, e.right)
    if isinstance(e, InList):
        return (e.operand, *e.items)
    if isinstance(e, Like):
        return (e.operand, e.pattern)
    if isinstance(e, Between):
        return (e.operand, e.low, e.high)
    if isinstance(e, And | Or):
        return e.items
    return ()
