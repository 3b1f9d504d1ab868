"""Blobs in Google Cloud Storage through ``gcsfs`` (the optional ``gcs`` extra).

Uploads go to ``<prefix>/tmp/<uuid>`` (a resumable upload: nothing is visible until it is
finalized) and are published with a server-side rewrite to the content address, then the
temporary object is deleted. ``gcsfs`` is imported only when a ``gs://`` store is opened.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from lineage.errors import FailedPrecondition, NotFound, Unavailable

from .base import CHUNK_SIZE, HashingSource, Presigned
from .fsspec_store import FsspecBlobStore

__all__ = ["GCSBlobStore", "import_gcsfs"]


@contextlib.contextmanager
def _quiet_google() -> Iterator[None]:
    """google.api_core warns about Python versions it will drop when its modules load."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
        yield


class _WithoutTraceback(logging.Filter):
    """gcsfs logs every request it gives up on with the exception's traceback, then
    raises it; the store turns it into one clear error, so the log keeps the line only."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


def import_gcsfs() -> Any:
    """Import gcsfs with its experimental gRPC paths off (they stall on emulators)."""
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    gcsfs_log = logging.getLogger("gcsfs")
    if not any(isinstance(f, _WithoutTraceback) for f in gcsfs_log.filters):
        gcsfs_log.addFilter(_WithoutTraceback())
    try:
        with _quiet_google():
            import gcsfs

            # gcsfs imports this lazily on the first upload (from its I/O thread): do it
            # here, where its import-time warnings are silenced.
            with contextlib.suppress(ImportError):
                import gcsfs.extended_gcsfs  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise FailedPrecondition(
            "gs:// blob stores need gcsfs: pip install 'lineage[gcs]'"
        ) from exc
    return gcsfs


_FS_CLASSES: dict[int, Any] = {}


def _filesystem_class(gcsfs: Any, retries: int) -> Any:
    """GCSFileSystem with a bounded number of retries (gcsfs's own is 6, with exponential
    back-off: half a minute before an unreachable endpoint is reported)."""
    base = gcsfs.GCSFileSystem
    if retries in _FS_CLASSES:
        return _FS_CLASSES[retries]
    cls = base
    try:
        from gcsfs.retry import retry_request

        wrapped = base._request.__wrapped__
        cls = type(
            "LineageGCSFileSystem",
            (base,),
            {"_request": retry_request(retries=max(1, retries))(wrapped), "retries": retries},
        )
    except (ImportError, AttributeError):  # pragma: no cover - other gcsfs versions
        cls = base
    _FS_CLASSES[retries] = cls
    return cls


class GCSBlobStore(FsspecBlobStore):
    kind = "gcs"
    direct_upload = True
    make_dirs = False  # gcsfs's makedirs would create the bucket

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        token: Any = None,
        project: str | None = None,
        retries: int = 2,
        requests_timeout: float | None = 60.0,
        fs: Any = None,
    ) -> None:
        if not bucket:
            raise ValueError("a GCS blob store needs a bucket")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        if fs is None:
            gcsfs = import_gcsfs()
            kwargs: dict[str, Any] = {
                "token": token,
                "requests_timeout": requests_timeout,
                "skip_instance_cache": True,
                "block_size": CHUNK_SIZE,
            }
            if endpoint_url:
                kwargs["endpoint_url"] = endpoint_url
            if project:
                kwargs["project"] = project
            with _quiet_google():
                fs = _filesystem_class(gcsfs, retries)(**kwargs)
        root = f"{bucket}/{self.prefix}" if self.prefix else bucket
        super().__init__(fs, root, protocol="gs")

    def describe(self) -> str:
        where = f"gs://{self.root}"
        return f"{where} (endpoint {self.endpoint_url})" if self.endpoint_url else where

    # -- errors ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, doing: str, key: str | None = None) -> Iterator[None]:
        import aiohttp

        try:
            yield
        except FileNotFoundError as exc:
            if not self._bucket_exists():
                raise NotFound(
                    f"{doing}: GCS bucket {self.bucket!r} does not exist"
                    + (f" at {self.endpoint_url}" if self.endpoint_url else "")
                ) from exc
            where = self._uri(key) if key else self.describe()
            raise NotFound(f"{doing}: {where} does not exist") from exc
        except (aiohttp.ClientConnectionError, ConnectionError, TimeoutError) as exc:
            raise Unavailable(
                f"{doing}: GCS endpoint {self.endpoint_url or 'storage.googleapis.com'} "
                f"is unreachable: {exc}"
            ) from exc
        except OSError as exc:
            if "Forbidden" in str(exc):
                raise FailedPrecondition(
                    f"{doing}: access to {self.describe()} denied: {exc}"
                ) from exc
            raise

    def _missing(self, sha256: str) -> NotFound:
        if not self._bucket_exists():
            return NotFound(f"GCS bucket {self.bucket!r} does not exist")
        return super()._missing(sha256)

    def _bucket_exists(self) -> bool:
        try:
            self.fs.info(self.bucket)
            return True
        except FileNotFoundError:
            return False
        except Exception:
            return True  # unknown: do not claim it is missing

    def check(self) -> None:
        if self.endpoint_url:
            self._probe_endpoint()
        import aiohttp

        with self._errors("checking"):
            try:
                self.fs.info(self.bucket)
            except (
                FileNotFoundError,
                aiohttp.ClientConnectionError,
                ConnectionError,
                TimeoutError,
            ):
                raise  # a missing bucket or an unreachable endpoint: _errors says which
            except Exception:
                pass  # e.g. no storage.buckets.get permission: not known to be missing

    def _probe_endpoint(self, timeout: float = 3.0) -> None:
        parts = urlsplit(self.endpoint_url or "")
        host = parts.hostname or "localhost"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        deadline = time.monotonic() + timeout
        try:
            with socket.create_connection(
                (host, port), timeout=max(0.1, deadline - time.monotonic())
            ):
                pass
        except OSError as exc:
            raise Unavailable(f"GCS endpoint {self.endpoint_url} is unreachable: {exc}") from exc

    # -- primitives ------------------------------------------------------------------
    def _open_write(self, path: str) -> Any:
        return self.fs.open(path, "wb", block_size=CHUNK_SIZE)

    def _put_direct(self, source: HashingSource, key: str, size_hint: int | None) -> None:
        # A resumable upload is committed by close(); on any error it is cancelled.
        path = self._path(key)
        with self._errors("uploading", key):
            f = self._open_write(path)
            try:
                for chunk in source.chunks():
                    f.write(chunk)
            except BaseException:
                with contextlib.suppress(Exception):
                    f.discard()
                    f.closed = True
                raise
            f.close()

    def _publish(self, staged: Any, key: str, sha256: str, size: int) -> None:
        # Not fs.mv: gcsfs tries the moveTo API first, which emulators lack (and retries).
        with self._errors("publishing", key):
            self.fs.cp_file(staged, self._path(key))

    def _touch(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self.fs.setxattrs(self._path(key), lineage_touched=str(int(time.time())))

    def sha256_of_uri(self, uri: str) -> str | None:
        if uri.startswith("gcs://"):
            uri = "gs://" + uri[len("gcs://") :]
        return super().sha256_of_uri(uri)

    def _presign(self, key: str, expires: timedelta, headers: Presigned) -> str | None:
        asked = {
            "response_type": headers.content_type,
            "response_disposition": headers.content_disposition,
        }
        try:
            url = self.fs.sign(
                self._path(key),
                expiration=int(expires.total_seconds()),
                **{k: v for k, v in asked.items() if v},
            )
        except Exception:
            return None  # anonymous or user credentials cannot sign
        return str(url)
