"""Blobs in MinIO or any S3-protocol server through the ``minio`` client.

Two upload paths, both atomic (an S3 object appears only when its single PUT or its
CompleteMultipartUpload succeeds; the client aborts a multipart upload that fails):

``spool`` (default)
    Stream the bytes to an anonymous local temporary file while hashing them, then, unless
    the content address already holds them (dedup: nothing is uploaded), upload the file to
    the content address with a known length: multipart, parallel parts. Needs local disk
    for one object at a time per concurrent upload (``spool_dir``); memory stays at a few
    parts. Spool files are reused between uploads (``spool.py``: rewriting pages the
    page cache holds is far cheaper than faulting in new ones).
``stream``
    Multipart upload of unknown length straight to ``<prefix>/tmp/<uuid>`` while hashing,
    then a server-side copy to the content address and deletion of the temporary key. No
    local disk, but the server copies every byte once more. Measured against moto in
    ``bench/bench_blobs.py``: slower than ``spool``, which is why ``spool`` is the default.

When the caller declares the sha256 up front (``put(..., expected_sha256=...)``) and the
object is not stored yet, neither is needed: the bytes stream straight to the content
address and the source checks size and checksum as the last part is read, so a mismatch
aborts the multipart upload before it completes.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any, BinaryIO, cast
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.credentials.providers import (
    AWSConfigProvider,
    ChainedProvider,
    IamAwsProvider,
    Provider,
    StaticProvider,
)
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError

from lineage.errors import FailedPrecondition, Internal, InvalidArgument, NotFound, Unavailable

from .base import (
    CHUNK_SIZE,
    CONTENT_DIR,
    TEMP_DIR,
    BlobStore,
    HashingSource,
    ObjectStat,
    Presigned,
    content_key,
    sha256_from_key,
)
from .spool import SpoolPool

__all__ = ["DEFAULT_PART_SIZE", "S3BlobStore", "parse_endpoint"]

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000
MAX_COPY_SIZE = 5 * 1024 * MiB  # above this, minio copies part by part (compose)
# minio holds (parallel uploads + 1) parts in memory: 8 MiB x 4 keeps an upload near 40 MiB.
# Uploads of known size get bigger parts when they need more than 10,000; an upload of
# unknown size (stream mode, or a checksum known but no size) is limited to 10,000 parts,
# 80 GiB at this size: raise LINEAGE_S3_PART_SIZE for bigger ones.
DEFAULT_PART_SIZE = 8 * MiB

_ACCESS_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "AllAccessDisabled",
}
_NOT_FOUND_KEY_CODES = {"NoSuchKey", "NoSuchObject", "ResourceNotFound", "NoSuchUpload"}
_TRANSIENT_CODES = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"}
# How list_temporaries names a multipart upload never completed nor aborted: "<key>#<id>".
_UPLOAD_ID_MARK = "#"


def parse_endpoint(endpoint: str, *, secure: bool | None = None) -> tuple[str, bool]:
    """``http://host:port`` / ``https://host`` / ``host:port`` -> (``host:port``, secure).

    Without a scheme, ``secure`` decides (default True).
    """
    endpoint = endpoint.strip()
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https"):
            raise InvalidArgument(f"S3 endpoint must be http:// or https://, got {endpoint!r}")
        if parts.path not in ("", "/") or parts.query:
            raise InvalidArgument(f"S3 endpoint cannot have a path: {endpoint!r}")
        if not parts.netloc:
            raise InvalidArgument(f"S3 endpoint has no host: {endpoint!r}")
        return parts.netloc, parts.scheme == "https"
    if not endpoint or "/" in endpoint:
        raise InvalidArgument(f"not an S3 endpoint: {endpoint!r}")
    return endpoint, True if secure is None else secure


def make_http_client(
    *,
    connect_timeout: float = 3.0,
    read_timeout: float = 120.0,
    retries: int = 2,
    max_connections: int = 16,
    cert_check: bool = True,
) -> urllib3.PoolManager:
    """The HTTP pool the minio client uses: short connect timeout and few retries, so
    an unreachable endpoint is reported in seconds (minio's default waits minutes)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=max_connections,
        cert_reqs="CERT_REQUIRED" if cert_check else "CERT_NONE",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(
            total=retries,
            backoff_factor=0.2,
            status_forcelist=[500, 502, 503, 504],
        ),
    )


