"""Local disk backend, the factory's configuration, URI parsing and the streaming core."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from blobservers import RssSampler  # noqa: E402

from lineage.blobs import (
    DEFAULT_BLOB_STORE,
    ENV_VARS,
    BlobRef,
    open_blob_store,
    open_uri,
    parse_uri,
    sha256_from_uri,
)
from lineage.blobs.base import HashingSource, content_key, normalize_sha256
from lineage.blobs.fsspec_store import FsspecBlobStore
from lineage.blobs.local import LocalBlobStore
from lineage.errors import DataLoss, InvalidArgument, NotFound, Unavailable

MiB = 1024 * 1024


# -- factory -------------------------------------------------------------------------


def test_default_store_is_local_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LINEAGE_BLOB_STORE", raising=False)
    store = open_blob_store(check=True)
    assert isinstance(store, LocalBlobStore)
    assert DEFAULT_BLOB_STORE == "./lineage-data/blobs"
    assert store.root == tmp_path / "lineage-data" / "blobs"
    ref = store.put(b"hello")
    assert (
        tmp_path / "lineage-data/blobs/sha256" / ref.sha256[:2] / ref.sha256[2:4] / ref.sha256
    ).read_bytes() == b"hello"


def test_store_url_from_environment(tmp_path: Path) -> None:
    store = open_blob_store(LINEAGE_BLOB_STORE=f"file://{tmp_path}/b")
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path / "b"
    assert "LINEAGE_BLOB_STORE" in ENV_VARS and "AWS_ENDPOINT_URL" in ENV_VARS


def test_other_fsspec_urls(tmp_path: Path) -> None:
    store = open_blob_store("memory://some/where")
    assert isinstance(store, FsspecBlobStore)
    ref = store.put(b"in memory")
    assert ref.uri.startswith("memory://")
    assert store.verify(ref) == ref
    with pytest.raises(InvalidArgument):
        open_blob_store("nosuchprotocol://x")


def test_bad_settings_are_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="LINEAGE_BLOB_FSYNC"):
        open_blob_store(str(tmp_path), LINEAGE_BLOB_FSYNC="maybe")
    with pytest.raises(InvalidArgument, match="LINEAGE_S3_PART_SIZE"):
        open_blob_store("s3://b", AWS_ENDPOINT_URL="http://127.0.0.1:1", LINEAGE_S3_PART_SIZE="big")
    with pytest.raises(InvalidArgument, match="part_size"):
        open_blob_store(
            "s3://b", AWS_ENDPOINT_URL="http://127.0.0.1:1", LINEAGE_S3_PART_SIZE="1MiB"
        )
    with pytest.raises(InvalidArgument, match="upload_mode"):
        open_blob_store("s3://b", AWS_ENDPOINT_URL="http://127.0.0.1:1", LINEAGE_S3_UPLOAD_MODE="x")


# -- URIs ----------------------------------------------------------------------------


def test_parse_uri() -> None:
    p = parse_uri("s3://bucket/a/b/c")
    assert (p.scheme, p.backend, p.bucket, p.key) == ("s3", "s3", "bucket", "a/b/c")
    p = parse_uri("minio://mlpipeline/v2/artifacts/run/model")
    assert (p.scheme, p.backend, p.bucket, p.key) == (
        "minio",
        "s3",
        "mlpipeline",
        "v2/artifacts/run/model",
    )
    assert p.uri == "minio://mlpipeline/v2/artifacts/run/model"
    p = parse_uri("gs://b/k")
    assert (p.backend, p.bucket, p.key) == ("gcs", "b", "k")
    assert parse_uri("gcs://b/k").backend == "gcs"
    p = parse_uri("file:///tmp/x%20y")
    assert (p.backend, p.key) == ("local", "/tmp/x y")
    p = parse_uri("relative/dir")
    assert p.backend == "local" and p.key == os.path.abspath("relative/dir")
    p = parse_uri("memory://x/y")
    assert (p.backend, p.key) == ("fsspec", "x/y")
    for bad in ("", "s3://", "gs:///key", "file://otherhost/x"):
        with pytest.raises(InvalidArgument):
            parse_uri(bad)


def test_sha256_from_uri() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    assert sha256_from_uri(f"s3://b/p/sha256/{sha[:2]}/{sha[2:4]}/{sha}") == sha
    assert sha256_from_uri(f"s3://b/p/sha256/00/00/{sha}") is None  # inconsistent fan-out
    assert sha256_from_uri("s3://b/p/model.pkl") is None


def test_open_uri_reads_plain_artifact_files(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights")
    store, key = open_uri((tmp_path / "model.bin").as_uri())
    assert key == "model.bin"
    assert store.open_key(key).read() == b"weights"
    with pytest.raises(NotFound):
        store.open_key("other.bin")


def test_normalize_sha256() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    assert normalize_sha256(sha.upper()) == sha
    assert normalize_sha256(f"sha256:{sha}") == sha
    with pytest.raises(InvalidArgument):
        normalize_sha256("zz" * 32)
    with pytest.raises(InvalidArgument):
        content_key("abc")


# -- local specifics -----------------------------------------------------------------


def test_layout_and_no_temporaries(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    ref = store.put(b"abc")
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == [f"sha256/{ref.sha256[:2]}/{ref.sha256[2:4]}/{ref.sha256}"]
    assert ref.uri == (tmp_path / files[0]).as_uri()


def test_unusable_directory_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    store = LocalBlobStore(tmp_path / "a-file" / "blobs")  # works as root, too
    with pytest.raises(Unavailable, match="a-file"):
        store.check()
    with pytest.raises(Unavailable, match="a-file"):
        store.put(b"x")


def test_leftover_temporaries_are_listed(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "deadbeef").write_bytes(b"partial")
    assert [(k, s.size) for k, s in store.list_temporaries()] == [("tmp/deadbeef", 7)]
    assert list(store.list_objects()) == []
    assert store.delete_temporary("tmp/deadbeef")
    with pytest.raises(InvalidArgument):
        store.delete_temporary("sha256/../x")


def test_a_streaming_consumer_learns_of_corruption_at_the_end(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = os.urandom(20 * MiB)
    ref = store.put(data)
    path = store._path(content_key(ref.sha256))
    with open(path, "r+b") as f:
        f.seek(19 * MiB)
        f.write(b"\0" * 10)
    reader = store.open(ref)
    first = next(reader)
    assert first == data[: len(first)]  # bytes flow ...
    with pytest.raises(DataLoss, match=f"checksum mismatch for blob sha256:{ref.sha256}"):
        for _ in reader:  # ... and the end of the stream is an error
            pass
    assert reader.closed


def test_grown_object_is_detected_while_streaming(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    ref = store.put(b"abc")
    reader = store.open(ref)
    with open(store._path(content_key(ref.sha256)), "ab") as f:
        f.write(b"more")
    with pytest.raises(DataLoss, match="more bytes"):
        reader.read()


def test_memory_stays_flat_for_a_large_stream(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, fsync=False)
    size = 512 * MiB
    block = os.urandom(8 * MiB)

    def gen() -> Iterator[bytes]:
        for i in range(size // len(block)):
            yield block[:-4] + i.to_bytes(4, "big")

    with RssSampler() as rss:
        ref = store.put(gen(), expected_size=size)
        with store.open(ref) as reader:
            for _ in reader:
                pass
    assert ref.size == size
    assert rss.growth < 64 * MiB, rss.growth


# -- the streaming core --------------------------------------------------------------


def test_small_reads_do_not_recopy_the_chunk(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, fsync=False)
    data = os.urandom(16 * MiB)
    ref = store.put(data)
    started = time.monotonic()
    out = bytearray()
    with store.open(ref) as reader:
        while piece := reader.read(4096):
            out += piece
    assert bytes(out) == data
    assert time.monotonic() - started < 5  # re-slicing 8 MiB chunks per read would not be


def test_hashing_source_read_sizes() -> None:
    data = os.urandom(100_000)
    src = HashingSource([data[:10], data[10:50_000], b"", data[50_000:]], chunk_size=4096)
    out = []
    while chunk := src.read(30_001):
        assert len(chunk) <= 30_001
        out.append(chunk)
    assert b"".join(out) == data
    assert src.size == len(data)
    assert src.hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("read_size", [1000, 4096, 5000, 100_000])
def test_hashing_source_checks_expectations_when_the_last_byte_is_read(read_size: int) -> None:
    data = os.urandom(20_000)
    good = hashlib.sha256(data).hexdigest()
    src = HashingSource(
        [data[:7000], data[7000:]], chunk_size=4096, expect_sha256=good, expect_size=len(data)
    )
    got = b""
    while len(got) < len(data):  # a reader that knows the length stops at it
        got += src.read(min(read_size, len(data) - len(got)))
    assert got == data and src.verified
    bad = HashingSource([data], expect_sha256="0" * 64, expect_size=len(data))
    with pytest.raises(DataLoss, match="checksum mismatch"):
        bad.read(len(data))
    longer = HashingSource([data, b"x"], expect_size=len(data))
    with pytest.raises(DataLoss, match="more bytes"):
        longer.read(len(data))


def test_hashing_source_rejects_text() -> None:
    src = HashingSource(iter(["text"]))  # type: ignore[list-item]
    with pytest.raises(InvalidArgument, match="bytes"):
        list(src.chunks())


def test_blob_ref_is_a_value() -> None:
    a = BlobRef("0" * 64, 1, "file:///x")
    assert a == BlobRef("0" * 64, 1, "file:///x")
    assert len({a, BlobRef("0" * 64, 1, "file:///x")}) == 1
