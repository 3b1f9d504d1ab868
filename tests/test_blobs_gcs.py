"""The GCS backend (gcsfs) against a GCS emulator process: configuration, missing bucket,
unreachable endpoint, layout."""

from __future__ import annotations

import hashlib
import os
import time
import uuid

import pytest
from blobservers import gcs_env, new_gcs_bucket, unused_endpoint  # noqa: E402

from lineage.blobs import open_blob_store
from lineage.blobs.gcs import GCSBlobStore
from lineage.errors import NotFound, Unavailable


def test_emulator_host_without_scheme(gcs_server) -> None:
    bucket = new_gcs_bucket(gcs_server)
    store = open_blob_store(
        f"gs://{bucket}/pre/fix", check=True, STORAGE_EMULATOR_HOST=f"127.0.0.1:{gcs_server.port}"
    )
    assert isinstance(store, GCSBlobStore)
    ref = store.put(b"gcs bytes")
    assert (
        ref.uri == f"gs://{bucket}/pre/fix/sha256/{ref.sha256[:2]}/{ref.sha256[2:4]}/{ref.sha256}"
    )
    listed = store.fs.find(bucket)
    assert listed == [ref.uri[len("gs://") :]]  # no temporary left behind
    assert store.verify(ref) == ref


def test_missing_bucket_is_a_clear_error(gcs_server) -> None:
    store = open_blob_store("gs://no-such-bucket/x", **gcs_env(gcs_server))
    with pytest.raises(NotFound, match="bucket 'no-such-bucket' does not exist"):
        store.check()
    with pytest.raises(NotFound, match="no-such-bucket"):
        store.put(b"data")
    with pytest.raises(NotFound, match="no-such-bucket"):
        store.open(hashlib.sha256(b"data").hexdigest())


def test_unreachable_endpoint_fails_fast() -> None:
    endpoint = unused_endpoint()
    store = open_blob_store("gs://bucket/x", STORAGE_EMULATOR_HOST=endpoint)
    started = time.monotonic()
    with pytest.raises(Unavailable, match=endpoint):
        store.check()
    with pytest.raises(Unavailable, match=endpoint):
        store.put(os.urandom(1000))
    assert time.monotonic() - started < 20


def test_gc_listing_sees_only_content_objects(gcs_server) -> None:
    store = open_blob_store(
        f"gs://{gcs_server.extra['bucket']}/{uuid.uuid4().hex}", **gcs_env(gcs_server)
    )
    refs = {store.put(os.urandom(100)).sha256 for _ in range(3)}
    assert {o.sha256 for o in store.list_objects()} == refs
    assert all(o.modified is not None for o in store.list_objects())


def test_unreachable_default_endpoint_fails_the_check() -> None:
    """Without an emulator endpoint there is no TCP probe: the bucket lookup's connection
    error must fail the check (it passed as "bucket exists", and `lineage serve` started
    on an unreachable GCS)."""
    import aiohttp

    class Unreachable:
        def info(self, path: str) -> None:
            raise aiohttp.ClientConnectionError("Cannot connect to host storage.googleapis.com")

    store = GCSBlobStore("bucket", fs=Unreachable())
    with pytest.raises(Unavailable, match="storage.googleapis.com is unreachable"):
        store.check()


def test_gcsfs_gives_up_in_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """gcsfs logs each request it gives up on with a traceback before raising it; the
    store reports the error itself, so only gcsfs's line is kept."""
    import logging

    from lineage.blobs.gcs import import_gcsfs

    import_gcsfs()
    try:
        raise ConnectionError("no route")
    except ConnectionError:
        logging.getLogger("gcsfs").exception("_request out of retries on exception: no route")
    [record] = [r for r in caplog.records if r.name == "gcsfs"]
    assert record.getMessage().endswith("no route") and record.exc_info is None
