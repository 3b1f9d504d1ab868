"""ReportStep, FindCachedStep and ResolveArtifacts of ``lineage.v1.LineageService``.

Each is one call into the core (``lineage.steps``) through the per-request store; core
errors become gRPC status codes with their messages (the SDK shows them to the user).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc

from lineage._proto.lineage.v1 import lineage_pb2 as pb
from lineage.client import proto_convert as cv
from lineage.errors import LineageError
from lineage.server.grpc_status import status_of
from lineage.steps import find_cached_step, record_step, resolve_artifacts

log = logging.getLogger("lineage.server.native")


def _observe(name: str, code: str, seconds: float) -> None:
    try:
        from lineage.server import metrics
    except ImportError:  # pragma: no cover - metrics are part of the server install
        return
    observe = getattr(metrics, "observe_grpc", None)
    if observe is not None:
        observe(name, code, seconds)


def _rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def handler(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        started = time.perf_counter()
        code = "OK"
        try:
            return method(self, request, context)
        except LineageError as exc:
            code = exc.code
            context.abort(status_of(exc.code), exc.message)
        except (TypeError, ValueError) as exc:
            code = "INVALID_ARGUMENT"
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except Exception:
            code = "INTERNAL"
            log.exception("%s failed", method.__name__)
            context.abort(
                grpc.StatusCode.INTERNAL,
                f"{method.__name__} failed on the server; the error is in the server log",
            )
        finally:
            _observe(method.__name__, code, time.perf_counter() - started)

    return handler


class Handlers:
    """Mixin of the native service (``server/native/service.py`` assembles it)."""

    store: Any
    context: dict[str, Any]

    def _store(self, context: grpc.ServicerContext) -> Any:
        # One database today; per-tenant stores will be picked from the caller here.
        return self.store

    @_rpc
    def ReportStep(self, request: pb.ReportStepRequest, context: grpc.ServicerContext) -> Any:
        result = record_step(self._store(context), cv.report_from_pb(request))
        return cv.result_to_pb(result)

    @_rpc
    def FindCachedStep(
        self, request: pb.FindCachedStepRequest, context: grpc.ServicerContext
    ) -> Any:
        cached = self._store(context).read(lambda c: find_cached_step(c, request.cache_key))
        blobs = getattr(self, "context", {}).get("blob_store")
        if cached is not None and blobs is not None:
            cached.check_blobs(blobs.exists)
        return cv.cached_to_pb(cached)

    @_rpc
    def ResolveArtifacts(
        self, request: pb.ResolveArtifactsRequest, context: grpc.ServicerContext
    ) -> Any:
        refs = [cv.artifact_from_pb(r) for r in request.refs]
        found = self._store(context).read(lambda c: resolve_artifacts(c, refs))
        return pb.ResolveArtifactsResponse(
            artifacts=[
                cv.artifact_to_pb(a) if a is not None else pb.ArtifactRecord() for a in found
            ]
        )
