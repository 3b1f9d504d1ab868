"""The gRPC status code of each core error (``LineageError.code``), shared by services."""

from __future__ import annotations

import grpc

STATUS = {
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
    "ALREADY_EXISTS": grpc.StatusCode.ALREADY_EXISTS,
    "FAILED_PRECONDITION": grpc.StatusCode.FAILED_PRECONDITION,
    "ABORTED": grpc.StatusCode.ABORTED,
    "OUT_OF_RANGE": grpc.StatusCode.OUT_OF_RANGE,
    "UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
    "INTERNAL": grpc.StatusCode.INTERNAL,
    "DATA_LOSS": grpc.StatusCode.DATA_LOSS,
}


def status_of(code: str) -> grpc.StatusCode:
    return STATUS.get(code, grpc.StatusCode.UNKNOWN)
