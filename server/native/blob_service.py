"""UploadBlob and DownloadBlob of ``lineage.v1.LineageService``, and where an artifact's
bytes are (shared with the HTTP downloads in ``lineage.server.http.blob_routes``).

Upload: the first message is the header (``size``: -1 when unknown; ``expected_sha256``;
``artifact_id``), then ``chunk`` messages. The chunks stream into ``BlobStore.put`` (which
stages or writes them, hashing and counting on the way, and publishes the object only once
the whole stream arrived and matched what the header declared); the blob is then recorded
(``lineage_blob``, and with an artifact id its ``lineage_sha256``/``lineage_size``) in one
transaction. A client that cancels, a stream that breaks, or bytes that do not match leave
no visible object and no record. Nothing is held in memory beyond a few chunks.

Download: by ``sha256`` or ``artifact_id``, with ``offset``/``length``. The first message
carries the ``BlobRef`` (the whole object's size), then chunks of at most 1 MiB. A whole
blob is verified while it streams; each chunk is sent only once the next one has been read,
so when the checksum does not match at the end the last chunk is never sent and the call
ends with DATA_LOSS: a client never receives all the bytes of a corrupted object.

An artifact with no recorded blob is served from its URI when that URI names an object of
the server's own store (the same bucket for ``s3://``/``minio://``/``gs://``, a path inside
the store's directory for local disk): how artifacts that KFP wrote are read. Such bytes
have no checksum to verify (their ``BlobRef.sha256`` is empty); URIs elsewhere are refused,
so an artifact's URI cannot make the server read other buckets or local files.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from lineage._proto.lineage.v1 import lineage_pb2 as pb
from lineage.blobs import BlobReader, BlobRef, BlobStore, open_uri, parse_uri, record_blob
from lineage.blobs.base import Presigned, normalize_sha256
from lineage.blobs.records import SHA256_PROPERTY, SIZE_PROPERTY, attach_blob
from lineage.errors import (
    DataLoss,
    InvalidArgument,
    LineageError,
    NotFound,
    OutOfRange,
)
from lineage.server import metrics
from lineage.server.grpc_status import status_of
from lineage.store.schema import artifact_property_table, artifact_table, blob_table

log = logging.getLogger("lineage.server.blobs")

__all__ = ["ARCHIVE_PROPERTY", "ArtifactBytes", "BlobResolver", "Handlers", "held_back"]

#: Largest ``chunk`` of a DownloadBlob message.
MESSAGE_CHUNK = 1024 * 1024
#: Custom property the SDK sets on an artifact whose bytes are a tar of a directory.
ARCHIVE_PROPERTY = "lineage_archive"


class _NoBlobStore(LineageError):
    code = "UNIMPLEMENTED"


def _now_ms() -> int:
    return int(time.time() * 1000)


def held_back(reader: BlobReader) -> Iterator[bytes]:
    """The reader's chunks, each handed over only once the next one has been read: the
    last one only after the reader verified the whole object. A checksum or size mismatch
    (DataLoss, raised where the stream would end) therefore keeps the last chunk back, and
    a consumer never gets every byte of a damaged object. Closes the reader."""
    with reader:
        previous: bytes | None = None
        for chunk in reader:
            if previous is not None:
                yield previous
            previous = chunk
        if previous is not None:
            yield previous


# -- where an artifact's bytes are -------------------------------------------------------


@dataclass
class ArtifactBytes:
    """The bytes of a blob or an artifact: a content-addressed blob of the server's store
    (``sha256`` set, verified on read), or an object at the artifact's URI (``key`` in
    ``store``, not verifiable)."""

    store: BlobStore
    size: int | None  # the recorded size, or the object's; None: not known yet (stat it)
    uri: str
    sha256: str | None = None
    key: str | None = None
    artifact_id: int | None = None
    name: str | None = None  # for a download's file name
    archive: str | None = None  # "tar": a directory packed by the SDK
    modified: float | None = None
    blake3: str | None = None  # recorded with the blob: what a whole read checks

    @property
    def verified(self) -> bool:
        return self.sha256 is not None

    def describe(self) -> str:
        what = f"sha256:{self.sha256}" if self.sha256 else self.uri
        return f"artifact {self.artifact_id} ({what})" if self.artifact_id else what

    def stat(self) -> int:
        """The object's size now (NotFound if it is gone); fills ``size`` if unknown."""
        if self.sha256 is not None:
            info = self.store.stat(self.sha256)
            if info is None:
                raise self._gone()
            if self.size is not None and info.size != self.size:
                raise DataLoss(
                    f"the stored object of {self.describe()} is {info.size} bytes, but "
                    f"{self.size} were recorded: it is damaged"
                )
            self.modified = info.modified
            self.size = info.size
            return info.size
        assert self.key is not None
        st = self.store.stat_key(self.key)
        if st is None:
            raise NotFound(
                f"{self.uri} does not exist (or is a directory, which cannot be downloaded)"
            )
        self.size, self.modified = st.size, st.modified
        return st.size

    def _gone(self) -> NotFound:
        where = f"artifact {self.artifact_id}'s blob" if self.artifact_id else "blob"
        return NotFound(f"{where} sha256:{self.sha256} is not in {self.store.describe()}")

    def open(self, start: int = 0, length: int | None = None) -> BlobReader:
        """A reader of bytes ``[start, start + length)`` (None: to the end). The whole of
        a content-addressed blob is verified (size and sha256); a part only by size."""
        if start < 0 or (length is not None and length < 0):
            raise InvalidArgument(f"offset and length must be >= 0, got {start} and {length}")
        if self.sha256 is not None:
            whole = start == 0 and (
                length is None or (self.size is not None and length >= self.size)
            )
            if whole:
                try:
                    reader = self.store.open(self.sha256, size=self.size, blake3=self.blake3)
                except NotFound:
                    raise self._gone() from None
                self.size = reader.size
                return reader
            total = self.size if self.size is not None else self.stat()
            if start > total:
                raise OutOfRange(
                    f"offset {start} is past the end of {self.describe()} ({total} bytes)"
                )
            end = total if length is None else min(total, start + length)
            try:
                return self.store.read_range(self.sha256, start, end, size=total)
            except NotFound:
                raise self._gone() from None
        assert self.key is not None
        total = self.size if self.size is not None else self.stat()
        if start > total:
            raise OutOfRange(f"offset {start} is past the end of {self.uri} ({total} bytes)")
        count = total - start if length is None else min(length, total - start)
        if count == 0:
            return BlobReader(iter(()), lambda: None, size=0, sha256=None, what=self.uri)
        # The raw-key read of the backend (BlobStore only has a whole-object open_key).
        chunks, close = self.store._read(self.key, start, count)
        return BlobReader(chunks, close, size=count, sha256=None, what=self.uri)

    def presigned_url(
        self, expires: timedelta = timedelta(hours=1), headers: Presigned | None = None
    ) -> str | None:
        """A URL of the object on the backend itself, where it has them (S3, GCS with
        signing credentials), answered with ``headers`` where the backend can; None
        otherwise."""
        if self.sha256 is not None:
            return self.store.presigned_get_url(self.sha256, expires, headers=headers)
        assert self.key is not None
        return self.store._presign(self.key, expires, headers or Presigned())

    def ref(self) -> pb.BlobRef:
        return pb.BlobRef(sha256=self.sha256 or "", size=self.size or 0, uri=self.uri)


