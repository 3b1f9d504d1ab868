"""Errors as clients see them: a clear message and a machine-readable code, nothing
internal.

* The core's errors (:class:`lineage.errors.LineageError`: a bad filter, an unknown id,
  a refused write) keep their message, with ``extensions.code`` set to their status
  (``INVALID_ARGUMENT``, ``NOT_FOUND``, ``FAILED_PRECONDITION``, ...).
* Parse, validation and limit errors keep graphql-core's message.
* Anything else is unexpected: the client gets ``internal error`` with an error id, and
  the server log gets the exception and its traceback under that id. No SQL, no stack
  trace, no exception text reaches the client.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from lineage.errors import LineageError

log = logging.getLogger("lineage.server.graphql")

INTERNAL_MESSAGE = "internal error: the request could not be completed (error id {id})"


def _rebuilt(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def format_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    extensions = dict(error.extensions or {})
    if original is None or isinstance(original, GraphQLError):
        if original is not None and original.extensions:
            extensions = {**original.extensions, **extensions}
        default = (
            "GRAPHQL_VALIDATION_FAILED"
            if error.path is None and not error.message.startswith("Variable '$")
            else "BAD_USER_INPUT"
        )
        extensions.setdefault("code", default)
        return _rebuilt(error, error.message, extensions)
    if isinstance(original, LineageError):
        return _rebuilt(error, original.message, {**extensions, "code": original.code})
    if error.path is None and isinstance(original, ValueError | TypeError):
        # Coercion of variables and literals (e.g. a Long out of range): graphql-core
        # words the message from our scalar parsers, which say nothing internal.
        extensions.setdefault("code", "BAD_USER_INPUT")
        return _rebuilt(error, error.message, extensions)
    error_id = uuid.uuid4().hex[:12]
    log.error(
        "unexpected error %s at %s: %s",
        error_id,
        ".".join(str(p) for p in error.path or ()) or "<operation>",
        type(original).__name__,
        exc_info=(type(original), original, original.__traceback__),
    )
    return _rebuilt(
        error, INTERNAL_MESSAGE.format(id=error_id), {"code": "INTERNAL", "errorId": error_id}
    )


class ErrorFormatter(SchemaExtension):
    """Rewrite every error of a result (and of each subscription event) as above."""

    def __init__(self) -> None:
        self._streamed = False

    def _process(self, result: Any) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [format_error(e) for e in errors]

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        if not self._streamed:
            self._process(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._streamed = True
        self._process(result)
        yield None
