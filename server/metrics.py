"""Prometheus metrics of the server: request counts and latencies for gRPC and HTTP."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry()

GRPC_REQUESTS = Counter(
    "lineage_grpc_requests_total",
    "gRPC requests by method and status code",
    ["method", "code"],
    registry=REGISTRY,
)
GRPC_SECONDS = Histogram(
    "lineage_grpc_request_seconds", "gRPC request latency by method", ["method"], registry=REGISTRY
)
HTTP_REQUESTS = Counter(
    "lineage_http_requests_total",
    "HTTP requests by route and status",
    ["route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "lineage_http_request_seconds", "HTTP request latency by route", ["route"], registry=REGISTRY
)


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# The labelled series of each (method, code), looked up once: labels() takes a lock and
# checks its arguments on every call, and every gRPC call lands here.
_GRPC_SERIES: dict[tuple[str, str], tuple[Any, Any]] = {}


def observe_grpc(method: str, code: str, seconds: float) -> None:
    series = _GRPC_SERIES.get((method, code))
    if series is None:
        series = (GRPC_REQUESTS.labels(method, code), GRPC_SECONDS.labels(method))
        series = _GRPC_SERIES.setdefault((method, code), series)
    series[0].inc()
    series[1].observe(seconds)


class HttpMetricsMiddleware:
    """ASGI middleware counting requests by route template (not raw path: bounded labels)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(label, str(status["code"])).inc()
            HTTP_SECONDS.labels(label).observe(time.perf_counter() - started)