@dataclass
class _ArtifactRow:
    id: int
    name: str | None
    uri: str | None
    sha256: str | None
    size: int | None
    archive: str | None
    blake3: str | None


def _artifact_row(c: Connection, artifact_id: int) -> _ArtifactRow | None:
    a, p = artifact_table, artifact_property_table
    row = c.execute(select(a.c.id, a.c.name, a.c.uri).where(a.c.id == artifact_id)).first()
    if row is None:
        return None
    props = {
        r.name: r
        for r in c.execute(
            select(p.c.name, p.c.string_value, p.c.int_value).where(
                p.c.artifact_id == artifact_id,
                p.c.is_custom_property == 1,
                p.c.name.in_([SHA256_PROPERTY, SIZE_PROPERTY, ARCHIVE_PROPERTY]),
            )
        )
    }
    sha = props[SHA256_PROPERTY].string_value if SHA256_PROPERTY in props else None
    size_row = props.get(SIZE_PROPERTY)
    size = (
        int(size_row.int_value) if size_row is not None and size_row.int_value is not None else None
    )
    archive = props[ARCHIVE_PROPERTY].string_value if ARCHIVE_PROPERTY in props else None
    b3 = _recorded(c, sha)[1] if sha else None
    return _ArtifactRow(int(row.id), row.name, row.uri, sha or None, size, archive, b3)


