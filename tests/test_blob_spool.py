"""Spool files reused between uploads (``lineage/blobs/spool.py``): the pool itself, and
the S3 store's spooled uploads through it against a real S3-protocol server (moto)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator

import pytest
from blobservers import new_bucket, s3_env

from lineage.blobs import open_blob_store
from lineage.blobs.base import content_key
from lineage.blobs.s3 import S3BlobStore
from lineage.blobs.spool import SpoolPool

MiB = 1024 * 1024


def test_a_returned_file_is_reused_and_holds_only_the_new_bytes(tmp_path) -> None:
    pool = SpoolPool(str(tmp_path))
    f = pool.take()
    f.write(b"x" * 1000)
    pool.written(f)
    pool.give_back(f)
    again = pool.take()
    assert again is f and again.tell() == 0
    again.write(b"short")
    pool.written(again)  # the longer previous upload's rest is cut off
    again.seek(0)
    assert again.read() == b"short"
    pool.give_back(again)
    pool.close()
    assert f.closed
    assert os.listdir(tmp_path) == []  # unlinked: nothing visible in the spool dir


def test_idle_files_are_capped_in_number_and_size(tmp_path) -> None:
    pool = SpoolPool(str(tmp_path), keep_files=1, keep_bytes=100)
    one, two = pool.take(), pool.take()
    assert one is not two
    one.write(b"a" * 500)
    pool.written(one)
    pool.give_back(one)
    pool.give_back(two)  # the pool is full: closed
    assert two.closed and not one.closed
    assert one.seek(0, 2) == 100  # truncated to keep_bytes
    pool.close()


def test_a_file_an_upload_failed_with_is_not_reused(tmp_path) -> None:
    pool = SpoolPool(str(tmp_path))
    f = pool.take()
    pool.give_back(f, reusable=False)
    assert f.closed
    assert pool.take() is not f


@pytest.fixture
def spooled(s3_server) -> Iterator[S3BlobStore]:
    store = open_blob_store(
        f"s3://{new_bucket(s3_server)}/spool",
        LINEAGE_S3_UPLOAD_MODE="spool",
        LINEAGE_S3_PART_SIZE="5MiB",
        **s3_env(s3_server),
    )
    assert isinstance(store, S3BlobStore)
    yield store
    store.close()


def test_spooled_uploads_of_shrinking_sizes_store_exact_bytes(spooled: S3BlobStore) -> None:
    """A reused spool file that held a bigger upload before must not leak its rest into
    the next object: each object is exactly its own bytes."""
    sizes = [12 * MiB + 7, 3 * MiB + 1, 11, 0, 6 * MiB]
    payloads = [os.urandom(n) for n in sizes]
    for data in payloads:
        ref = spooled.put(iter([data[i : i + MiB] for i in range(0, len(data), MiB)]))
        assert ref.size == len(data) and ref.sha256 == hashlib.sha256(data).hexdigest()
        with spooled.open(ref) as reader:
            assert b"".join(reader) == data
        raw = spooled.client.get_object(spooled.bucket, spooled._full(content_key(ref.sha256)))
        try:
            assert raw.read() == data  # on the server too, not just through our reader
        finally:
            raw.close()
            raw.release_conn()
    assert len(spooled._spools._idle) == 1  # one file served every upload in turn


def test_spooled_upload_failing_midway_then_next_upload_is_whole(spooled: S3BlobStore) -> None:
    first = os.urandom(4 * MiB)
    spooled.put(first)

    def broken() -> Iterator[bytes]:
        yield os.urandom(2 * MiB)
        raise OSError("client went away")

    with pytest.raises(OSError, match="went away"):
        spooled.put(broken())
    data = os.urandom(MiB + 3)
    ref = spooled.put(data)
    assert spooled.open(ref).read() == data
    assert list(spooled.list_temporaries()) == []


def test_concurrent_spooled_uploads_each_get_their_own_file(spooled: S3BlobStore) -> None:
    payloads = [os.urandom(2 * MiB + i) for i in range(6)]
    refs: list = [None] * len(payloads)
    start = threading.Barrier(len(payloads))

    def upload(i: int) -> None:
        start.wait()
        refs[i] = spooled.put(payloads[i])

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for data, ref in zip(payloads, refs, strict=True):
        assert spooled.open(ref).read() == data
    assert len(spooled._spools._idle) <= spooled._spools.keep_files
