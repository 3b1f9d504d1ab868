"""HTTP downloads of artifact bytes: ``GET /artifacts/{id}/download`` and ``GET /blobs/{sha256}``.

Both stream (nothing is held in memory beyond a chunk or two) with ``Content-Length``, a
``Content-Type`` guessed from the file name, ``ETag`` (the quoted sha256), ``Repr-Digest``
and ``Content-Disposition`` (``attachment``; ``?inline=1`` for ``inline``), answer ``HEAD``,
``If-None-Match`` (304) and single ``Range`` requests (206 with ``Content-Range``; 416 for a
malformed or unsatisfiable range; ``If-Range`` honoured). Errors are JSON
``{"error": {"code": ..., "message": ...}}``: 400, 404, 416, 502 (the stored object is
damaged), 503 (the blob store is unreachable).

A whole blob is verified while it streams and each chunk is sent only after the next one
was read: when the checksum does not match at the end, the last chunk is never sent and the
connection is closed, so a client sees a body shorter than its Content-Length (an error in
every HTTP client), never a complete damaged download. A damage found before the headers
(the stored object has the wrong size) is a 502.

Redirects: where the backend can presign URLs (S3/MinIO; GCS with signing credentials) the
server can answer ``307`` to a presigned URL instead of streaming the bytes itself. The
``blob_redirect`` setting is ``always``, ``never`` or ``auto`` (default: redirect to AWS S3,
to an S3 endpoint with ``LINEAGE_S3_PUBLIC_ENDPOINT`` set, i.e. one browsers are known to
reach, and to GCS when it signs; stream otherwise); ``?redirect=1``/``?redirect=0`` decides
per request.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import mimetypes
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from lineage.blobs import BlobReader, BlobStore, open_blob_store
from lineage.blobs.base import Presigned
from lineage.errors import InvalidArgument, LineageError
from lineage.server.native.blob_service import ArtifactBytes, BlobResolver, held_back

if TYPE_CHECKING:
    from lineage.server.http.app import AppState

log = logging.getLogger("lineage.server.blobs")

PRESIGNED_EXPIRES = timedelta(hours=1)
MAX_ARTIFACT_ID = 2**63 - 1  # MLMD ids are 64-bit: a larger one fails in the database

_HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "NOT_FOUND": 404,
    "FAILED_PRECONDITION": 409,
    "OUT_OF_RANGE": 416,
    "DATA_LOSS": 502,
    "UNAVAILABLE": 503,
}
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def error_response(exc: LineageError, headers: dict[str, str] | None = None) -> JSONResponse:
    status = _HTTP_STATUS.get(exc.code, 500)
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}}, status_code=status, headers=headers
    )


class RangeNotSatisfiable(LineageError):
    code = "OUT_OF_RANGE"


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` (inclusive) of a single ``bytes=`` range, or None to ignore the
    header (another unit, or several ranges: the whole body is sent, as RFC 9110 allows).
    RangeNotSatisfiable for a malformed or unsatisfiable byte range."""
    text = header.strip()
    if not text.lower().startswith("bytes"):
        return None
    if "," in text:
        return None
    m = _RANGE_RE.match(text)
    if not m or (not m.group(1) and not m.group(2)):
        raise RangeNotSatisfiable(f"malformed Range header {header!r}")
    first_text, last_text = m.groups()
    if not first_text:  # suffix: the last N bytes
        n = int(last_text)
        if n == 0 or size == 0:
            raise RangeNotSatisfiable(f"range {header!r} selects no bytes of {size}")
        return max(0, size - n), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        raise RangeNotSatisfiable(f"malformed Range header {header!r} (last byte before first)")
    if first >= size:
        raise RangeNotSatisfiable(f"range {header!r} starts past the end ({size} bytes)")
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)