class BlobResolver:
    """Finds the bytes of a blob or of an artifact for the server's blob store."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self._roots: dict[str, BlobStore] = {}
        self._lock = threading.Lock()

    def blob(self, sha256: str, store: Any = None) -> ArtifactBytes:
        """A blob by sha256; with the metadata store, its recorded size and BLAKE3 are
        looked up, so a stored object of another size is refused before its first byte."""
        sha = normalize_sha256(sha256)
        size, b3 = store.read(lambda c: _recorded(c, sha)) if store is not None else (None, None)
        return ArtifactBytes(self.blobs, size, self.blobs.uri_for(sha), sha256=sha, blake3=b3)

    def artifact(self, store: Any, artifact_id: int) -> ArtifactBytes:
        if artifact_id <= 0:
            raise InvalidArgument(f"artifact id must be a positive integer, got {artifact_id}")
        row = store.read(lambda c: _artifact_row(c, artifact_id))
        if row is None:
            raise NotFound(f"artifact {artifact_id} does not exist")
        if row.sha256:
            sha = normalize_sha256(row.sha256)
            return ArtifactBytes(
                self.blobs,
                row.size,
                self.blobs.uri_for(sha),
                sha256=sha,
                artifact_id=artifact_id,
                name=_file_name(row),
                archive=row.archive,
                blake3=row.blake3,
            )
        if not row.uri:
            raise NotFound(f"artifact {artifact_id} has no bytes: no blob recorded and no URI")
        addressed = self.blobs.sha256_of_uri(row.uri)
        if addressed is not None:  # the URI is a content address of our store
            return ArtifactBytes(
                self.blobs,
                None,
                row.uri,
                sha256=addressed,
                artifact_id=artifact_id,
                name=_file_name(row),
                archive=row.archive,
            )
        root, key = self._open_in_store(row.uri, artifact_id)
        return ArtifactBytes(
            root,
            None,
            row.uri,
            key=key,
            artifact_id=artifact_id,
            name=_file_name(row),
            archive=row.archive,
        )

    def _open_in_store(self, uri: str, artifact_id: int) -> tuple[BlobStore, str]:
        """The store rooted where ``uri`` lives, if that is inside the server's store."""
        try:
            parsed = parse_uri(uri)
        except InvalidArgument:
            parsed = None
        blobs = self.blobs
        inside = False
        if parsed is not None:
            if blobs.kind == "local" and parsed.backend == "local":
                root = os.path.realpath(str(getattr(blobs, "root", "")))
                path = os.path.realpath(parsed.key)
                inside = bool(root) and os.path.commonpath([root, path]) == root and path != root
            elif blobs.kind in ("s3", "gcs") and parsed.backend == blobs.kind:
                inside = parsed.bucket == getattr(blobs, "bucket", None) and bool(parsed.key)
        if not inside:
            raise NotFound(
                f"artifact {artifact_id} has no recorded blob, and its URI {uri} is outside "
                f"the server's blob store ({blobs.describe()}): the server only serves bytes "
                "from its own store"
            )
        assert parsed is not None
        if parsed.backend == "local":
            return open_uri(uri)
        root_uri = f"{parsed.backend}://{parsed.bucket}"
        with self._lock:
            cached = self._roots.get(root_uri)
            if cached is None:
                cached, _ = open_uri(uri)
                self._roots[root_uri] = cached
        return cached, parsed.key

    def close(self) -> None:
        with self._lock:
            for root in self._roots.values():
                root.close()
            self._roots.clear()


def _file_name(row: _ArtifactRow) -> str:
    """A file name for the artifact's bytes: its URI's last segment, else its name."""
    name = ""
    if row.uri:
        name = row.uri.rstrip("/").rsplit("/", 1)[-1]
        if len(name) == 64 and all(c in "0123456789abcdef" for c in name):  # a content key
            name = ""
    if not name and row.name:
        name = row.name
    name = name or f"artifact-{row.id}"
    if row.archive == "tar" and not name.endswith(".tar"):
        name += ".tar"
    return name


# -- the gRPC handlers ---------------------------------------------------------------


def _abort(context: grpc.ServicerContext, exc: LineageError) -> None:
    context.abort(status_of(exc.code), exc.message)


class _ClientGone(Exception):
    """The client cancelled (or lost) the upload: its stream must not count as ended."""


