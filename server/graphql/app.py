"""The ASGI app serving the schema: queries and mutations over HTTP (GraphiQL in a
browser), subscriptions over websocket (graphql-transport-ws, and the older graphql-ws).
Each operation gets the request's store (``state.store_for(request)``) and fresh
DataLoaders."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from lineage.server.graphql.context import GraphQLContext
from lineage.server.graphql.schema import schema as default_schema
from lineage.store.store import Store


class LineageGraphQL(GraphQL[GraphQLContext, None]):
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

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GraphQLContext:
        store: Store = self._store_for(request)
        return GraphQLContext.for_store(store, request=request, response=response)


def graphql_app(store_for: Any, schema: Any = None) -> LineageGraphQL:
    """``store_for(request) -> Store``: the store of each request (AppState.store_for)."""
    return LineageGraphQL(store_for, schema)
