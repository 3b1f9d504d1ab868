"""The SDK's transport to ``lineage serve`` over the native ``lineage.v1`` gRPC API.

Only ``grpcio`` and ``protobuf`` are needed (the generated modules load under protobuf 4,
5 and 6), never ``ml_metadata``. A server that cannot be reached, or stops answering,
raises :class:`lineage.errors.Unavailable` (the SDK spools); a server without the blob
endpoints answers UNIMPLEMENTED, which ``upload`` turns into ``None``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import grpc

from lineage import errors
from lineage._proto.lineage.v1 import lineage_pb2 as pb
from lineage._proto.lineage.v1 import lineage_pb2_grpc as pb_grpc
from lineage.steps import ArtifactRecord, CachedStep, StepBlob, StepReport, StepResult

from . import config
from . import proto_convert as cv
from .config import Target
from .transport import Transport

CHUNK = 1024 * 1024
MAX_MESSAGE = 64 * 1024 * 1024
_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.ABORTED,
}
_ERRORS: dict[grpc.StatusCode, type[errors.LineageError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.OUT_OF_RANGE: errors.OutOfRange,
    grpc.StatusCode.DATA_LOSS: errors.DataLoss,
    grpc.StatusCode.INTERNAL: errors.Internal,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.InvalidArgument,
}


class Unimplemented(errors.LineageError):
    code = "UNIMPLEMENTED"


class GrpcTransport(Transport):
    def __init__(self, target: Target) -> None:
        self.target = target
        self.timeout = config.timeout()
        self._connect()

    def _connect(self) -> None:
        """A new channel. Its subchannels are its own: from grpc's process-wide pool it
        would get the connection of the channel it replaces, backoff and all."""
        self._channel = grpc.insecure_channel(
            self.target.address,
            options=[
                ("grpc.max_send_message_length", MAX_MESSAGE),
                ("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.use_local_subchannel_pool", 1),
            ],
        )
        self._stub = pb_grpc.LineageServiceStub(self._channel)

    # -- errors ----------------------------------------------------------------------

    def _failure(self, exc: grpc.RpcError) -> errors.LineageError:
        """The error to raise for ``exc``. After UNAVAILABLE the next call goes out on a
        new channel: grpc's channel, once its connection attempts had failed, kept
        answering UNAVAILABLE for seconds after the server was back (measured: 6-9 s after
        outages of 3-10 s), and reports that could have gone out were held meanwhile. The
        old channel is left to calls still on it and closes when they are done."""
        code = exc.code() if callable(getattr(exc, "code", None)) else None
        if code == grpc.StatusCode.UNAVAILABLE:
            self._connect()
        return self._error(exc)

    def _error(self, exc: grpc.RpcError) -> errors.LineageError:
        code = exc.code() if callable(getattr(exc, "code", None)) else None
        details = exc.details() if callable(getattr(exc, "details", None)) else str(exc)
        if code in _TRANSIENT or code is None:
            return errors.Unavailable(
                f"the Lineage server at {self.target.address} is unreachable "
                f"({code.name if code else 'no answer'}: {details})"
            )
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return Unimplemented(
                f"the Lineage server at {self.target.address} does not implement this call "
                f"({details}); upgrade the server"
            )
        return _ERRORS.get(code, errors.LineageError)(details or code.name)

    def _call(self, method: Any, request: Any, *, retries: int = 2) -> Any:
        delay = 0.2
        for attempt in range(retries + 1):
            try:
                return method(request, timeout=self.timeout)
            except grpc.RpcError as exc:
                error = self._failure(exc)
                if not isinstance(error, errors.Unavailable) or attempt == retries:
                    raise error from None
                time.sleep(delay)
                delay *= 3
        raise AssertionError("unreachable")

    # -- steps -----------------------------------------------------------------------

    def report(self, report: StepReport) -> StepResult:
        response = self._call(self._stub.ReportStep, cv.report_to_pb(report))
        return cv.result_from_pb(response)

    def find_cached(self, cache_key: str) -> CachedStep | None:
        response = self._call(
            self._stub.FindCachedStep, pb.FindCachedStepRequest(cache_key=cache_key)
        )
        return cv.cached_from_pb(response)

    def resolve(self, refs: list[ArtifactRecord]) -> list[ArtifactRecord | None]:
        response = self._call(
            self._stub.ResolveArtifacts,
            pb.ResolveArtifactsRequest(refs=[cv.artifact_to_pb(r) for r in refs]),
        )
        return [cv.artifact_from_pb(a) if a.id else None for a in response.artifacts]

    # -- blobs -----------------------------------------------------------------------

    def upload(self, path: Path, sha256: str, size: int) -> StepBlob | None:
        def requests() -> Iterator[pb.UploadBlobRequest]:
            yield pb.UploadBlobRequest(header=pb.UploadHeader(size=size, expected_sha256=sha256))
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield pb.UploadBlobRequest(chunk=chunk)

        # Long uploads: a deadline proportional to the size (at least 1 MiB/s).
        deadline = max(self.timeout, size / (1024 * 1024) + self.timeout)
        try:
            response = self._stub.UploadBlob(requests(), timeout=deadline)
        except grpc.RpcError as exc:
            error = self._failure(exc)
            if isinstance(error, Unimplemented):
                return None
            raise error from None
        blob = response.blob
        if blob.sha256 != sha256 or int(blob.size) != size:
            raise errors.DataLoss(
                f"the server stored {blob.size} bytes with sha256 {blob.sha256} for {path}, "
                f"expected {size} bytes with sha256 {sha256}"
            )
        return StepBlob(blob.sha256, int(blob.size), blob.uri)

    def download(self, blob: StepBlob, artifact_id: int, handle: BinaryIO) -> None:
        request = pb.DownloadBlobRequest(sha256=blob.sha256)
        if not blob.sha256:
            request = pb.DownloadBlobRequest(artifact_id=artifact_id)
        deadline = max(self.timeout, (blob.size or 0) / (1024 * 1024) + self.timeout)
        try:
            for message in self._stub.DownloadBlob(request, timeout=deadline):
                if message.chunk:
                    handle.write(message.chunk)
        except grpc.RpcError as exc:
            raise self._failure(exc) from None

    def reachable(self, timeout: float) -> bool:
        ready = grpc.channel_ready_future(self._channel)
        try:
            ready.result(timeout=timeout)
        except grpc.FutureTimeoutError:
            ready.cancel()  # else it keeps watching (and holding) the channel
            return False
        return True

    def close(self) -> None:
        self._channel.close()
