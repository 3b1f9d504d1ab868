"""ReportStep, FindCachedStep and ResolveArtifacts of ``lineage.v1.LineageService``.

Each is one call into the core (``lineage.steps``) through the per-request store; core
errors become gRPC status codes with their messages (the SDK shows them to the user).
"""

from __future__ import annotations

import logging
from typing import Any

import grpc

from lineage._proto.lineage.v1 import lineage_pb2 as pb
from lineage.client import proto_convert as cv
from lineage.server.grpc_status import guarded
from lineage.steps import find_cached_step, record_step, resolve_artifacts

log = logging.getLogger("lineage.server.native")


_rpc = guarded(log, invalid=(TypeError, ValueError))


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
