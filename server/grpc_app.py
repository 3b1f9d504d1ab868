"""The gRPC server: MLMD's service, health checking and reflection on one port."""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from ml_metadata.proto import metadata_store_service_pb2 as svc
from ml_metadata.proto import metadata_store_service_pb2_grpc as svc_grpc

from lineage.server.grpc_decoding import RequestDecoding
from lineage.server.mlmd.service import MetadataStoreService
from lineage.store.store import Store

MLMD_SERVICE = svc.DESCRIPTOR.services_by_name["MetadataStoreService"].full_name


class StoreHandle:
    """Gives each request its store. One database today; per-tenant stores later pick
    the database from the caller's credentials here, and nowhere else."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __call__(self, context: Any) -> Store:
        return self._store


def build_grpc_server(
    store: Store,
    *,
    host: str,
    port: int,
    max_message_bytes: int,
    workers: int,
    **context: Any,
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """``context`` reaches the native service (e.g. ``blob_store``)."""
    options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),
        # A blob upload's receive window stays at 4 MiB per stream. With BDP probing the
        # window grows while the blob store is slower than the client, and gRPC held up
        # to ~40 MiB of a 2 GiB upload's messages (bench/bench_blobs_server.py: the
        # server's RSS grew past 100 MiB). 4 MiB still fills a 10 ms round trip at 400 MB/s.
        ("grpc.http2.bdp_probe", 0),
        ("grpc.http2.lookahead_bytes", 4 * 1024 * 1024),
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers),
        options=options,
        interceptors=[RequestDecoding()],
    )
    svc_grpc.add_MetadataStoreServiceServicer_to_server(
        MetadataStoreService(StoreHandle(store)), server
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    services = [MLMD_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME]
    from lineage.server.native.service import add_native_services

    services.extend(add_native_services(server, store, **context))
    reflection.enable_server_reflection(services, server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        raise OSError("the address is in use or not allowed") from None
    if bound == 0:
        raise OSError("the address is in use or not allowed")
    for name in ("", MLMD_SERVICE):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, bound, health_servicer
