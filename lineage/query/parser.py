"""Parse a ``filter_query`` into the syntax tree of :mod:`lineage.query.ast`.

The grammar is the part of ZetaSQL's expression syntax that MLMD documents for
``ListOperationOptions.filter_query``: comparisons, ``AND``/``OR``/``NOT``, parentheses,
``[NOT] IN (...)``, ``[NOT] LIKE``, ``[NOT] BETWEEN ... AND ...``,
``IS [NOT] NULL|TRUE|FALSE``, arithmetic (``+ - * /``) and unary minus, dotted names (segments may be quoted with
backticks), string literals in single, double or triple quotes (``r`` prefix for raw),
decimal and hex integers, floats, ``TRUE``/``FALSE``/``NULL``, and ``--``, ``#`` and
``/* */`` comments. Keywords are case-insensitive.

Every error is an :class:`~lineage.errors.InvalidArgument` whose message starts with
``filter_query:`` and says where (line and column, 1-based).
"""

from __future__ import annotations

import functools
from typing import Any, cast

from lark import Lark, Token, Transformer_NonRecursive
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from lineage.errors import InvalidArgument
from lineage.query import ast

MAX_QUERY_LENGTH = 256 * 1024
MAX_DEPTH = 200  # nesting of parentheses / NOT; AND and OR chains are flattened

_KEYWORDS = ("and", "or", "not", "in", "like", "between", "is", "null", "true", "false")
_KW_END = "(?![A-Za-z0-9_])"

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr
        | or_expr OR and_expr -> or_

?and_expr: not_expr
         | and_expr AND not_expr -> and_

?not_expr: predicate
         | NOT not_expr -> not_

?predicate: operand
          | operand COMP_OP operand -> compare
          | operand IN LPAR items RPAR -> in_
          | operand NOT IN LPAR items RPAR -> not_in
          | operand LIKE operand -> like
          | operand NOT LIKE operand -> not_like
          | operand BETWEEN operand AND operand -> between
          | operand NOT BETWEEN operand AND operand -> not_between
          | operand IS NULL -> is_null
          | operand IS NOT NULL -> is_not_null
          | operand IS TRUE -> is_true
          | operand IS NOT TRUE -> is_not_true
          | operand IS FALSE -> is_false
          | operand IS NOT FALSE -> is_not_false

items: operand (COMMA operand)*

?operand: product
        | operand PLUS product -> add
        | operand MINUS product -> subtract

?product: unary
        | product STAR unary -> multiply
        | product SLASH unary -> divide

?unary: atom
      | MINUS unary -> negate
      | PLUS unary -> plus

?atom: NAME -> name
     | INT -> int_
     | FLOAT -> float_
     | STRING -> string
     | TRUE -> true
     | FALSE -> false
     | NULL -> null
     | LPAR or_expr RPAR -> paren

COMP_OP: "<=" | ">=" | "<>" | "!=" | "=" | "<" | ">"
LPAR: "("
RPAR: ")"
COMMA: ","
MINUS: "-"
PLUS: "+"
STAR: "*"
SLASH: "/"

STRING.3: /[rR]?('''(?:[^\\]|\\[\s\S])*?'''|\"\"\"(?:[^\\]|\\[\s\S])*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")/
FLOAT.3: /(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+/
INT.2: /0[xX][0-9a-fA-F]+|[0-9]+/
NAME: /(?!(?:KEYWORDS)KWEND)(?:[A-Za-z_][A-Za-z0-9_]*|`[^`\n]+`)(?:\.(?:[A-Za-z0-9_]+|`[^`\n]+`))*/i

AND.2: /and(?![A-Za-z0-9_])/i
OR.2: /or(?![A-Za-z0-9_])/i
NOT.2: /not(?![A-Za-z0-9_])/i
IN.2: /in(?![A-Za-z0-9_])/i
LIKE.2: /like(?![A-Za-z0-9_])/i
BETWEEN.2: /between(?![A-Za-z0-9_])/i
IS.2: /is(?![A-Za-z0-9_])/i
NULL.2: /null(?![A-Za-z0-9_])/i
TRUE.2: /true(?![A-Za-z0-9_])/i
FALSE.2: /false(?![A-Za-z0-9_])/i

