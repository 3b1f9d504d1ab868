"""The ASGI app serving the schema: queries and mutations over HTTP (GraphiQL in a
browser), subscriptions over websocket (graphql-transport-ws, and the older graphql-ws).
Each operation gets the request's store (``state.store_for(request)``) and fresh
DataLoaders.

Request bodies and websocket messages are checked before strawberry reads them: JSON that
Python's decoder chokes on (invalid UTF-8, nesting past its recursion limit, lone
surrogates no database can store) is refused like any malformed JSON (HTTP 400, websocket
close 4400), an HTTP body must be a JSON object, and a websocket message that is not a
well-formed protocol message closes the connection with 4400 and the reason."""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncGenerator
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from lineage.server.graphql.context import GraphQLContext
from lineage.server.graphql.schema import schema as default_schema
from lineage.store.store import Store

SUBSCRIPTIONS_OVER_HTTP = (
    "subscriptions are served over a websocket at /graphql (subprotocol "
    "graphql-transport-ws or graphql-ws), not as a plain HTTP request"
)
_SUBSCRIPTION_WORD = re.compile(r"\bsubscription\b")

# Message types naming an operation, and those starting one (with a payload to check).
_OPERATION_MESSAGES = ("subscribe", "start", "complete", "stop")
_START_MESSAGES = ("subscribe", "start")


def decode_json(data: str | bytes) -> object:
    """``json.loads``, with every way it fails (or yields text that cannot be encoded) as
    a JSONDecodeError."""
    try:
        value = json.loads(data)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # lone surrogates raise
    except (UnicodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else "not valid UTF-8"
        raise json.JSONDecodeError(reason, "", 0) from None
    return value


def encode_json(data: object) -> str:
    """``json.dumps`` that always writes JSON: a NaN or infinite number (structs keep
    them, as MLMD does) becomes the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``,
    protobuf's JSON spelling, where plain ``json.dumps`` would write bare ``NaN``,
    which no browser parses."""
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(data), separators=(",", ":"), allow_nan=False)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    kinds = ((bool, "a boolean"), (int | float, "a number"), (str, "a string"), (list, "a list"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "an object")


def is_subscription(query: object, operation_name: str | None) -> bool:
    """Whether the operation a request runs is a subscription (False when the query does
    not parse or names no operation: executing it reports that)."""
    if not isinstance(query, str) or not _SUBSCRIPTION_WORD.search(query):
        return False
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation == OperationType.SUBSCRIPTION


def message_problem(message: object) -> str | None:
    """What is wrong with a websocket message (None: nothing strawberry would trip on)."""
    if not isinstance(message, dict):
        return f"a message must be a JSON object, got {_json_kind(message)}"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "a message needs a string 'type'"
    if kind in _OPERATION_MESSAGES and not isinstance(message.get("id"), str | int):
        return f"a {kind} message needs an 'id'"
    if kind not in _START_MESSAGES:
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return f"a {kind} message needs a payload with a string 'query'"
    for name, types in (
        ("variables", dict),
        ("extensions", dict),
        ("operationName", str),
    ):
        if payload.get(name) is not None and not isinstance(payload[name], types):
            return f"payload.{name} must be {'an object' if types is dict else 'a string'}"
    return None


class CheckedWebSocket(ASGIWebSocketAdapter):
    """Closes the connection (4400, with the reason) on a message that is not a
    well-formed protocol message, instead of letting the protocol handler crash on it."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        async for message in super().iter_json(ignore_parsing_errors=ignore_parsing_errors):
            problem = message_problem(message)
            if problem is not None:
                await self.close(4400, problem)
                return
            yield message


class LineageGraphQL(GraphQL[GraphQLContext, None]):
    websocket_adapter_class = CheckedWebSocket  # type: ignore[assignment]

    def __init__(self, store_for: Any, schema: Any = None) -> None:
        super().__init__(
            schema or default_schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            keep_alive=True,
            keep_alive_interval=15,
            max_subscriptions_per_connection=20,
        )
        self._store_for = store_for

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data)

    def encode_json(self, data: object) -> str | bytes:
        return encode_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            value = decode_json(data)
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"Unable to parse request body as JSON: {exc.msg}") from None
        if not isinstance(value, dict | list):  # a list is a batch: strawberry answers it
            raise HTTPException(400, f"expected a JSON object, got {_json_kind(value)}")
        return value

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        """A GET request's parameters: ``variables`` and ``extensions`` as in a POST body
        (a JSON object, or null for none)."""
        parsed = dict(params)
        for name in ("variables", "extensions"):
            raw = parsed.get(name)
            if not raw:
                continue
            try:
                value = decode_json(raw)
            except json.JSONDecodeError as exc:
                raise HTTPException(400, f"{name} is not JSON: {exc.msg}") from None
            if value is not None and not isinstance(value, dict):
                raise HTTPException(400, f"{name} must be a JSON object, got {_json_kind(value)}")
            parsed[name] = value
        return parsed

    async def execute_single(  # noqa: PLR0913 - strawberry's signature
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: Any,
    ) -> Any:
        if is_subscription(request_data.query, request_data.operation_name):
            # Run as a query, a subscription fails with "Cannot return null".
            raise HTTPException(400, SUBSCRIPTIONS_OVER_HTTP)
        return await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=request_data,
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GraphQLContext:
        store: Store = self._store_for(request)
        return GraphQLContext.for_store(store, request=request, response=response)


def graphql_app(store_for: Any, schema: Any = None) -> LineageGraphQL:
    """``store_for(request) -> Store``: the store of each request (AppState.store_for)."""
    return LineageGraphQL(store_for, schema)
