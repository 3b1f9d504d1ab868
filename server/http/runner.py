"""Run the HTTP app with uvicorn in a background thread beside the gRPC server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn

from lineage.server.config import ServerConfig
from lineage.server.http.app import build_app
from lineage.store.store import Store


class HttpServer:
    def __init__(self, server: uvicorn.Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    def stop(self, timeout: float = 15.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)


def start_http(store: Store, config: ServerConfig, **extras: Any) -> tuple[HttpServer, int]:
    """Bind first (so a busy port fails here, clearly), then serve in a thread.
    ``extras`` go to the app's ``AppState.extras`` (e.g. ``blob_store``)."""
    # IPPROTO_TCP explicitly: with protocol 0 asyncio leaves Nagle on for accepted
    # connections, and every response on a kept-alive connection waits ~40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.http_port))
    port = sock.getsockname()[1]
    uv_config = uvicorn.Config(
        build_app(store, config, **extras),
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="websockets-sansio",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(uv_config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]

    def serve() -> None:
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=serve, name="lineage-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return HttpServer(server, thread), port