WS: /[ \t\r\n\f\v]+/
LINE_COMMENT: /(--|#)[^\n]*/
BLOCK_COMMENT: /\/\*[\s\S]*?\*\//
%ignore WS
%ignore LINE_COMMENT
%ignore BLOCK_COMMENT
""".replace("KEYWORDS", "|".join(_KEYWORDS)).replace("KWEND", _KW_END)


@functools.cache
def _lark() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)


def _error(message: str) -> InvalidArgument:
    return InvalidArgument(f"filter_query: {message}")


def _at(line: int, column: int) -> str:
    return f"line {line}, column {column}"


# --- literals ----------------------------------------------------------------------------

_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "?": "?",
    '"': '"',
    "'": "'",
    "`": "`",
}


def _unescape(body: str, token: Token) -> str:
    """ZetaSQL's escape sequences (``\\n``, ``\\'``, ``\\x41``, ``\\101``, ``\\u00e9``...)."""
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:
            raise _error(f"a string cannot end with a backslash at {_at(*_pos(token))}")
        e = body[i + 1]
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
            i += 2
            continue
        digits, base, width = "", 16, 0
        if e in "xX":
            base, width, start = 16, 2, i + 2
        elif e == "u":
            base, width, start = 16, 4, i + 2
        elif e == "U":
            base, width, start = 16, 8, i + 2
        elif e in "01234567":
            base, width, start = 8, 3, i + 1
        else:
            raise _error(f"unknown escape sequence '\\{e}' in the string at {_at(*_pos(token))}")
        digits = body[start : start + width]
        valid = "01234567" if base == 8 else "0123456789abcdefABCDEF"
        if len(digits) != width or any(d not in valid for d in digits):
            raise _error(
                f"malformed escape sequence '{body[i : start + width]}' in the string at "
                f"{_at(*_pos(token))}"
            )
        code = int(digits, base)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise _error(
                f"escape sequence '{body[i : start + width]}' is not a valid character, in the "
                f"string at {_at(*_pos(token))}"
            )
        out.append(chr(code))
        i = start + width
    return "".join(out)


def _string_value(token: Token) -> str:
    text = str(token)
    raw = text[0] in "rR"
    if raw:
        text = text[1:]
    quote = 3 if text[:3] in ("'''", '"""') else 1
    body = text[quote:-quote]
    return body if raw else _unescape(body, token)


def _segments(token: Token) -> tuple[ast.Segment, ...]:
    text = str(token)
    segments: list[ast.Segment] = []
    i = 0
    while i < len(text):
        if text[i] == "`":
            end = text.index("`", i + 1)
            segments.append(ast.Segment(text[i + 1 : end], quoted=True))
            i = end + 1
        else:
            end = text.find(".", i)
            end = len(text) if end < 0 else end
            segments.append(ast.Segment(text[i:end]))
            i = end
        i += 1  # the dot
    return tuple(segments)


def _pos(item: Any) -> tuple[int, int]:
    if isinstance(item, Token):
        return int(item.line or 1), int(item.column or 1)
    assert isinstance(item, ast.Node)
    return item.line, item.column


# --- tree to AST ---------------------------------------------------------------------------


