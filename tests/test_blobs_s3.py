"""The S3 backend against a real S3-protocol server process (moto) with the minio client:
configuration, missing bucket, unreachable endpoint, memory use, server-side layout."""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Iterator

import pytest
from blobservers import (  # noqa: E402
    RssSampler,
    minio_client,
    new_bucket,
    s3_env,
    unused_endpoint,
)

from lineage.blobs import open_blob_store
from lineage.blobs.s3 import S3BlobStore, parse_endpoint
from lineage.errors import DataLoss, InvalidArgument, NotFound, Unavailable

MiB = 1024 * 1024


def test_parse_endpoint() -> None:
    assert parse_endpoint("http://127.0.0.1:9000") == ("127.0.0.1:9000", False)
    assert parse_endpoint("https://s3.example.com") == ("s3.example.com", True)
    assert parse_endpoint("minio:9000", secure=False) == ("minio:9000", False)
    assert parse_endpoint("minio:9000") == ("minio:9000", True)
    with pytest.raises(InvalidArgument):
        parse_endpoint("http://host:9000/path")
    with pytest.raises(InvalidArgument):
        parse_endpoint("ftp://host")


def test_configuration_from_environment(s3_server) -> None:
    bucket = new_bucket(s3_server)
    env = {
        "MINIO_ENDPOINT": f"127.0.0.1:{s3_server.port}",
        "MINIO_SECURE": "false",
        "MINIO_ACCESS_KEY": "k",
        "MINIO_SECRET_KEY": "s",
        "LINEAGE_S3_PART_SIZE": "6MiB",
        "LINEAGE_S3_PARALLEL_UPLOADS": "2",
    }
    store = open_blob_store(f"minio://{bucket}/p", check=True, **env)
    assert isinstance(store, S3BlobStore)
    assert store.part_size == 6 * MiB and store.parallel_uploads == 2
    ref = store.put(b"kfp style")
    assert ref.uri.startswith(f"minio://{bucket}/p/sha256/")  # artifact URIs keep their scheme
    assert store.sha256_of_uri(ref.uri) == ref.sha256
    # The object really is where the URI says, under the prefix.
    names = [o.object_name for o in minio_client(s3_server).list_objects(bucket, recursive=True)]
    assert names == [f"p/sha256/{ref.sha256[:2]}/{ref.sha256[2:4]}/{ref.sha256}"]


def test_minio_scheme_needs_an_endpoint() -> None:
    with pytest.raises(InvalidArgument, match="AWS_ENDPOINT_URL"):
        open_blob_store(
            "minio://bucket/x",
            LINEAGE_S3_ENDPOINT="",
            AWS_ENDPOINT_URL_S3="",
            AWS_ENDPOINT_URL="",
            MINIO_ENDPOINT="",
        )


def test_missing_bucket_is_a_clear_error(s3_server) -> None:
    store = open_blob_store("s3://no-such-bucket/x", **s3_env(s3_server))
    with pytest.raises(NotFound, match="bucket 'no-such-bucket' does not exist"):
        store.check()
    with pytest.raises(NotFound, match="no-such-bucket"):
        store.put(b"data")
    with pytest.raises(NotFound, match="no-such-bucket"):
        store.open(hashlib.sha256(b"data").hexdigest())
    with pytest.raises(NotFound, match="no-such-bucket"):
        open_blob_store("s3://no-such-bucket/x", check=True, **s3_env(s3_server))


def test_missing_bucket_created_on_request(s3_server) -> None:
    bucket = f"created-{os.urandom(4).hex()}"
    store = open_blob_store(
        f"s3://{bucket}", check=True, LINEAGE_BLOB_CREATE_BUCKET="true", **s3_env(s3_server)
    )
    assert minio_client(s3_server).bucket_exists(bucket)
    assert store.verify(store.put(b"abc")).size == 3


@pytest.mark.parametrize("mode", ["spool", "stream"])
def test_unreachable_endpoint_fails_fast(mode: str) -> None:
    endpoint = unused_endpoint()
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "LINEAGE_S3_UPLOAD_MODE": mode,
    }
    store = open_blob_store("s3://bucket/x", **env)
    started = time.monotonic()
    with pytest.raises(Unavailable, match=f"{endpoint} is unreachable"):
        store.check()
    with pytest.raises(Unavailable, match=endpoint):
        store.put(io.BytesIO(b"x" * 1000))
    with pytest.raises(Unavailable, match=endpoint):
        store.open(hashlib.sha256(b"x").hexdigest())
    with pytest.raises(Unavailable):
        list(store.list_objects())
    assert time.monotonic() - started < 15


def test_stream_mode_cleans_its_temporary_key(s3_server) -> None:
    bucket = new_bucket(s3_server)
    store = open_blob_store(
        f"s3://{bucket}",
        LINEAGE_S3_UPLOAD_MODE="stream",
        LINEAGE_S3_PART_SIZE="5MiB",
        **s3_env(s3_server),
    )
    data = os.urandom(12 * MiB)
    ref = store.put(data)
    names = [o.object_name for o in minio_client(s3_server).list_objects(bucket, recursive=True)]
    assert names == [f"sha256/{ref.sha256[:2]}/{ref.sha256[2:4]}/{ref.sha256}"]
    # Dedup in stream mode uploads, then drops the temporary key.
    assert store.put(data) == ref
    names = [o.object_name for o in minio_client(s3_server).list_objects(bucket, recursive=True)]
    assert len(names) == 1


