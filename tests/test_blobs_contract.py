"""The BlobStore contract, run against every backend: local disk, an fsspec memory
filesystem, a real S3-protocol server process (moto, through the ``minio`` client; both
upload modes) and a GCS emulator process (through ``gcsfs``)."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from blake3 import blake3
from blobservers import gcs_env, new_bucket, s3_env  # noqa: E402

from lineage.blobs import BlobRef, BlobStore, open_blob_store
from lineage.blobs.base import content_key
from lineage.blobs.fsspec_store import FsspecBlobStore
from lineage.blobs.local import LocalBlobStore
from lineage.blobs.s3 import S3BlobStore
from lineage.errors import DataLoss, InvalidArgument, NotFound

MiB = 1024 * 1024


@dataclass
class Backend:
    name: str
    store: BlobStore
    large: int  # bytes for the "large object" test: several chunks / parts

    def write_raw(self, sha: str, data: bytes) -> None:
        """Overwrite the stored object behind the store's back (to simulate damage)."""
        key = content_key(sha)
        store = self.store
        if isinstance(store, LocalBlobStore):
            path = store._path(key)
            os.chmod(path, 0o644)
            path.write_bytes(data)
        elif isinstance(store, S3BlobStore):
            store.client.put_object(store.bucket, store._full(key), io.BytesIO(data), len(data))
        elif isinstance(store, FsspecBlobStore):
            store.fs.pipe_file(store._path(key), data)
        else:  # pragma: no cover
            raise AssertionError(store)


BACKENDS = ["local", "memory", "s3-spool", "s3-stream", "gcs"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Backend]:
    name = request.param
    if name == "local":
        yield Backend(name, open_blob_store(str(tmp_path / "blobs")), 40 * MiB)
    elif name == "memory":
        yield Backend(name, open_blob_store(f"memory://blobs-{uuid.uuid4().hex}"), 20 * MiB)
    elif name.startswith("s3"):
        server = request.getfixturevalue("s3_server")
        bucket = new_bucket(server)
        store = open_blob_store(
            f"s3://{bucket}/some/prefix",
            LINEAGE_S3_UPLOAD_MODE=name.split("-")[1],
            LINEAGE_S3_PART_SIZE="5MiB",
            **s3_env(server),
        )
        yield Backend(name, store, 17 * MiB)  # 4 parts of 5 MiB
        store.close()
    else:
        server = request.getfixturevalue("gcs_server")
        store = open_blob_store(
            f"gs://{server.extra['bucket']}/{uuid.uuid4().hex}", **gcs_env(server)
        )
        yield Backend(name, store, 20 * MiB)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_all(store: BlobStore, ref: BlobRef | str, **kw: Any) -> bytes:
    with store.open(ref, **kw) as reader:
        return b"".join(reader)


def assert_empty(store: BlobStore) -> None:
    assert list(store.list_objects()) == []
    assert list(store.list_temporaries()) == []


# -- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d: d, id="bytes"),
        pytest.param(io.BytesIO, id="file"),
        pytest.param(lambda d: [d[i : i + 1000] for i in range(0, len(d), 1000)], id="chunks"),
        pytest.param(lambda d: iter([bytearray(d)]), id="bytearray-iterator"),
    ],
)
def test_round_trip(backend: Backend, make: Callable[[bytes], Any]) -> None:
    store = backend.store
    data = os.urandom(123_457)
    ref = store.put(make(data))
    assert ref.sha256 == sha(data)
    assert ref.size == len(data)
    assert ref.uri == store.uri_for(ref.sha256)
    assert ref.uri.endswith(f"/sha256/{ref.sha256[:2]}/{ref.sha256[2:4]}/{ref.sha256}")
    assert store.sha256_of_uri(ref.uri) == ref.sha256
    assert read_all(store, ref) == data
    assert read_all(store, ref.sha256) == data
    assert store.exists(ref) and store.exists(ref.sha256.upper())
    info = store.stat(ref)
    assert info is not None and info.size == len(data) and info.sha256 == ref.sha256
    assert [o.sha256 for o in store.list_objects()] == [ref.sha256]
    assert list(store.list_temporaries()) == []


def test_empty_blob(backend: Backend) -> None:
    ref = backend.store.put(b"")
    assert ref.sha256 == sha(b"") and ref.size == 0
    assert read_all(backend.store, ref) == b""
    assert backend.store.verify(ref).sha256 == ref.sha256


def test_large_object_streams_in_chunks(backend: Backend) -> None:
    store = backend.store
    block = os.urandom(MiB)
    n = backend.large // MiB
    h = hashlib.sha256()
    for i in range(n):
        h.update(block + i.to_bytes(4, "big"))

    def gen() -> Iterator[bytes]:
        for i in range(n):
            yield block + i.to_bytes(4, "big")

    ref = store.put(gen(), expected_size=n * (MiB + 4), expected_sha256=h.hexdigest())
    assert ref.size == n * (MiB + 4)
    check = hashlib.sha256()
    chunks = 0
    with store.open(ref) as reader:
        assert reader.size == ref.size
        for chunk in reader:
            assert len(chunk) <= 8 * MiB
            check.update(chunk)
            chunks += 1
    assert check.hexdigest() == ref.sha256
    assert chunks >= 2
    # A range across a chunk boundary.
    start, end = 8 * MiB - 10, 8 * MiB + 10
    whole = b"".join(gen())
    assert store.read_range(ref, start, end).read() == whole[start:end]