class _Counted:
    """The chunks of an UploadBlob stream after its header, counted.

    gRPC's server sometimes reports a client's cancellation first as the end of the
    request stream and only an instant later as a cancellation. When the upload declared
    no size (nothing else tells a cut-off stream from a complete one), the end is only
    handed to the store once the call is seen still alive a moment later (``SETTLE``).
    """

    SETTLE = 0.1  # seconds; the gap measured here is well under a millisecond

    def __init__(self, requests: Iterator[Any], context: grpc.ServicerContext) -> None:
        self._requests = requests
        self.received = 0
        self.settle = False
        self._terminated = threading.Event()
        if not context.add_callback(self._terminated.set):
            self._terminated.set()

    def __iter__(self) -> Iterator[bytes]:
        for request in self._requests:
            part = request.WhichOneof("part")
            if part == "chunk":
                self.received += len(request.chunk)
                yield request.chunk
            elif part == "header":
                raise InvalidArgument("UploadBlob: a second header; send it once, first")
        if self.settle and self._terminated.wait(self.SETTLE):
            raise _ClientGone(f"the client went away after {self.received} bytes")


class Handlers:
    """Mixin of the native service (``server/native/service.py`` assembles it): the
    blob store is ``self.context["blob_store"]`` (``lineage serve`` opens it)."""

    store: Any
    context: dict[str, Any]

    def _metadata_store(self, context: grpc.ServicerContext) -> Any:
        # One database today; per-tenant stores will be picked from the caller here.
        return self.store

    def _blob_store(self) -> BlobStore:
        blobs = self.context.get("blob_store") if self.context else None
        if blobs is None:
            raise _NoBlobStore("this server was started without a blob store")
        return blobs  # type: ignore[no-any-return]

    def _blob_resolver(self) -> BlobResolver:
        resolver = self.context.get("_blob_resolver")
        if resolver is None:
            resolver = self.context.setdefault("_blob_resolver", BlobResolver(self._blob_store()))
        return resolver  # type: ignore[no-any-return]

    # -- upload ----------------------------------------------------------------------

    def UploadBlob(self, request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Any:
        started = time.perf_counter()
        code = "OK"
        chunks = _Counted(request_iterator, context)
        try:
            return self._upload(request_iterator, chunks, context)
        except (grpc.RpcError, _ClientGone):
            # The client went away (cancelled, deadline, connection lost) mid-stream:
            # put() stored nothing and nothing was recorded.
            code = "CANCELLED"
            log.info(
                "UploadBlob: the client stopped after %d bytes; nothing stored", chunks.received
            )
            context.abort(grpc.StatusCode.CANCELLED, "upload cancelled; nothing stored")
        except LineageError as exc:
            code = exc.code
            if code != "UNIMPLEMENTED":
                log.info("UploadBlob refused after %d bytes: %s", chunks.received, exc.message)
            _abort(context, exc)
        except Exception:
            code = "INTERNAL"
            log.exception("UploadBlob failed after %d bytes", chunks.received)
            context.abort(
                grpc.StatusCode.INTERNAL,
                "UploadBlob failed on the server; nothing stored; the error is in the server log",
            )
        finally:
            metrics.observe_grpc("UploadBlob", code, time.perf_counter() - started)

    def _upload(
        self, requests: Iterator[Any], chunks: _Counted, context: grpc.ServicerContext
    ) -> pb.UploadBlobResponse:
        blobs = self._blob_store()
        first = next(requests, None)
        if first is None or first.WhichOneof("part") != "header":
            raise InvalidArgument(
                "UploadBlob: the first message must be the header (size, expected_sha256, "
                "artifact_id), then the chunks"
            )
        header = first.header
        if header.size < -1:
            raise InvalidArgument(
                f"UploadBlob: size must be -1 (unknown) or >= 0, got {header.size}"
            )
        expected_size = header.size if header.size >= 0 else None
        chunks.settle = expected_size is None
        expected = normalize_sha256(header.expected_sha256) if header.expected_sha256 else None
        artifact_id = int(header.artifact_id)
        if artifact_id < 0:
            raise InvalidArgument(f"UploadBlob: artifact_id must be positive, got {artifact_id}")
        store = self._metadata_store(context)
        if artifact_id:
            # Fail before reading any byte; checked again when recording.
            if not store.read(lambda c: _artifact_exists(c, artifact_id)):
                raise NotFound(f"artifact {artifact_id} does not exist; nothing uploaded")
        existed = blobs.exists(expected) if expected is not None else None
        try:
            ref = blobs.put(chunks, expected_sha256=expected, expected_size=expected_size)
        except DataLoss as exc:
            if expected_size == 0 and chunks.received:
                raise DataLoss(
                    f"{exc.message} (the header's size is 0: set it to -1 when the size is unknown)"
                ) from None
            raise
        inserted = store.write(lambda c: _record(c, ref, artifact_id))
        # One upload of many racing with the same bytes records them first: that one
        # created them (unless they were in the store before any of them started).
        created = inserted and not existed
        log.debug(
            "UploadBlob stored sha256:%s (%d bytes, created=%s)", ref.sha256, ref.size, created
        )
        return pb.UploadBlobResponse(
            blob=pb.BlobRef(sha256=ref.sha256, size=ref.size, uri=ref.uri), created=created
        )

    # -- download --------------------------------------------------------------------

    def DownloadBlob(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        started = time.perf_counter()
        code = "OK"
        sent = 0
        source: ArtifactBytes | None = None
        try:
            source = self._download_source(request, context)
            reader = source.open(int(request.offset), int(request.length) or None)
            with reader:  # closed (connection released) when the client leaves early
                yield pb.DownloadBlobResponse(blob=source.ref())
                pieces: Iterable[bytes] = held_back(reader) if source.verified else reader
                for chunk in pieces:
                    for piece in _slices(chunk, MESSAGE_CHUNK):
                        sent += len(piece)
                        yield pb.DownloadBlobResponse(chunk=piece)
        except LineageError as exc:
            code = exc.code
            if isinstance(exc, DataLoss) or code in ("UNAVAILABLE", "INTERNAL"):
                what = source.describe() if source is not None else "blob"
                log.error("DownloadBlob of %s failed after %d bytes: %s", what, sent, exc.message)
            _abort(context, exc)
        except Exception:
            code = "INTERNAL"
            log.exception("DownloadBlob failed after %d bytes", sent)
            context.abort(
                grpc.StatusCode.INTERNAL,
                "DownloadBlob failed on the server; the error is in the server log",
            )
        finally:
            metrics.observe_grpc("DownloadBlob", code, time.perf_counter() - started)

    def _download_source(self, request: Any, context: grpc.ServicerContext) -> ArtifactBytes:
        if request.offset < 0 or request.length < 0:
            raise InvalidArgument(
                f"offset and length must be >= 0, got {request.offset} and {request.length}"
            )
        resolver = self._blob_resolver()
        if request.artifact_id:
            source = resolver.artifact(self._metadata_store(context), int(request.artifact_id))
            if request.sha256 and source.sha256 != normalize_sha256(request.sha256):
                raise InvalidArgument(
                    f"artifact {request.artifact_id} has blob sha256:{source.sha256}, "
                    f"not {request.sha256}: give one of sha256 and artifact_id"
                )
            return source
        if not request.sha256:
            raise InvalidArgument("DownloadBlob needs sha256 or artifact_id")
        return resolver.blob(request.sha256, self._metadata_store(context))


def _slices(chunk: bytes, size: int) -> Iterator[bytes]:
    if len(chunk) <= size:
        yield chunk
        return
    view = memoryview(chunk)
    for start in range(0, len(chunk), size):
        yield bytes(view[start : start + size])


def _recorded(c: Connection, sha256: str) -> tuple[int | None, str | None]:
    """The size and BLAKE3 recorded for a blob (None where not recorded)."""
    b = blob_table
    row = c.execute(select(b.c.size, b.c.blake3).where(b.c.sha256 == sha256)).first()
    if row is None:
        return None, None
    return (int(row.size) if row.size is not None else None), (row.blake3 or None)


def _artifact_exists(c: Connection, artifact_id: int) -> bool:
    a = artifact_table
    return c.execute(select(a.c.id).where(a.c.id == artifact_id)).first() is not None


def _record(c: Connection, ref: BlobRef, artifact_id: int) -> bool:
    """Record an uploaded blob (and attach it to the artifact) in one transaction; True
    if the blob had no record yet."""
    if not artifact_id:
        return record_blob(c, ref)
    if not _artifact_exists(c, artifact_id):
        # Deleted while the bytes streamed: the object stays unreferenced (lineage gc).
        raise NotFound(f"artifact {artifact_id} does not exist (any more); nothing recorded")
    inserted = attach_blob(c, artifact_id, ref)  # records the blob row too
    a = artifact_table
    c.execute(update(a).where(a.c.id == artifact_id).values(last_update_time_since_epoch=_now_ms()))
    return inserted
