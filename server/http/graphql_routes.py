"""``/graphql``: the GraphQL API (queries, mutations, GraphiQL; subscriptions over
websocket). See :mod:`lineage.server.graphql`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Route, WebSocketRoute

from lineage.server.graphql.app import graphql_app

if TYPE_CHECKING:
    from lineage.server.http.app import AppState

PATH = "/graphql"


def routes(state: AppState) -> list[BaseRoute]:
    app = graphql_app(state.store_for)
    return [Route(PATH, app, methods=["GET", "POST"]), WebSocketRoute(PATH, app)]
