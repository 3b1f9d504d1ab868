"""``open_blob_store(url)``: the configured backend, from a URL and environment variables.

URLs: ``s3://bucket/prefix`` or ``minio://bucket/prefix`` (MinIO/S3, ``minio`` client),
``gs://bucket/prefix`` (GCS, ``gcsfs``), ``file:///path`` or a plain path (local disk), or
any other fsspec URL (``memory://x``, ...). No URL: ``$LINEAGE_BLOB_STORE``, else
``./lineage-data/blobs``.

Endpoints and credentials come from the usual environment variables (``ENV_VARS`` lists
every one read). Keyword arguments of ``open_blob_store`` override the process
environment, by the same names: ``open_blob_store("s3://b", AWS_ENDPOINT_URL="http://...")``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from lineage.errors import InvalidArgument

from .base import BlobStore
from .uri import ParsedURI, parse_uri

__all__ = [
    "DEFAULT_BLOB_STORE",
    "ENV_VARS",
    "open_blob_store",
    "open_uri",
]

DEFAULT_BLOB_STORE = "./lineage-data/blobs"

S3_ENDPOINT_VARS = (
    "LINEAGE_S3_ENDPOINT",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "MINIO_ENDPOINT",
)
S3_ACCESS_KEY_VARS = ("AWS_ACCESS_KEY_ID", "MINIO_ACCESS_KEY", "MINIO_ROOT_USER")
S3_SECRET_KEY_VARS = ("AWS_SECRET_ACCESS_KEY", "MINIO_SECRET_KEY", "MINIO_ROOT_PASSWORD")
S3_REGION_VARS = ("LINEAGE_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "MINIO_REGION")
S3_SECURE_VARS = ("LINEAGE_S3_SECURE", "MINIO_SECURE")
GCS_ENDPOINT_VARS = ("LINEAGE_GCS_ENDPOINT", "STORAGE_EMULATOR_HOST")
GCS_PROJECT_VARS = ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")

#: Every environment variable ``open_blob_store`` reads (for config checks and docs).
ENV_VARS: tuple[str, ...] = (
    "LINEAGE_BLOB_STORE",
    "LINEAGE_BLOB_CREATE_BUCKET",
    "LINEAGE_BLOB_FSYNC",
    "LINEAGE_SPOOL_DIR",
    *S3_ENDPOINT_VARS,
    *S3_ACCESS_KEY_VARS,
    *S3_SECRET_KEY_VARS,
    "AWS_SESSION_TOKEN",
    *S3_REGION_VARS,
    *S3_SECURE_VARS,
    "LINEAGE_S3_CERT_CHECK",
    "LINEAGE_S3_PUBLIC_ENDPOINT",
    "LINEAGE_S3_UPLOAD_MODE",
    "LINEAGE_S3_PART_SIZE",
    "LINEAGE_S3_PARALLEL_UPLOADS",
    "LINEAGE_S3_CONNECT_TIMEOUT",
    "LINEAGE_S3_READ_TIMEOUT",
    "LINEAGE_S3_RETRIES",
    *GCS_ENDPOINT_VARS,
    "LINEAGE_GCS_TOKEN",
    "LINEAGE_GCS_RETRIES",
    *GCS_PROJECT_VARS,
)

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmgt]i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


class _Env:
    def __init__(self, overrides: Mapping[str, str]) -> None:
        self._env: dict[str, str] = dict(os.environ)
        self._env.update({k: str(v) for k, v in overrides.items() if v is not None})

    def get(self, *names: str) -> str | None:
        for name in names:
            value = self._env.get(name)
            if value not in (None, ""):
                return value
        return None

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name)
        if value is None:
            return default
        low = value.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise InvalidArgument(f"{name} must be true or false, got {value!r}")

    def number(self, name: str, default: float) -> float:
        value = self.get(name)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise InvalidArgument(f"{name} must be a number, got {value!r}") from None

    def size(self, name: str, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        m = _SIZE_RE.match(value)
        if not m:
            raise InvalidArgument(f"{name} must be a size like 16MiB, got {value!r}")
        unit = (m.group(2) or "")[:1].lower()
        return int(m.group(1)) * _UNITS[unit]


def open_blob_store(url: str | None = None, /, *, check: bool = False, **env: str) -> BlobStore:
    """The blob store for ``url`` (see the module docstring).

    ``check=True`` also verifies it is usable now (endpoint reachable, bucket present),
    raising Unavailable or NotFound with a clear message; servers should do this at start.
    """
    e = _Env(env)
    url = url or e.get("LINEAGE_BLOB_STORE") or DEFAULT_BLOB_STORE
    parsed = parse_uri(url)
    store = _open(parsed, e, url)
    if check:
        store.check()
    return store


def open_uri(uri: str, /, **env: str) -> tuple[BlobStore, str]:
    """A store rooted at the URI's bucket (or directory) and the key of the URI in it:
    ``store.open_key(key)`` reads an artifact URI that is not content-addressed."""
    parsed = parse_uri(uri)
    e = _Env(env)
    if parsed.backend == "local":
        parent, _, name = parsed.key.rpartition("/")
        root = ParsedURI("file", "local", "", parent or "/")
        return _open(root, e, root.uri), name
    if parsed.backend == "fsspec":
        parent, _, name = parsed.key.rpartition("/")
        root = ParsedURI(parsed.scheme, "fsspec", "", parent)
        return _open(root, e, f"{parsed.scheme}://{parent}"), name
    root = ParsedURI(parsed.scheme, parsed.backend, parsed.bucket, "")
    return _open(root, e, root.uri), parsed.key


def _open(parsed: ParsedURI, e: _Env, url: str) -> BlobStore:
    if parsed.backend == "local":
        from .local import LocalBlobStore

        return LocalBlobStore(parsed.key, fsync=e.flag("LINEAGE_BLOB_FSYNC", True))
    if parsed.backend == "s3":
        return _open_s3(parsed, e)
    if parsed.backend == "gcs":
        return _open_gcs(parsed, e)
    return _open_fsspec(url)


def _open_s3(parsed: ParsedURI, e: _Env) -> BlobStore:
    from .s3 import DEFAULT_PART_SIZE, S3BlobStore

    endpoint = e.get(*S3_ENDPOINT_VARS)
    if parsed.scheme == "minio" and not endpoint:
        raise InvalidArgument(
            f"{parsed.uri} needs the MinIO endpoint: set AWS_ENDPOINT_URL (or MINIO_ENDPOINT)"
        )
    secure_value = e.get(*S3_SECURE_VARS)
    secure = None
    if secure_value is not None:
        secure = secure_value.strip().lower() in ("1", "true", "yes", "on")
    options: dict[str, Any] = {
        "scheme": parsed.scheme if parsed.scheme != "s3a" else "s3",
        "upload_mode": e.get("LINEAGE_S3_UPLOAD_MODE") or "spool",
        "part_size": e.size("LINEAGE_S3_PART_SIZE", DEFAULT_PART_SIZE),
        "parallel_uploads": int(e.number("LINEAGE_S3_PARALLEL_UPLOADS", 3)),
        "spool_dir": e.get("LINEAGE_SPOOL_DIR"),
        "create_bucket": e.flag("LINEAGE_BLOB_CREATE_BUCKET", False),
    }
    return S3BlobStore.connect(
        parsed.bucket,
        parsed.key,
        endpoint=endpoint,
        access_key=e.get(*S3_ACCESS_KEY_VARS),
        secret_key=e.get(*S3_SECRET_KEY_VARS),
        session_token=e.get("AWS_SESSION_TOKEN"),
        region=e.get(*S3_REGION_VARS),
        secure=secure,
        connect_timeout=e.number("LINEAGE_S3_CONNECT_TIMEOUT", 3.0),
        read_timeout=e.number("LINEAGE_S3_READ_TIMEOUT", 120.0),
        retries=int(e.number("LINEAGE_S3_RETRIES", 2)),
        cert_check=e.flag("LINEAGE_S3_CERT_CHECK", True),
        public_endpoint=e.get("LINEAGE_S3_PUBLIC_ENDPOINT"),
        **options,
    )


def _open_gcs(parsed: ParsedURI, e: _Env) -> BlobStore:
    from .gcs import GCSBlobStore

    endpoint = e.get(*GCS_ENDPOINT_VARS)
    if endpoint and "://" not in endpoint:
        endpoint = "http://" + endpoint  # STORAGE_EMULATOR_HOST is often host:port
    token: Any = e.get("LINEAGE_GCS_TOKEN")
    if token is None and endpoint:
        token = "anon"  # emulators take no credentials
    return GCSBlobStore(
        parsed.bucket,
        parsed.key,
        endpoint_url=endpoint,
        token=token,
        project=e.get(*GCS_PROJECT_VARS),
        retries=int(e.number("LINEAGE_GCS_RETRIES", 2)),
    )


def _open_fsspec(url: str) -> BlobStore:
    import fsspec

    from .fsspec_store import FsspecBlobStore

    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise InvalidArgument(f"cannot open blob store {url!r}: {exc}") from exc
    except Exception as exc:  # a filesystem's own constructor: a host not found, a bad path...
        raise InvalidArgument(
            f"cannot open blob store {url!r}: {type(exc).__name__}: {exc}"
        ) from exc
    protocol = url.split("://", 1)[0].lower()
    return FsspecBlobStore(fs, path, protocol=protocol)
