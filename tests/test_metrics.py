"""The server's Prometheus metrics (server/metrics.py): every gRPC call is counted by
method and status code, and timed by method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from ml_metadata.proto import metadata_store_pb2 as pb
from ml_metadata.proto import metadata_store_service_pb2 as svc
from prometheus_client.parser import text_string_to_metric_families

from lineage.server import metrics
from lineage.server.grpc_app import StoreHandle
from lineage.server.mlmd.service import MetadataStoreService
from lineage.store.store import Store


class Aborted(Exception):
    pass


class Context:
    """Enough of grpc.ServicerContext: abort raises, as grpc's does."""

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)


def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.render()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def requests(seen: dict[Any, float], method: str, code: str) -> float:
    key = ("lineage_grpc_requests_total", (("code", code), ("method", method)))
    return seen.get(key, 0.0)


def timed(seen: dict[Any, float], method: str) -> float:
    return seen.get(("lineage_grpc_request_seconds_count", (("method", method),)), 0.0)


def test_calls_are_counted_by_method_and_code_and_timed(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        service = MetadataStoreService(StoreHandle(store))
        before = samples()
        for name in ("A", "B", "A"):  # the third is the same type again: OK
            service.PutArtifactType(
                svc.PutArtifactTypeRequest(artifact_type=pb.ArtifactType(name=name)), Context()
            )
        with pytest.raises(Aborted):  # no such type
            service.GetArtifactType(svc.GetArtifactTypeRequest(type_name="missing"), Context())
        after = samples()
    finally:
        store.close()
    assert requests(after, "PutArtifactType", "OK") - requests(before, "PutArtifactType", "OK") == 3
    assert (
        requests(after, "GetArtifactType", "NOT_FOUND")
        - requests(before, "GetArtifactType", "NOT_FOUND")
        == 1
    )
    assert requests(after, "GetArtifactType", "OK") == requests(before, "GetArtifactType", "OK")
    assert timed(after, "PutArtifactType") - timed(before, "PutArtifactType") == 3
    assert timed(after, "GetArtifactType") - timed(before, "GetArtifactType") == 1
