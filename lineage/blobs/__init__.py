"""Artifact bytes: content-addressed, checksummed, streamed, atomic blob storage.

``open_blob_store(url)`` gives the configured :class:`BlobStore` (MinIO/S3 via ``minio``,
GCS via ``gcsfs``, local disk and other fsspec URLs via ``fsspec``); ``record_blob`` /
``attach_blob`` record blobs in the database; ``collect_garbage`` removes unreferenced ones.
Backends are imported lazily: ``import lineage.blobs`` needs neither minio nor gcsfs.
"""

from .base import CHUNK_SIZE, BlobInfo, BlobReader, BlobRef, BlobStore, content_key
from .factory import DEFAULT_BLOB_STORE, ENV_VARS, open_blob_store, open_uri
from .gc import GcReport, collect_garbage
from .records import SHA256_PROPERTY, SIZE_PROPERTY, attach_blob, blob_of_artifact, record_blob
from .uri import ParsedURI, parse_uri, sha256_from_uri

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_BLOB_STORE",
    "ENV_VARS",
    "SHA256_PROPERTY",
    "SIZE_PROPERTY",
    "BlobInfo",
    "BlobReader",
    "BlobRef",
    "BlobStore",
    "GcReport",
    "ParsedURI",
    "attach_blob",
    "blob_of_artifact",
    "collect_garbage",
    "content_key",
    "open_blob_store",
    "open_uri",
    "parse_uri",
    "record_blob",
    "sha256_from_uri",
]