def test_interrupted_multipart_upload_is_aborted(s3_server) -> None:
    bucket = new_bucket(s3_server)
    store = open_blob_store(
        f"s3://{bucket}",
        LINEAGE_S3_UPLOAD_MODE="stream",
        LINEAGE_S3_PART_SIZE="5MiB",
        **s3_env(s3_server),
    )

    def cut_off() -> Iterator[bytes]:
        for _ in range(3):
            yield os.urandom(4 * MiB)
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        store.put(cut_off())
    client = minio_client(s3_server)
    assert list(client.list_objects(bucket, recursive=True)) == []
    uploads = client._list_multipart_uploads(bucket)
    assert list(uploads.uploads) == []


def test_dedup_refreshes_the_object_date(s3_server) -> None:
    bucket = new_bucket(s3_server)
    store = open_blob_store(f"s3://{bucket}", **s3_env(s3_server))
    ref = store.put(b"same bytes")
    before = store.stat(ref)
    time.sleep(1.1)
    store.put(b"same bytes")
    after = store.stat(ref)
    assert before is not None and after is not None
    assert before.modified is not None and after.modified is not None
    assert after.modified > before.modified  # a concurrent gc's grace period protects it
    assert store.verify(ref) == ref


@pytest.mark.parametrize("mode", ["spool", "stream"])
def test_memory_stays_flat(s3_server, mode: str) -> None:
    size = 96 * MiB
    bucket = new_bucket(s3_server)
    store = open_blob_store(f"s3://{bucket}", LINEAGE_S3_UPLOAD_MODE=mode, **s3_env(s3_server))
    block = os.urandom(MiB)

    def gen() -> Iterator[bytes]:
        for i in range(size // MiB):
            yield block[:-4] + i.to_bytes(4, "big")

    with RssSampler() as rss:
        ref = store.put(gen(), expected_size=size)
        with store.open(ref) as reader:
            for _ in reader:
                pass
    assert ref.size == size
    # Parts in flight (8 MiB x 3 parallel + one being read) and chunk buffers; not the object.
    assert rss.growth < 80 * MiB, rss.growth


def test_known_checksum_upload_goes_straight_to_its_address(s3_server) -> None:
    bucket = new_bucket(s3_server)
    store = open_blob_store(f"s3://{bucket}", LINEAGE_S3_PART_SIZE="5MiB", **s3_env(s3_server))
    client = minio_client(s3_server)
    data = os.urandom(12 * MiB)
    good = hashlib.sha256(data).hexdigest()
    # Wrong claim: the check at the end of the stream aborts the multipart upload.
    with pytest.raises(DataLoss, match="checksum mismatch"):
        store.put(io.BytesIO(data), expected_sha256=hashlib.sha256(b"x").hexdigest())
    assert list(client.list_objects(bucket, recursive=True)) == []
    assert list(client._list_multipart_uploads(bucket).uploads) == []
    ref = store.put(io.BytesIO(data), expected_sha256=good, expected_size=len(data))
    names = [o.object_name for o in client.list_objects(bucket, recursive=True)]
    assert names == [f"sha256/{good[:2]}/{good[2:4]}/{good}"]
    assert client.stat_object(bucket, names[0]).metadata["x-amz-meta-lineage-sha256"] == good
    assert store.verify(ref) == ref


def test_presigned_urls_can_name_a_public_endpoint(s3_server) -> None:
    bucket = new_bucket(s3_server)
    public = f"http://localhost:{s3_server.port}"
    store = open_blob_store(
        f"s3://{bucket}/p", LINEAGE_S3_PUBLIC_ENDPOINT=public, **s3_env(s3_server)
    )
    ref = store.put(b"for a browser")
    url = store.presigned_get_url(ref, 60)
    assert url is not None and url.startswith(f"{public}/{bucket}/p/sha256/")
    assert "X-Amz-Signature=" in url


def test_s3_and_minio_uris_name_the_same_blobs(s3_server) -> None:
    bucket = new_bucket(s3_server)
    store = open_blob_store(f"s3://{bucket}/p", **s3_env(s3_server))
    ref = store.put(b"x")
    assert store.sha256_of_uri(ref.uri) == ref.sha256
    assert store.sha256_of_uri(ref.uri.replace("s3://", "minio://")) == ref.sha256
    assert store.sha256_of_uri(ref.uri.replace(f"s3://{bucket}/p/", f"s3://{bucket}/q/")) is None
    assert store.sha256_of_uri(ref.uri.replace(bucket, "other-bucket")) is None


def test_no_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No keys and no default credentials: a FailedPrecondition that says what to set,
    not minio's bare ValueError (which `lineage serve` and `lineage gc` printed as a
    traceback)."""
    from minio.credentials.providers import AWSConfigProvider, IamAwsProvider

    from lineage.blobs.factory import S3_ACCESS_KEY_VARS, S3_SECRET_KEY_VARS
    from lineage.errors import FailedPrecondition

    for name in (*S3_ACCESS_KEY_VARS, *S3_SECRET_KEY_VARS, "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    def no_credentials(self: object) -> None:
        raise ValueError("no credentials here")

    monkeypatch.setattr(AWSConfigProvider, "retrieve", no_credentials)
    monkeypatch.setattr(IamAwsProvider, "retrieve", no_credentials)
    store = open_blob_store("s3://bucket/x", AWS_ENDPOINT_URL=unused_endpoint())
    with pytest.raises(FailedPrecondition, match="no S3 credentials.*AWS_ACCESS_KEY_ID"):
        store.check()