class _ToAst(Transformer_NonRecursive):
    # atoms
    def name(self, children: list[Token]) -> ast.Name:
        (tok,) = children
        return ast.Name(*_pos(tok), segments=_segments(tok))

    def int_(self, children: list[Token]) -> ast.Literal:
        (tok,) = children
        text = str(tok)
        value = int(text, 16) if text[:2] in ("0x", "0X") else int(text)
        return ast.Literal(*_pos(tok), kind="int", value=value, text=text)

    def float_(self, children: list[Token]) -> ast.Literal:
        (tok,) = children
        return ast.Literal(*_pos(tok), kind="double", value=float(str(tok)), text=str(tok))

    def string(self, children: list[Token]) -> ast.Literal:
        (tok,) = children
        return ast.Literal(*_pos(tok), kind="string", value=_string_value(tok), text=str(tok))

    def true(self, children: list[Token]) -> ast.Literal:
        return ast.Literal(*_pos(children[0]), kind="bool", value=True, text="TRUE")

    def false(self, children: list[Token]) -> ast.Literal:
        return ast.Literal(*_pos(children[0]), kind="bool", value=False, text="FALSE")

    def null(self, children: list[Token]) -> ast.Literal:
        return ast.Literal(*_pos(children[0]), kind="null", value=None, text="NULL")

    def paren(self, children: list[Any]) -> ast.Expr:
        _, inner, _ = children
        return inner  # type: ignore[no-any-return]

    def negate(self, children: list[Any]) -> ast.Expr:
        sign, operand = children
        if isinstance(operand, ast.Literal) and operand.kind in ("int", "double"):
            # Fold the sign into the literal, so that -9223372036854775808 fits in int64.
            value = -operand.value  # type: ignore[operator]
            text = f"-({operand.text})" if operand.text.startswith("-") else f"-{operand.text}"
            return ast.Literal(*_pos(sign), kind=operand.kind, value=value, text=text)
        return ast.Negate(*_pos(sign), operand=operand)

    def plus(self, children: list[Any]) -> ast.Expr:
        return children[1]  # type: ignore[no-any-return]

    def _arith(self, children: list[Any]) -> ast.Arith:
        left, op, right = children
        return ast.Arith(*_pos(left), op=cast(ast.ArithOp, str(op)), left=left, right=right)

    add = subtract = multiply = divide = _arith

    # predicates
    def compare(self, children: list[Any]) -> ast.Compare:
        left, op, right = children
        text = str(op)
        norm = "!=" if text == "<>" else text
        op_norm = cast(ast.CompareOp, norm)
        return ast.Compare(*_pos(left), op=op_norm, left=left, right=right, op_text=text)

    def items(self, children: list[Any]) -> tuple[Any, ...]:
        return tuple(c for c in children if not isinstance(c, Token))

    def in_(self, children: list[Any]) -> ast.InList:
        return ast.InList(*_pos(children[0]), operand=children[0], items=children[3], negated=False)

    def not_in(self, children: list[Any]) -> ast.InList:
        return ast.InList(*_pos(children[0]), operand=children[0], items=children[4], negated=True)

    def like(self, children: list[Any]) -> ast.Like:
        return ast.Like(*_pos(children[0]), operand=children[0], pattern=children[2], negated=False)

    def not_like(self, children: list[Any]) -> ast.Like:
        return ast.Like(*_pos(children[0]), operand=children[0], pattern=children[3], negated=True)

    def between(self, children: list[Any]) -> ast.Between:
        operand, _, low, _, high = children
        return ast.Between(*_pos(operand), operand=operand, low=low, high=high, negated=False)

    def not_between(self, children: list[Any]) -> ast.Between:
        operand, _, _, low, _, high = children
        return ast.Between(*_pos(operand), operand=operand, low=low, high=high, negated=True)

    def _is(self, children: list[Any], what: Any, negated: bool) -> ast.IsTest:
        return ast.IsTest(*_pos(children[0]), operand=children[0], what=what, negated=negated)

    def is_null(self, c: list[Any]) -> ast.IsTest:
        return self._is(c, "null", False)

    def is_not_null(self, c: list[Any]) -> ast.IsTest:
        return self._is(c, "null", True)

    def is_true(self, c: list[Any]) -> ast.IsTest:
        return self._is(c, "true", False)

    def is_not_true(self, c: list[Any]) -> ast.IsTest:
        return self._is(c, "true", True)

    def is_false(self, c: list[Any]) -> ast.IsTest:
        return self._is(c, "false", False)

    def is_not_false(self, c: list[Any]) -> ast.IsTest:
        return self._is(c, "false", True)

    # boolean structure; AND/OR chains are flattened
    def not_(self, children: list[Any]) -> ast.Not:
        return ast.Not(*_pos(children[0]), operand=children[1])

    def and_(self, children: list[Any]) -> ast.And:
        left, _, right = children
        items = (*left.items, right) if isinstance(left, ast.And) else (left, right)
        return ast.And(*_pos(left), items=items)

    def or_(self, children: list[Any]) -> ast.Or:
        left, _, right = children
        items = (*left.items, right) if isinstance(left, ast.Or) else (left, right)
        return ast.Or(*_pos(left), items=items)


# --- errors ----------------------------------------------------------------------------------

_OPERAND_START = {
    "NAME",
    "INT",
    "FLOAT",
    "STRING",
    "TRUE",
    "FALSE",
    "NULL",
    "LPAR",
    "MINUS",
    "PLUS",
}
# What can only start a value ('+' and '-' may also follow one, as arithmetic).
_VALUE_START = _OPERAND_START - {"MINUS", "PLUS"}
_ARITHMETIC = {"STAR", "SLASH"}  # expected only after a value: '+', '-' are then too
_OPERATORS = {"COMP_OP", "IN", "LIKE", "BETWEEN", "IS"}
_TERMINAL_TEXT = {
    "RPAR": "')'",
    "LPAR": "'('",
    "COMMA": "','",
    "AND": "AND",
    "OR": "OR",
    "NOT": "NOT",
    "NULL": "NULL",
    "TRUE": "TRUE",
    "FALSE": "FALSE",
    "IN": "IN",
    "LIKE": "LIKE",
    "BETWEEN": "BETWEEN",
    "IS": "IS",
    "$END": "the end of the query",
}


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of the query"
    if tok.type == "NAME":
        return f"name '{tok}'"
    if tok.type == "STRING":
        return f"string {tok}"
    if tok.type in ("INT", "FLOAT"):
        return f"number {tok}"
    if tok.type in ("COMP_OP", "LPAR", "RPAR", "COMMA", "MINUS", "PLUS", "STAR", "SLASH"):
        return f"'{tok}'"
    return f"keyword {str(tok).upper()}"