def test_file_like_reads(backend: Backend) -> None:
    data = os.urandom(50_000)
    ref = backend.store.put(data)
    with backend.store.open(ref) as reader:
        parts = []
        while part := reader.read(7777):
            parts.append(part)
    assert b"".join(parts) == data
    # Stopping early and closing is fine.
    reader = backend.store.open(ref)
    assert reader.read(10) == data[:10]
    reader.close()
    assert reader.closed


def test_read_range(backend: Backend) -> None:
    data = bytes(range(256)) * 100
    ref = backend.store.put(data)
    store = backend.store
    assert store.read_range(ref, 0, 10).read() == data[:10]
    assert store.read_range(ref, 100).read() == data[100:]
    assert store.read_range(ref, 25_590, 99_999).read() == data[25_590:]
    assert store.read_range(ref, 5, 5).read() == b""
    with pytest.raises(InvalidArgument):
        store.read_range(ref, 30_000, 30_001)


# -- dedup ---------------------------------------------------------------------------


def test_identical_bytes_are_stored_once(backend: Backend) -> None:
    store = backend.store
    data = os.urandom(10_000)
    a = store.put(data)
    b = store.put(io.BytesIO(data))
    c = store.put(os.urandom(10_000))
    assert a == b
    assert a.sha256 != c.sha256
    assert sorted(o.sha256 for o in store.list_objects()) == sorted([a.sha256, c.sha256])
    assert list(store.list_temporaries()) == []
    assert read_all(store, a) == data


# -- integrity -----------------------------------------------------------------------


def test_checksum_mismatch_on_upload_stores_nothing(backend: Backend) -> None:
    with pytest.raises(DataLoss, match="checksum"):
        backend.store.put(b"hello", expected_sha256=sha(b"other"))
    assert_empty(backend.store)


def test_truncated_upload_with_expected_size_stores_nothing(backend: Backend) -> None:
    with pytest.raises(DataLoss, match="expected 1000"):
        backend.store.put(b"x" * 600, expected_size=1000)
    assert_empty(backend.store)


def test_interrupted_upload_leaves_nothing(backend: Backend) -> None:
    block = os.urandom(3 * MiB)

    def cut_off() -> Iterator[bytes]:
        yield block
        yield block
        raise ConnectionResetError("client went away half way")

    with pytest.raises(ConnectionResetError):
        backend.store.put(cut_off())
    assert_empty(backend.store)


def test_corrupted_object_gives_checksum_error(backend: Backend) -> None:
    store = backend.store
    data = os.urandom(100_000)
    ref = store.put(data)
    damaged = bytearray(data)
    damaged[50_000] ^= 0xFF
    backend.write_raw(ref.sha256, bytes(damaged))

    received = bytearray()
    with pytest.raises(DataLoss, match="checksum mismatch") as err:
        with store.open(ref) as reader:
            for chunk in reader:
                received += chunk
    assert ref.sha256 in str(err.value)
    with pytest.raises(DataLoss):
        store.verify(ref)
    with pytest.raises(DataLoss):
        store.open(ref).read()


def test_uploads_record_a_blake3_that_whole_reads_check(backend: Backend) -> None:
    """Every upload path returns the BLAKE3 of the bytes; a read given it checks it and
    not the sha256 (a wrong recorded BLAKE3 fails on intact bytes), a read without it
    checks the sha256, and verify() checks both."""
    store = backend.store
    data = os.urandom(backend.large)
    unknown = store.put(io.BytesIO(data))
    assert unknown.blake3 == blake3(data).hexdigest()
    store.delete(unknown)
    known = store.put(io.BytesIO(data), expected_sha256=sha(data), expected_size=len(data))
    assert known.blake3 == blake3(data).hexdigest()
    deduped = store.put(data)
    assert deduped == known and deduped.blake3 == known.blake3

    with store.open(known) as reader:
        assert b"".join(reader) == data
    wrong = blake3(b"other bytes").hexdigest()
    with pytest.raises(DataLoss, match=f"BLAKE3 {known.blake3}, recorded {wrong}"):
        with store.open(known.sha256, size=len(data), blake3=wrong) as reader:
            for _ in reader:
                pass
    stale = BlobRef(known.sha256, known.size, known.uri, blake3=wrong)
    with pytest.raises(DataLoss, match="BLAKE3"):
        store.open(stale).read()
    with pytest.raises(DataLoss, match="BLAKE3"):
        store.verify(stale)  # the sha256 holds, the BLAKE3 does not
    assert store.verify(known).blake3 == known.blake3
    assert read_all(store, known.sha256) == data  # sha256 only
    with pytest.raises(InvalidArgument, match="BLAKE3"):
        store.open(known.sha256, blake3="not hex")

    # Damage is caught by each digest on its own.
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0x01
    backend.write_raw(known.sha256, bytes(damaged))
    with pytest.raises(DataLoss, match="hash to BLAKE3"):
        store.open(known).read()
    with pytest.raises(DataLoss, match="hash to sha256"):
        read_all(store, known.sha256)


