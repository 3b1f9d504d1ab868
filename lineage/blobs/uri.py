"""Artifact URIs: which backend, which bucket, which key.

Artifact URIs keep their schemes: ``s3://bucket/key`` and ``minio://bucket/key`` (KFP's name
for its in-cluster MinIO; both go through the S3 backend), ``gs://bucket/key`` (``gcs://``
too), ``file:///abs/path`` and plain paths (local disk), and any other fsspec protocol.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lineage.errors import InvalidArgument

from .base import sha256_from_key

__all__ = ["ParsedURI", "parse_uri", "sha256_from_uri", "S3_SCHEMES", "GCS_SCHEMES"]

S3_SCHEMES = ("s3", "minio", "s3a")
GCS_SCHEMES = ("gs", "gcs")


@dataclass(frozen=True)
class ParsedURI:
    scheme: str  # as written: "s3", "minio", "gs", "file", "memory", ...
    backend: str  # "s3", "gcs", "local" or "fsspec"
    bucket: str  # "" for local and generic fsspec URIs
    key: str  # key inside the bucket; absolute path for local; path for fsspec

    @property
    def uri(self) -> str:
        if self.backend == "local":
            return Path(self.key).as_uri()
        if self.bucket:
            return (
                f"{self.scheme}://{self.bucket}/{self.key}"
                if self.key
                else f"{self.scheme}://{self.bucket}"
            )
        return f"{self.scheme}://{self.key}"


def parse_uri(uri: str) -> ParsedURI:
    """Split an artifact or blob-store URI; plain paths are local (made absolute)."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidArgument("empty URI")
    uri = uri.strip()
    if "://" not in uri:
        if uri.startswith("file:"):
            uri = "file://" + uri[len("file:") :]
        else:
            return ParsedURI("file", "local", "", os.path.abspath(os.path.expanduser(uri)))
    scheme, rest = uri.split("://", 1)
    scheme = scheme.lower()
    if scheme == "file":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise InvalidArgument(f"file URI with a host is not supported: {uri!r}")
        path = unquote(parts.path) or "/"
        return ParsedURI("file", "local", "", os.path.abspath(path))
    if scheme in S3_SCHEMES or scheme in GCS_SCHEMES:
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise InvalidArgument(f"URI has no bucket: {uri!r}")
        backend = "s3" if scheme in S3_SCHEMES else "gcs"
        return ParsedURI(scheme, backend, bucket, key.strip("/"))
    if not scheme.replace("+", "").replace("-", "").isalnum():
        raise InvalidArgument(f"not a URI: {uri!r}")
    return ParsedURI(scheme, "fsspec", "", rest)


def sha256_from_uri(uri: str) -> str | None:
    """The sha256 of a content-addressed blob URI (``.../sha256/ab/cd/<hash>``), or None."""
    return sha256_from_key(uri)