def _describe_expected(expected: set[str]) -> str:
    parts: list[str] = []
    if expected & _VALUE_START:
        parts.append("a value (a name, a string, a number, TRUE, FALSE, NULL or '(')")
    if expected & _ARITHMETIC and not expected & _VALUE_START:
        parts.append("an arithmetic operator (+, -, *, /)")
    if expected & _OPERATORS:
        parts.append(
            "an operator (=, !=, <>, <, <=, >, >=, [NOT] IN, [NOT] LIKE, [NOT] BETWEEN, IS)"
        )
    for name in ("AND", "OR", "NOT", "IN", "LIKE", "BETWEEN", "NULL", "TRUE", "FALSE"):
        if (
            name in expected
            and name not in _OPERATORS
            and not (name in _OPERAND_START and expected & _VALUE_START)
        ):
            if name in ("IN", "LIKE", "BETWEEN") and expected & _OPERATORS:
                continue
            if name == "NOT" and expected & (_VALUE_START | _OPERATORS):
                continue
            parts.append(name)
    for name in ("LPAR", "RPAR", "COMMA", "$END"):
        if name in expected and not (name == "LPAR" and expected & _VALUE_START):
            parts.append(_TERMINAL_TEXT[name])
    if not parts:
        return "something else"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _syntax_error(text: str, e: UnexpectedInput) -> InvalidArgument:
    if isinstance(e, UnexpectedCharacters):
        where = _at(e.line, e.column)
        char = e.char
        if char in ("'", '"'):
            return _error(f"unterminated string starting at {where}")
        if char == "`":
            return _error(f"unterminated backtick-quoted name starting at {where}")
        if char == ".":
            return _error(
                f"unexpected '.' at {where} (names are written without spaces around the "
                "dots: contexts_a.name, properties.p.int_value)"
            )
        pos = e.pos_in_stream or 0
        if char == "/" and text[pos : pos + 2] == "/*":
            return _error(f"unterminated comment starting at {where}")
        shown = repr(char) if char.isprintable() and char not in "'\"" else ascii(char)
        return _error(f"unexpected character {shown} at {where}")
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END" or tok.line is None or tok.line < 0:
            line, column = _end_position(text)
        else:
            line, column = int(tok.line), int(tok.column)
        where = _at(line, column)
        if tok.type == "$END":
            expected = set(e.expected)
            if "RPAR" in expected:
                return _error(f"missing ')' at {where} (the end of the query)")
            tokens = list(_lark().lex(text))
            prev: Token | None = tokens[-1] if tokens else None
        else:
            try:
                expected = set(e.accepts)
            except Exception:  # pragma: no cover - accepts() replays the parser
                expected = set(e.expected)
            history = getattr(e, "token_history", None) or []
            prev = history[-1] if history else None
        found = _describe_token(tok)
        if prev is not None and expected & _VALUE_START and not expected & _OPERATORS:
            after = str(prev)
            if prev.type in ("AND", "OR", "NOT", "IN", "LIKE", "BETWEEN", "IS"):
                after = after.upper()
            return _error(f"expected a value after '{after}' at {where}, found {found}")
        return _error(f"unexpected {found} at {where}; expected {_describe_expected(expected)}")
    if isinstance(e, UnexpectedEOF):
        line, column = _end_position(text)
        return _error(f"unexpected end of the query at {_at(line, column)}")
    return _error(str(e))  # pragma: no cover - lark has no other kinds


def _depth(node: ast.Expr) -> int:
    """Nesting depth, without recursion (the compiler recurses over the tree)."""
    best = 0
    stack: list[tuple[ast.Expr, int]] = [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        for child in ast.children(n):
            stack.append((child, d + 1))
    return best


def parse(text: str) -> ast.Expr:
    """Parse ``text`` into an expression tree; raise InvalidArgument if malformed."""
    if isinstance(text, bytes):  # a proto2 string field that is not valid UTF-8
        raise _error("the query is not valid UTF-8")
    if not isinstance(text, str):
        raise _error(f"expected a string, got {type(text).__name__}")
    if len(text) > MAX_QUERY_LENGTH:
        raise _error(f"the query is too long ({len(text)} characters; at most {MAX_QUERY_LENGTH})")
    if not text.strip():
        raise _error("the query is empty")
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    try:
        result = _ToAst().transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, InvalidArgument):
            raise e.orig_exc from None
        raise
    if not isinstance(result, ast.Node):  # pragma: no cover - the grammar always gives one
        raise _error("the query is not an expression")
    tree_ = cast(ast.Expr, result)
    if _depth(tree_) > MAX_DEPTH:
        raise _error(f"the query is nested too deeply (at most {MAX_DEPTH} levels)")
    return tree_