def test_object_of_wrong_size_fails_before_any_byte(backend: Backend) -> None:
    store = backend.store
    data = os.urandom(20_000)
    ref = store.put(data)
    backend.write_raw(ref.sha256, data[:-1])
    with pytest.raises(DataLoss, match="19999 bytes"):
        store.open(ref)  # the recorded size comes with the ref
    with pytest.raises(DataLoss, match="checksum mismatch"):
        read_all(store, ref.sha256)  # without it: the checksum, at the end
    # Uploading the right bytes again repairs it.
    assert store.put(data) == ref
    assert store.verify(ref) == ref


def test_missing_blob_is_not_found(backend: Backend) -> None:
    missing = sha(b"never stored")
    with pytest.raises(NotFound, match=missing):
        backend.store.open(missing)
    assert not backend.store.exists(missing)
    assert backend.store.stat(missing) is None
    assert backend.store.delete(missing) is False


def test_bad_sha256_is_invalid_argument(backend: Backend) -> None:
    with pytest.raises(InvalidArgument):
        backend.store.open("not-a-hash")
    with pytest.raises(InvalidArgument):
        backend.store.put(b"x", expected_sha256="abc")


def test_delete(backend: Backend) -> None:
    ref = backend.store.put(b"to delete")
    assert backend.store.delete(ref) is True
    assert not backend.store.exists(ref)
    assert list(backend.store.list_objects()) == []


def test_presigned_url(backend: Backend) -> None:
    data = b"presigned bytes"
    ref = backend.store.put(data)
    url = backend.store.presigned_get_url(ref, 600)
    if backend.name.startswith("s3"):
        assert url is not None and url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - 127.0.0.1
            assert resp.read() == data
    else:
        assert url is None  # local disk, memory, and GCS with anonymous credentials


def test_describe_names_backend_without_secrets(backend: Backend) -> None:
    text = backend.store.describe()
    assert text
    assert "secret" not in text.lower()


# -- uploads whose checksum is known up front (S3 and GCS write straight to the address) --


@pytest.mark.parametrize("declared_size", [True, False])
def test_known_checksum_upload_round_trip(backend: Backend, declared_size: bool) -> None:
    data = os.urandom(11 * MiB + 3)
    size = len(data) if declared_size else None
    ref = backend.store.put(io.BytesIO(data), expected_sha256=sha(data), expected_size=size)
    assert (ref.sha256, ref.size) == (sha(data), len(data))
    assert read_all(backend.store, ref) == data
    assert [o.sha256 for o in backend.store.list_objects()] == [ref.sha256]
    assert list(backend.store.list_temporaries()) == []
    # Again: dedup.
    assert backend.store.put(data, expected_sha256=sha(data), expected_size=size) == ref
    assert len(list(backend.store.list_objects())) == 1


@pytest.mark.parametrize(
    ("payload", "declared", "message"),
    [
        pytest.param(b"a" * (6 * MiB), 6 * MiB - 1, "more bytes", id="longer-than-declared"),
        pytest.param(b"a" * (6 * MiB), 6 * MiB + 1, "ended after", id="shorter-than-declared"),
        pytest.param(b"a" * (6 * MiB), None, "checksum mismatch", id="other-bytes"),
        pytest.param(b"", 0, "checksum mismatch", id="empty-but-other-checksum"),
    ],
)
def test_known_checksum_upload_mismatch_stores_nothing(
    backend: Backend, payload: bytes, declared: int | None, message: str
) -> None:
    claimed = sha(b"b" * (6 * MiB)) if message == "checksum mismatch" else sha(payload)
    with pytest.raises(DataLoss, match=message):
        backend.store.put(io.BytesIO(payload), expected_sha256=claimed, expected_size=declared)
    assert_empty(backend.store)
    assert not backend.store.exists(claimed)


def test_known_checksum_upload_cut_off_stores_nothing(backend: Backend) -> None:
    block = os.urandom(3 * MiB)
    whole = block * 4

    def cut_off() -> Iterator[bytes]:
        yield block
        yield block
        raise ConnectionResetError("client went away half way")

    with pytest.raises(ConnectionResetError):
        backend.store.put(cut_off(), expected_sha256=sha(whole), expected_size=len(whole))
    assert_empty(backend.store)
    with pytest.raises(ConnectionResetError):
        backend.store.put(cut_off(), expected_sha256=sha(whole))
    assert_empty(backend.store)
