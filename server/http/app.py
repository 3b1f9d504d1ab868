"""The HTTP application: one Starlette app, routes contributed by small modules.

Each feature (GraphQL, the web UI, blob downloads) lives in its own module exposing
``routes(state) -> list[BaseRoute]``; this file only assembles them, so features stay
independent and the app holds no state but the per-request store handle.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from lineage.server import metrics
from lineage.server.config import ServerConfig
from lineage.store.store import Store

log = logging.getLogger("lineage.server.http")

# Feature modules, each with routes(state); a missing module (feature not built, or an
# optional extra not installed) is skipped.
FEATURE_MODULES = (
    "lineage.server.http.graphql_routes",
    "lineage.server.http.blob_routes",
    "lineage.server.http.ui_routes",
)


@dataclass
class AppState:
    """What every request handler may reach: the store (through ``store_for``) and settings."""

    store: Store
    config: ServerConfig
    extras: dict[str, Any] = field(default_factory=dict)

    def store_for(self, request: Request | None = None) -> Store:
        """The store of this request. One database today; tenancy picks it here."""
        return self.store


async def healthz(request: Request) -> Response:
    state: AppState = request.app.state.lineage
    try:
        state.store_for(request).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not healthy
        log.warning("health check failed: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def metrics_endpoint(request: Request) -> Response:
    body, content_type = metrics.render()
    return PlainTextResponse(body, media_type=content_type)


class ClientGone:
    """A client that disconnects before its request body arrived has nobody to answer:
    the request ends quietly instead of as an "Exception in ASGI application" traceback."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            pass


def build_app(store: Store, config: ServerConfig, **extras: Any) -> Starlette:
    """``extras`` (e.g. ``blob_store``) reach the feature modules as ``state.extras``."""
    state = AppState(store=store, config=config, extras=dict(extras))
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/metrics", metrics_endpoint),
    ]
    for module_name in FEATURE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # the feature module itself does not exist
            raise
        routes.extend(module.routes(state))
    app = Starlette(routes=routes)
    app.state.lineage = state
    app.add_middleware(metrics.HttpMetricsMiddleware)
    app.add_middleware(ClientGone)
    return app