def _flag(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise InvalidArgument(f"{name} must be 1 or 0, got {value!r}")


def _content_disposition(kind: str, name: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _content_type(source: ArtifactBytes, name: str) -> str:
    if source.archive == "tar":
        return "application/x-tar"
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if encoding == "gzip":
        return "application/gzip"
    if encoding is not None or guessed is None:
        return "application/octet-stream"
    if guessed.startswith("text/"):
        guessed += "; charset=utf-8"
    return guessed


def _etag(source: ArtifactBytes) -> str | None:
    if source.sha256 is not None:
        return f'"{source.sha256}"'
    if source.size is not None and source.modified is not None:
        return f'W/"{source.size:x}-{int(source.modified * 1000):x}"'
    return None


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == bare for t in header.split(","))


class _BlobBody(Response):
    """Streams a reader; on an error after the headers it stops without finishing the
    response, so the server closes the connection and the client gets a short body."""

    def __init__(
        self, reader: BlobReader, status_code: int, headers: dict[str, str], what: str
    ) -> None:
        self.reader = reader
        self.status_code = status_code
        self.what = what
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        disconnected = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected.set()
                    return

        watcher = asyncio.ensure_future(watch())
        reader = self.reader
        chunks: Iterator[bytes] = held_back(reader) if reader.sha256 is not None else iter(reader)
        sent = 0
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            while True:
                chunk = await run_in_threadpool(next, chunks, None)
                if chunk is None:
                    break
                if disconnected.is_set():
                    log.info("download of %s: the client left after %d bytes", self.what, sent)
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
        except LineageError as exc:
            # Headers are out: leave the response unfinished (the connection closes).
            log.error("download of %s aborted after %d bytes: %s", self.what, sent, exc.message)
            return
        finally:
            watcher.cancel()
            await run_in_threadpool(reader.close)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class BlobDownloads:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._resolver: BlobResolver | None = None

    # -- setup -----------------------------------------------------------------------
    def blob_store(self) -> BlobStore:
        blobs = self.state.extras.get("blob_store")
        if blobs is None:
            with self._lock:  # an app built without one (tests): open the configured store
                blobs = self.state.extras.get("blob_store")
                if blobs is None:
                    blobs = open_blob_store(self.state.config.resolved_blob_store())
                    self.state.extras["blob_store"] = blobs
        return blobs  # type: ignore[no-any-return]

    def resolver(self) -> BlobResolver:
        if self._resolver is None:
            blobs = self.blob_store()
            with self._lock:
                if self._resolver is None:
                    self._resolver = BlobResolver(blobs)
        return self._resolver

    def redirect_default(self, source: ArtifactBytes) -> bool:
        setting = self.state.config.blob_redirect
        if setting == "always":
            return True
        if setting == "never":
            return False
        store: Any = source.store
        if store.kind == "s3":
            public = getattr(store, "presign_client", None) is not getattr(store, "client", None)
            return public or "amazonaws.com" in str(getattr(store, "endpoint", ""))
        return bool(store.kind == "gcs")

    # -- handlers --------------------------------------------------------------------
    async def artifact(self, request: Request) -> Response:
        raw = request.path_params["artifact_id"]
        try:
            try:
                artifact_id = int(raw)
            except ValueError:
                raise InvalidArgument(f"artifact id must be a whole number, got {raw!r}") from None
            if artifact_id > MAX_ARTIFACT_ID:
                raise InvalidArgument(f"artifact id {raw!r} is out of range (64-bit)")
            store = self.state.store_for(request)
            resolver = await run_in_threadpool(self.resolver)
            source = await run_in_threadpool(resolver.artifact, store, artifact_id)
            return await self.serve(request, source, immutable=False)
        except LineageError as exc:
            return error_response(exc)

    async def blob(self, request: Request) -> Response:
        try:
            store = self.state.store_for(request)
            resolver = await run_in_threadpool(self.resolver)
            source = await run_in_threadpool(resolver.blob, request.path_params["sha256"], store)
            return await self.serve(request, source, immutable=True)
        except LineageError as exc:
            return error_response(exc)

    async def serve(self, request: Request, source: ArtifactBytes, *, immutable: bool) -> Response:
        query = request.query_params
        redirect = _flag(query.get("redirect"), "redirect")
        inline = _flag(query.get("inline"), "inline")
        if source.size is None or source.sha256 is None or request.method == "HEAD":
            await run_in_threadpool(source.stat)  # 404 now if it is not there
        size = source.size
        name = source.name or source.sha256 or "blob"
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Type": _content_type(source, name),
            "Content-Disposition": _content_disposition("inline" if inline else "attachment", name),
            "Cache-Control": "private, max-age=31536000, immutable" if immutable else "no-cache",
        }
        etag = _etag(source)
        if etag is not None:
            headers["ETag"] = etag
        if source.sha256 is not None:
            digest = base64.b64encode(bytes.fromhex(source.sha256)).decode()
            headers["Repr-Digest"] = f"sha-256=:{digest}:"
        if etag is not None and _etag_matches(request.headers.get("if-none-match", ""), etag):
            return Response(
                status_code=304, headers={k: headers[k] for k in ("ETag", "Cache-Control")}
            )

        if redirect if redirect is not None else self.redirect_default(source):
            # The object's own name and type, not its content address's.
            asked = Presigned(headers["Content-Type"], headers["Content-Disposition"])
            url = await run_in_threadpool(source.presigned_url, PRESIGNED_EXPIRES, asked)
            if url is not None:
                keep = {"Cache-Control": "no-store"}
                if etag is not None:
                    keep["ETag"] = etag
                return RedirectResponse(url, status_code=307, headers=keep)

        assert size is not None
        byte_range = None
        range_header = request.headers.get("range")
        if range_header is not None:
            if_range = request.headers.get("if-range")
            if if_range is None or (etag is not None and if_range.strip() == etag):
                try:
                    byte_range = parse_range(range_header, size)
                except RangeNotSatisfiable as exc:
                    return error_response(exc, {"Content-Range": f"bytes */{size}"})
        status = 200
        start, length = 0, size
        if byte_range is not None:
            first, last = byte_range
            start, length = first, last - first + 1
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        headers["Content-Length"] = str(length)
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers)
        try:
            reader = await run_in_threadpool(
                source.open, start, length if byte_range is not None else None
            )
        except LineageError as exc:
            if exc.code == "DATA_LOSS":
                log.error("download of %s refused: %s", source.describe(), exc.message)
            return error_response(exc)
        if byte_range is None and reader.size != size:  # changed since it was looked up
            reader.close()
            return error_response(
                LineageError(f"{source.describe()} changed while being opened; try again")
            )
        return _BlobBody(reader, status, headers, source.describe())


def routes(state: AppState) -> list[BaseRoute]:
    downloads = BlobDownloads(state)
    return [
        Route("/artifacts/{artifact_id}/download", downloads.artifact, methods=["GET", "HEAD"]),
        Route("/blobs/{sha256}", downloads.blob, methods=["GET", "HEAD"]),
    ]
