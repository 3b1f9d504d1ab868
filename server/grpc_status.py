"""Core errors as gRPC statuses, and the guard every unary handler runs under."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc

from lineage.errors import LineageError
from lineage.server import metrics

STATUS = {
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
    "ALREADY_EXISTS": grpc.StatusCode.ALREADY_EXISTS,
    "FAILED_PRECONDITION": grpc.StatusCode.FAILED_PRECONDITION,
    "ABORTED": grpc.StatusCode.ABORTED,
    "OUT_OF_RANGE": grpc.StatusCode.OUT_OF_RANGE,
    "UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
    "UNIMPLEMENTED": grpc.StatusCode.UNIMPLEMENTED,
    "INTERNAL": grpc.StatusCode.INTERNAL,
    "DATA_LOSS": grpc.StatusCode.DATA_LOSS,
}

Handler = Callable[[Any, Any, grpc.ServicerContext], Any]


def status_of(code: str) -> grpc.StatusCode:
    return STATUS.get(code, grpc.StatusCode.UNKNOWN)


def guarded(
    log: logging.Logger, *, invalid: tuple[type[Exception], ...] = ()
) -> Callable[[Handler], Handler]:
    """Run a unary handler ``(self, request, context)``: a core error aborts with its
    status and message, an exception of a type in ``invalid`` with INVALID_ARGUMENT, and
    anything else with INTERNAL (the traceback goes to the log only); the call's latency
    and status code are recorded in the metrics."""

    def decorate(method: Handler) -> Handler:
        name = method.__name__

        @functools.wraps(method)
        def handler(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            code = "OK"
            try:
                return method(self, request, context)
            except LineageError as exc:
                code = exc.code
                context.abort(status_of(exc.code), exc.message)
            except invalid as exc:
                code = "INVALID_ARGUMENT"
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            except Exception:
                code = "INTERNAL"
                log.exception("%s failed", name)
                context.abort(
                    grpc.StatusCode.INTERNAL,
                    f"{name} failed on the server; the error is in the server log",
                )
            finally:
                metrics.observe_grpc(name, code, time.perf_counter() - started)

        return handler

    return decorate