class _DefaultCredentials(ChainedProvider):
    """AWS's default chain, whose failure (minio's bare ValueError) says what to set."""

    def __init__(self) -> None:
        # Shared config file, web identity (IRSA), ECS or EC2 instance roles.
        super().__init__([AWSConfigProvider(), IamAwsProvider()])

    def retrieve(self) -> Any:
        try:
            return super().retrieve()
        except ValueError as exc:
            raise FailedPrecondition(
                f"no S3 credentials ({exc}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or MINIO_ACCESS_KEY/MINIO_SECRET_KEY), or provide ~/.aws files or a role"
            ) from None


@dataclass
class _Spooled:
    file: IO[bytes] | None = None
    temp_key: str | None = None


class S3BlobStore(BlobStore):
    kind = "s3"
    direct_upload = True

    def __init__(
        self,
        client: Minio,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str = "s3",
        scheme: str = "s3",
        upload_mode: str = "spool",
        part_size: int = DEFAULT_PART_SIZE,
        parallel_uploads: int = 3,
        spool_dir: str | None = None,
        create_bucket: bool = False,
        presign_client: Minio | None = None,
    ) -> None:
        if not bucket:
            raise InvalidArgument("an S3 blob store needs a bucket")
        if upload_mode not in ("spool", "stream"):
            raise InvalidArgument(f"upload_mode must be 'spool' or 'stream', got {upload_mode!r}")
        if part_size < MIN_PART_SIZE:
            raise InvalidArgument(f"part_size must be at least {MIN_PART_SIZE} bytes")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint
        self.scheme = scheme
        self.upload_mode = upload_mode
        self.part_size = part_size
        self.parallel_uploads = max(1, parallel_uploads)
        self.spool_dir = spool_dir
        self._spools = SpoolPool(spool_dir)
        self.create_bucket = create_bucket
        # Presigned URLs are for clients elsewhere (browsers): they may need another
        # host name than the one the server reaches, e.g. localhost:9000 vs minio:9000.
        self.presign_client = presign_client or client
        self._bucket_ok = False
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        region: str | None = None,
        secure: bool | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 120.0,
        retries: int = 2,
        cert_check: bool = True,
        public_endpoint: str | None = None,
        **options: Any,
    ) -> S3BlobStore:
        """A store with its own ``minio.Minio`` client. No endpoint: AWS S3.
        ``public_endpoint``: the host presigned URLs name, if not ``endpoint``."""
        if endpoint:
            host, is_secure = parse_endpoint(endpoint, secure=secure)
            region = region or "us-east-1"  # MinIO's default; saves a GetBucketLocation
        else:
            host, is_secure = "s3.amazonaws.com", True
        credentials: Provider | None
        if access_key:
            credentials = StaticProvider(access_key, secret_key or "", session_token)
        else:
            credentials = _DefaultCredentials()
        parallel = int(options.get("parallel_uploads", 3))
        client = Minio(
            host,
            secure=is_secure,
            region=region,
            credentials=credentials,
            http_client=make_http_client(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries=retries,
                max_connections=max(16, 4 * parallel),
                cert_check=cert_check,
            ),
            cert_check=cert_check,
        )
        presign_client = None
        if public_endpoint:
            public_host, public_secure = parse_endpoint(public_endpoint, secure=secure)
            # Signing is local computation: this client never connects anywhere.
            presign_client = Minio(
                public_host,
                secure=public_secure,
                region=region or "us-east-1",
                credentials=credentials,
            )
        shown = f"{'https' if is_secure else 'http'}://{host}"
        return cls(client, bucket, prefix, endpoint=shown, presign_client=presign_client, **options)

    def describe(self) -> str:
        return f"{self.scheme}://{self._full(None)} (endpoint {self.endpoint})"

    def close(self) -> None:
        self._spools.close()
        http = getattr(self.client, "_http", None)
        if http is not None:
            http.clear()

    # -- keys and errors -------------------------------------------------------------
    def _full(self, key: str | None) -> str:
        if key is None:
            return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        return f"{self.prefix}/{key}" if self.prefix else key

    def _uri(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket}/{self._full(key)}"

    @contextlib.contextmanager
    def _errors(self, doing: str, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except S3Error as exc:
            raise self._translate(exc, doing, key) from exc
        except ServerError as exc:
            raise Unavailable(
                f"{doing}: S3 endpoint {self.endpoint} failed (HTTP {exc.status_code}): {exc}"
            ) from exc
        except InvalidResponseError as exc:
            raise Unavailable(
                f"{doing}: {self.endpoint} did not answer like an S3 server: {exc}"
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise Unavailable(
                f"{doing}: S3 endpoint {self.endpoint} is unreachable: {reason}"
            ) from exc
        except MinioException as exc:
            raise Internal(f"{doing}: S3 client error: {exc}") from exc

    def _translate(self, exc: S3Error, doing: str, key: str | None) -> Exception:
        code = exc.code or ""
        if code == "NoSuchBucket":
            self._bucket_ok = False
            return NotFound(f"{doing}: S3 bucket {self.bucket!r} does not exist at {self.endpoint}")
        if code in _NOT_FOUND_KEY_CODES:
            where = self._uri(key) if key else self.describe()
            return NotFound(f"{doing}: {where} does not exist")
        if code in _ACCESS_CODES:
            return FailedPrecondition(
                f"{doing}: {self.endpoint} refused access to bucket {self.bucket!r} ({code}): "
                "check the access key and secret"
            )
        if code in _TRANSIENT_CODES:
            return Unavailable(f"{doing}: S3 endpoint {self.endpoint} is busy or failing ({code})")
        return Internal(f"{doing}: S3 error {code}: {exc.message}")

    def _missing(self, sha256: str) -> NotFound:
        with self._errors("looking up the bucket"):
            if not self.client.bucket_exists(self.bucket):
                self._bucket_ok = False
                return NotFound(f"S3 bucket {self.bucket!r} does not exist at {self.endpoint}")
        return super()._missing(sha256)

    # -- bucket ----------------------------------------------------------------------
    def check(self) -> None:
        self._ensure_bucket(force=True)

    def _ensure_bucket(self, force: bool = False) -> None:
        if self._bucket_ok and not force:
            return
        with self._lock, self._errors("checking the bucket"):
            if not self.client.bucket_exists(self.bucket):
                if not self.create_bucket:
                    raise NotFound(f"S3 bucket {self.bucket!r} does not exist at {self.endpoint}")
                with contextlib.suppress(S3Error):  # created by someone else meanwhile
                    self.client.make_bucket(self.bucket)
            self._bucket_ok = True

    def _part_size(self, size: int | None) -> int:
        if size is None:
            return self.part_size
        needed = math.ceil(size / MAX_PARTS) if size else 0
        return max(self.part_size, math.ceil(needed / MiB) * MiB)

    # -- primitives ------------------------------------------------------------------
    def _stage(self, source: HashingSource, size_hint: int | None) -> _Spooled:
        self._ensure_bucket()
        if self.upload_mode == "stream":
            temp_key = f"{TEMP_DIR}/{uuid.uuid4().hex}"
            with self._errors("uploading", temp_key):
                self.client.put_object(
                    self.bucket,
                    self._full(temp_key),
                    source,  # type: ignore[arg-type]  # has read(n)
                    length=-1,
                    part_size=self._part_size(size_hint),
                    num_parallel_uploads=self.parallel_uploads,
                )
            return _Spooled(temp_key=temp_key)
        f = self._spools.take()
        try:
            for chunk in source.chunks():
                f.write(chunk)
            self._spools.written(f)
        except BaseException as exc:
            self._spools.give_back(f, reusable=False)
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise Unavailable(
                    f"no space left to spool an upload in {self.spool_dir or tempfile.gettempdir()}"
                ) from exc
            raise
        return _Spooled(file=f)

    def _put_direct(self, source: HashingSource, key: str, size_hint: int | None) -> None:
        # A failed read (stream error, or DataLoss from the source's own check at the
        # end) makes minio abort the multipart upload: nothing becomes visible.
        self._ensure_bucket()
        with self._errors("uploading", key):
            self.client.put_object(
                self.bucket,
                self._full(key),
                source,  # type: ignore[arg-type]  # has read(n)
                length=-1 if size_hint is None else size_hint,
                part_size=self._part_size(size_hint),
                num_parallel_uploads=self.parallel_uploads,
                metadata={"lineage-sha256": key.rsplit("/", 1)[-1]},
            )

    def _publish(self, staged: Any, key: str, sha256: str, size: int) -> None:
        assert isinstance(staged, _Spooled)
        if staged.temp_key is not None:
            with self._errors("publishing", key):
                self.client.copy_object(
                    self.bucket,
                    self._full(key),
                    CopySource(self.bucket, self._full(staged.temp_key)),
                )
            return
        assert staged.file is not None
        staged.file.seek(0)
        with self._errors("uploading", key):
            self.client.put_object(
                self.bucket,
                self._full(key),
                cast(BinaryIO, staged.file),
                length=size,
                part_size=self._part_size(size),
                num_parallel_uploads=self.parallel_uploads,
                metadata={"lineage-sha256": sha256},
            )

    def _discard(self, staged: Any) -> None:
        assert isinstance(staged, _Spooled)
        if staged.file is not None:
            self._spools.give_back(staged.file)
            staged.file = None
        if staged.temp_key is not None:
            with contextlib.suppress(Exception):
                self.client.remove_object(self.bucket, self._full(staged.temp_key))

    def _stat(self, key: str) -> ObjectStat | None:
        try:
            with self._errors("stat", key):
                st = self.client.stat_object(self.bucket, self._full(key))
        except NotFound:
            return None
        modified = st.last_modified.timestamp() if st.last_modified else None
        return ObjectStat(int(st.size or 0), modified)

    def _touch(self, key: str) -> None:
        st = self._stat(key)
        if st is None or st.size > MAX_COPY_SIZE:
            return  # refreshing the date of a huge object would copy it part by part
        with contextlib.suppress(Exception):
            sha = key.rsplit("/", 1)[-1]
            self.client.copy_object(
                self.bucket,
                self._full(key),
                CopySource(self.bucket, self._full(key)),
                metadata={"lineage-sha256": sha, "lineage-touched": str(int(time.time()))},
                metadata_directive=REPLACE,
            )

    def _read(
        self, key: str, start: int, length: int | None
    ) -> tuple[Iterator[bytes], Callable[[], None]]:
        with self._errors("reading", key):
            response = self.client.get_object(
                self.bucket, self._full(key), offset=start, length=length or 0
            )
        return self._streamed(response, key)

    def _streamed(self, response: Any, key: str) -> tuple[Iterator[bytes], Callable[[], None]]:
        """A GET's body as chunks, and how to give its connection back."""

        def chunks() -> Iterator[bytes]:
            with self._errors("reading", key):
                yield from response.stream(CHUNK_SIZE)

        def close() -> None:
            response.close()
            response.release_conn()

        return chunks(), close

    def _open_object(self, key: str) -> tuple[int, Iterator[bytes], Callable[[], None]] | None:
        # One GET; its Content-Length is the object's size (no HEAD first).
        with self._errors("reading", key):
            try:
                response = self.client.get_object(self.bucket, self._full(key))
            except S3Error as exc:
                if exc.code in _NOT_FOUND_KEY_CODES:
                    return None
                raise
        chunks, close = self._streamed(response, key)
        try:
            size = int(response.headers["Content-Length"])
        except (KeyError, ValueError):
            close()
            return super()._open_object(key)
        return size, chunks, close

    def _delete(self, key: str) -> bool:
        if self._stat(key) is None:
            return False
        with self._errors("deleting", key):
            self.client.remove_object(self.bucket, self._full(key))
        return True

    def _list(self, prefix: str) -> Iterator[tuple[str, ObjectStat]]:
        full_prefix = self._full(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        with self._errors("listing", prefix):
            for obj in self.client.list_objects(self.bucket, prefix=full_prefix, recursive=True):
                if obj.is_dir or obj.object_name is None:
                    continue
                modified = obj.last_modified.timestamp() if obj.last_modified else None
                yield obj.object_name[strip:], ObjectStat(int(obj.size or 0), modified)

    # -- leftovers of uploads whose process died ----------------------------------------
    def list_temporaries(self) -> Iterator[tuple[str, ObjectStat]]:
        """Temporary keys, and multipart uploads that were never completed nor aborted
        (a server killed mid-upload): ``<key>#<upload id>``, dated by their last part
        (an upload still sending parts is not a leftover), else by when they started."""
        yield from super().list_temporaries()
        for directory in (CONTENT_DIR, TEMP_DIR):
            for key, upload_id, started in self._unfinished_uploads(directory + "/"):
                size, last_part = self._upload_progress(key, upload_id)
                dates = [d for d in (started, last_part) if d is not None]
                stat = ObjectStat(size, max(dates) if dates else None)
                yield f"{key}{_UPLOAD_ID_MARK}{upload_id}", stat

    def delete_temporary(self, key: str) -> bool:
        name, mark, upload_id = key.partition(_UPLOAD_ID_MARK)
        if not mark:
            return super().delete_temporary(key)
        if not upload_id or not name.startswith((CONTENT_DIR + "/", TEMP_DIR + "/")):
            raise InvalidArgument(f"not a temporary key: {key!r}")
        try:
            with self._errors("aborting an unfinished upload", name):
                self.client._abort_multipart_upload(self.bucket, self._full(name), upload_id)
        except NotFound:
            return False  # completed or aborted meanwhile
        return True

    def _unfinished_uploads(self, prefix: str) -> Iterator[tuple[str, str, float | None]]:
        """(key, upload id, start time) of the multipart uploads in progress under prefix."""
        strip = len(self.prefix) + 1 if self.prefix else 0
        key_marker: str | None = None
        upload_id_marker: str | None = None
        while True:
            with self._errors("listing unfinished uploads", prefix):
                result = self.client._list_multipart_uploads(
                    self.bucket,
                    prefix=self._full(prefix),
                    key_marker=key_marker,
                    upload_id_marker=upload_id_marker,
                )
            for upload in result.uploads:
                if upload.upload_id:
                    started = upload.initiated_time.timestamp() if upload.initiated_time else None
                    yield upload.object_name[strip:], upload.upload_id, started
            if not result.is_truncated or not result.uploads:
                return
            # minio does not parse NextUploadIdMarker: continue after the last one seen.
            key_marker = result.uploads[-1].object_name
            upload_id_marker = result.uploads[-1].upload_id

    def _upload_progress(self, key: str, upload_id: str) -> tuple[int, float | None]:
        """Bytes the parts of an unfinished multipart upload hold, and when the last one
        arrived (0 and None if it has none or is gone)."""
        size, last = 0, None
        marker: str | None = None
        try:
            while True:
                with self._errors("listing the parts of an unfinished upload", key):
                    result = self.client._list_parts(
                        self.bucket, self._full(key), upload_id, part_number_marker=marker
                    )
                for part in result.parts:
                    size += part.size or 0
                    if part.last_modified is not None:
                        modified = part.last_modified.timestamp()
                        last = modified if last is None else max(last, modified)
                if not result.is_truncated or not result.next_part_number_marker:
                    return size, last
                marker = result.next_part_number_marker
        except NotFound:
            return size, last

    def _presign(self, key: str, expires: timedelta, headers: Presigned) -> str | None:
        asked = {
            "response-content-type": headers.content_type,
            "response-content-disposition": headers.content_disposition,
        }
        with self._errors("presigning", key):
            return self.presign_client.presigned_get_object(
                self.bucket,
                self._full(key),
                expires=expires,
                response_headers={k: v for k, v in asked.items() if v} or None,
            )

    def sha256_of_uri(self, uri: str) -> str | None:
        # s3:// and minio:// name the same objects.
        from .uri import parse_uri

        sha = sha256_from_key(uri)
        if sha is None:
            return None
        try:
            parsed = parse_uri(uri)
        except InvalidArgument:
            return None
        if parsed.backend != "s3" or parsed.bucket != self.bucket:
            return None
        return sha if parsed.key == self._full(content_key(sha)) else None
