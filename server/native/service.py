"""The native ``lineage.v1.LineageService``: assembled from one module per concern.

``steps_service`` answers ReportStep and FindCachedStep, ``blob_service`` UploadBlob and
DownloadBlob. Each is a mixin of handlers; a missing one answers UNIMPLEMENTED.
"""

from __future__ import annotations

import importlib
from typing import Any

import grpc

from lineage._proto.lineage.v1 import lineage_pb2, lineage_pb2_grpc
from lineage.store.store import Store

SERVICE_NAME = lineage_pb2.DESCRIPTOR.services_by_name["LineageService"].full_name
MIXIN_MODULES = ("lineage.server.native.steps_service", "lineage.server.native.blob_service")


def _mixins() -> list[type]:
    found = []
    for name in MIXIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            if exc.name == name:
                continue
            raise
        found.append(module.Handlers)
    return found


def add_native_services(server: grpc.Server, store: Store, **context: Any) -> list[str]:
    """Register the native service; returns the service names for reflection."""
    bases = (*_mixins(), lineage_pb2_grpc.LineageServiceServicer)
    servicer_class = type("LineageServicer", bases, {})
    servicer = servicer_class()
    servicer.store = store
    servicer.context = context
    lineage_pb2_grpc.add_LineageServiceServicer_to_server(servicer, server)
    return [SERVICE_NAME]
