"""Artifact bytes through ``lineage serve``: gRPC UploadBlob/DownloadBlob and the HTTP
downloads, against real server processes on local disk and on an S3-protocol server
(moto, with the minio client): round trips, dedup, large objects streamed, corruption,
interrupted uploads, ranges, redirects, KFP artifact URIs, startup errors."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from blake3 import blake3
from blobservers import minio_client, new_bucket, s3_env, unused_endpoint  # noqa: E402
from lineage_server import LineageServer
from ml_metadata.proto import metadata_store_pb2 as mlmd
from sqlalchemy import select, update

from lineage._proto.lineage.v1 import lineage_pb2 as pb
from lineage._proto.lineage.v1 import lineage_pb2_grpc as pb_grpc
from lineage.store.schema import blob_table
from lineage.store.store import Store

MiB = 1024 * 1024
PREFIX = "lineage"


@dataclass
class Served:
    """A running server, how to reach it, and a look behind it at its storage."""

    kind: str  # "local" or "s3"
    server: LineageServer
    database_url: str
    blob_root: Path | None = None  # local
    bucket: str | None = None  # s3
    s3: Any = None  # ServerProcess

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.server.http_port}"

    def stub(self) -> Any:
        channel = grpc.insecure_channel(
            self.server.address,
            options=[("grpc.max_receive_message_length", 64 * MiB)],
        )
        return pb_grpc.LineageServiceStub(channel)

    # -- storage, seen directly ------------------------------------------------------
    def content_objects(self) -> list[str]:
        if self.kind == "local":
            assert self.blob_root is not None
            base = self.blob_root / "sha256"
            return sorted(p.name for p in base.rglob("*") if p.is_file()) if base.exists() else []
        client = minio_client(self.s3)
        objects = client.list_objects(self.bucket, prefix=f"{PREFIX}/sha256/", recursive=True)
        return sorted(o.object_name.rsplit("/", 1)[-1] for o in objects)

    def temporaries(self) -> list[str]:
        if self.kind == "local":
            assert self.blob_root is not None
            tmp = self.blob_root / "tmp"
            return [p.name for p in tmp.iterdir()] if tmp.exists() else []
        client = minio_client(self.s3)
        objects = client.list_objects(self.bucket, prefix=f"{PREFIX}/tmp/", recursive=True)
        names = [o.object_name for o in objects]
        uploads = client._list_multipart_uploads(self.bucket)  # incomplete multipart uploads
        return names + [u.object_name for u in uploads.uploads]

    def overwrite(self, sha: str, data: bytes) -> None:
        """Damage a stored object behind the server's back."""
        key = f"sha256/{sha[:2]}/{sha[2:4]}/{sha}"
        if self.kind == "local":
            assert self.blob_root is not None
            path = self.blob_root / key
            os.chmod(path, 0o644)
            path.write_bytes(data)
            return
        import io

        minio_client(self.s3).put_object(
            self.bucket, f"{PREFIX}/{key}", io.BytesIO(data), len(data)
        )

    def put_raw(self, key: str, data: bytes) -> str:
        """An object written by someone else (KFP) in the store's bucket or directory;
        returns its URI."""
        if self.kind == "local":
            assert self.blob_root is not None
            path = self.blob_root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return path.as_uri()
        import io

        minio_client(self.s3).put_object(self.bucket, key, io.BytesIO(data), len(data))
        return f"minio://{self.bucket}/{key}"

    def blob_rows(self) -> list[str]:
        store = Store.open(self.database_url)
        try:
            return store.read(lambda c: [r[0] for r in c.execute(select(blob_table.c.sha256))])
        finally:
            store.close()

    # -- metadata through MLMD's client ---------------------------------------------
    def artifact(self, uri: str = "", name: str | None = None) -> int:
        client = self.server.client()
        type_id = client.put_artifact_type(mlmd.ArtifactType(name="system.Model"))
        artifact = mlmd.Artifact(type_id=type_id, uri=uri)
        if name:
            artifact.name = name
        [artifact_id] = client.put_artifacts([artifact])
        return int(artifact_id)

    def custom_properties(self, artifact_id: int) -> dict[str, Any]:
        [artifact] = self.server.client().get_artifacts_by_id([artifact_id])
        props = artifact.custom_properties
        return {k: getattr(v, v.WhichOneof("value")) for k, v in props.items()}


def _start(tmp: Path, *args: str, env: dict[str, str] | None = None) -> tuple[LineageServer, str]:
    database_url = f"sqlite:///{tmp / 'metadata.sqlite'}"
    server = LineageServer(database_url, tmp, http=True, extra_args=args, env=env)
    return server.start(), database_url


@pytest.fixture(scope="module")
def local_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("blob-server-local")
    server, url = _start(tmp)
    yield Served("local", server, url, blob_root=tmp / "blobs")
    server.stop()


@pytest.fixture(scope="module")
def s3_served(tmp_path_factory: pytest.TempPathFactory, s3_server: Any) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("blob-server-s3")
    bucket = new_bucket(s3_server)
    server, url = _start(tmp, "--blob-store", f"s3://{bucket}/{PREFIX}", env=s3_env(s3_server))
    yield Served("s3", server, url, bucket=bucket, s3=s3_server)
    server.stop()


@pytest.fixture(params=["local", "s3"])
def served(request: pytest.FixtureRequest) -> Served:
    return request.getfixturevalue(f"{request.param}_served")  # type: ignore[no-any-return]


# -- gRPC helpers ------------------------------------------------------------------------


def upload_requests(
    chunks: Iterable[bytes], *, size: int = -1, sha256: str = "", artifact_id: int = 0
) -> Iterator[Any]:
    yield pb.UploadBlobRequest(
        header=pb.UploadHeader(size=size, expected_sha256=sha256, artifact_id=artifact_id)
    )
    for chunk in chunks:
        yield pb.UploadBlobRequest(chunk=chunk)


def upload(stub: Any, data: bytes, *, known: bool = True, artifact_id: int = 0) -> Any:
    chunks = [data[i : i + MiB] for i in range(0, len(data), MiB)]
    sha = hashlib.sha256(data).hexdigest() if known else ""
    size = len(data) if known else -1
    return stub.UploadBlob(
        upload_requests(chunks, size=size, sha256=sha, artifact_id=artifact_id), timeout=60
    )


def download(stub: Any, **request: Any) -> tuple[Any, bytes]:
    messages = list(stub.DownloadBlob(pb.DownloadBlobRequest(**request), timeout=60))
    assert messages and messages[0].HasField("blob") and not messages[0].chunk
    assert all(len(m.chunk) <= MiB for m in messages)
    return messages[0].blob, b"".join(m.chunk for m in messages[1:])


def rpc_error(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def wait_for(condition: Any, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


# -- gRPC --------------------------------------------------------------------------------


def test_grpc_round_trip_records_on_the_artifact(served: Served) -> None:
    stub = served.stub()
    data = os.urandom(3 * MiB + 123)
    sha = hashlib.sha256(data).hexdigest()
    artifact_id = served.artifact(uri=f"s3://kfp/{served.kind}/model.bin")
    response = upload(stub, data, artifact_id=artifact_id)
    assert response.blob.sha256 == sha and response.blob.size == len(data)
    assert response.created
    assert sha in response.blob.uri and response.blob.uri.startswith(
        "file://" if served.kind == "local" else "s3://"
    )
    props = served.custom_properties(artifact_id)
    assert props["lineage_sha256"] == sha and props["lineage_size"] == len(data)
    assert sha in served.blob_rows() and sha in served.content_objects()

    for request in ({"sha256": sha}, {"artifact_id": artifact_id}):
        ref, got = download(stub, **request)
        assert (ref.sha256, ref.size, ref.uri) == (sha, len(data), response.blob.uri)
        assert got == data
    ref, got = download(stub, sha256=sha, offset=MiB - 5, length=2 * MiB + 10)
    assert got == data[MiB - 5 : 3 * MiB + 5] and ref.size == len(data)
    _, got = download(stub, artifact_id=artifact_id, offset=len(data) - 7)
    assert got == data[-7:]
    _, got = download(stub, sha256=sha, offset=len(data))
    assert got == b""
    assert (
        rpc_error(lambda: download(stub, sha256=sha, offset=len(data) + 1)).code()
        == grpc.StatusCode.OUT_OF_RANGE
    )

    # Unknown size and checksum work too; the empty blob as well.
    other = os.urandom(1000)
    assert upload(stub, other, known=False).blob.sha256 == hashlib.sha256(other).hexdigest()
    empty = upload(stub, b"", artifact_id=served.artifact())
    assert empty.blob.size == 0
    assert download(stub, sha256=empty.blob.sha256)[1] == b""


def test_grpc_dedup(served: Served) -> None:
    stub = served.stub()
    data = os.urandom(2 * MiB)
    first = upload(stub, data, artifact_id=served.artifact())
    before = served.content_objects()
    second = upload(stub, data, artifact_id=served.artifact())
    third = upload(stub, data, known=False)
    assert first.created and not second.created and not third.created
    assert first.blob == second.blob == third.blob
    assert served.content_objects() == before
    assert before.count(first.blob.sha256) == 1

    # Identical new bytes from several clients at once: one object, and one of them
    # (whichever recorded it first) is told it created it.
    fresh = os.urandom(2 * MiB)
    start = threading.Barrier(4)
    answers: list[Any] = []

    def racer(known: bool) -> None:
        start.wait()
        answers.append(upload(served.stub(), fresh, known=known))

    racers = [threading.Thread(target=racer, args=(i % 2 == 0,)) for i in range(4)]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    assert len(answers) == 4 and len({a.blob.sha256 for a in answers}) == 1
    assert sum(a.created for a in answers) == 1, [a.created for a in answers]
    assert served.content_objects().count(answers[0].blob.sha256) == 1


def test_grpc_upload_refusals_store_nothing(served: Served) -> None:
    stub = served.stub()
    data = os.urandom(MiB + 17)
    sha = hashlib.sha256(data).hexdigest()
    artifact_id = served.artifact()
    chunks = [data[:MiB], data[MiB:]]

    def refused(requests: Iterable[Any]) -> grpc.RpcError:
        return rpc_error(lambda: stub.UploadBlob(iter(requests), timeout=30))

    wrong_sha = refused(upload_requests(chunks, sha256="0" * 64, artifact_id=artifact_id))
    assert wrong_sha.code() == grpc.StatusCode.DATA_LOSS
    assert "checksum mismatch" in wrong_sha.details() and "nothing stored" in wrong_sha.details()
    short = refused(upload_requests(chunks[:1], size=len(data), sha256=sha))
    assert short.code() == grpc.StatusCode.DATA_LOSS and "expected" in short.details()
    too_long = refused(upload_requests(chunks, size=MiB))
    assert too_long.code() == grpc.StatusCode.DATA_LOSS
    zero = refused(upload_requests(chunks, size=0))
    assert "set it to -1" in zero.details()
    missing = refused(upload_requests(chunks, artifact_id=10**9))
    assert missing.code() == grpc.StatusCode.NOT_FOUND and "10000000" in missing.details()
    no_header = refused([pb.UploadBlobRequest(chunk=b"x")])
    assert no_header.code() == grpc.StatusCode.INVALID_ARGUMENT and "header" in no_header.details()
    assert refused([]).code() == grpc.StatusCode.INVALID_ARGUMENT
    bad_sha = refused(upload_requests(chunks, sha256="xyz"))
    assert bad_sha.code() == grpc.StatusCode.INVALID_ARGUMENT
    two_headers = refused(
        [*upload_requests(chunks), pb.UploadBlobRequest(header=pb.UploadHeader())]
    )
    assert two_headers.code() == grpc.StatusCode.INVALID_ARGUMENT
    # a message that does not parse (not grpc's INTERNAL "Exception deserializing request!")
    raw_upload = grpc.insecure_channel(served.server.address).stream_unary(
        "/lineage.v1.LineageService/UploadBlob",
        request_serializer=lambda data: data,
        response_deserializer=pb.UploadBlobResponse.FromString,
    )
    header = pb.UploadBlobRequest(header=pb.UploadHeader(size=-1)).SerializeToString()
    garbled = rpc_error(lambda: raw_upload(iter([header, b"\xff\xff\xff"]), timeout=30))
    assert garbled.code() == grpc.StatusCode.INVALID_ARGUMENT, garbled.details()
    assert "not a valid message" in garbled.details()

    assert sha not in served.content_objects()
    assert sha not in served.blob_rows()
    assert "lineage_sha256" not in served.custom_properties(artifact_id)
    assert wait_for(lambda: not served.temporaries())

    for request in ({}, {"sha256": "nope"}, {"sha256": sha, "offset": -1}):
        error = rpc_error(lambda r=request: download(stub, **r))  # type: ignore[misc]
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    for request in ({"sha256": sha}, {"artifact_id": artifact_id}, {"artifact_id": 10**9}):
        error = rpc_error(lambda r=request: download(stub, **r))  # type: ignore[misc]
        assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()


@pytest.mark.parametrize("known", [True, False], ids=["sha-known", "sha-unknown"])
def test_grpc_interrupted_upload_leaves_nothing(served: Served, known: bool) -> None:
    stub = served.stub()
    block = os.urandom(MiB)
    size = 64 * MiB
    sha = hashlib.sha256(block * 64).hexdigest()
    half = threading.Event()
    artifact_id = served.artifact()

    def requests() -> Iterator[Any]:
        header = pb.UploadHeader(
            size=size if known else -1,
            expected_sha256=sha if known else "",
            artifact_id=artifact_id,
        )
        yield pb.UploadBlobRequest(header=header)
        for i in range(64):
            if i == 32:
                half.set()
                time.sleep(0.5)  # the server has taken half of it; then the client dies
            yield pb.UploadBlobRequest(chunk=block)

    future = stub.UploadBlob.future(requests(), timeout=60)
    assert half.wait(30)
    time.sleep(0.2)
    future.cancel()
    with pytest.raises(grpc.FutureCancelledError):
        future.result()
    assert wait_for(lambda: not served.temporaries()), served.temporaries()
    time.sleep(0.5)
    assert sha not in served.content_objects()
    assert sha not in served.blob_rows()
    assert "lineage_sha256" not in served.custom_properties(artifact_id)
    assert not served.temporaries()


def test_grpc_corruption_is_data_loss(served: Served) -> None:
    stub = served.stub()
    data = os.urandom(3 * MiB)
    ref = upload(stub, data, artifact_id=served.artifact()).blob
    # Same size, one byte changed (flipped: a random byte may already be zero).
    served.overwrite(ref.sha256, bytes([data[0] ^ 0xFF]) + data[1:])

    received = bytearray()

    def read_all() -> None:
        for message in stub.DownloadBlob(pb.DownloadBlobRequest(sha256=ref.sha256), timeout=60):
            received.extend(message.chunk)

    error = rpc_error(read_all)
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert "checksum mismatch" in error.details() and ref.sha256 in error.details()
    assert len(received) < len(data)  # the last chunk was kept back

    served.overwrite(ref.sha256, data[:-10])  # truncated: caught before any byte
    error = rpc_error(lambda: download(stub, sha256=ref.sha256))
    assert error.code() == grpc.StatusCode.DATA_LOSS and "damaged" in error.details()


def _set_recorded_blake3(served: Served, sha256: str, value: str | None) -> None:
    store = Store.open(served.database_url)
    try:
        store.write(
            lambda c: c.execute(
                update(blob_table).where(blob_table.c.sha256 == sha256).values(blake3=value)
            )
        )
    finally:
        store.close()


def _recorded_blake3(served: Served, sha256: str) -> str | None:
    store = Store.open(served.database_url)
    try:
        return store.read(  # type: ignore[no-any-return]
            lambda c: c.execute(
                select(blob_table.c.blake3).where(blob_table.c.sha256 == sha256)
            ).scalar()
        )
    finally:
        store.close()


def test_downloads_check_the_recorded_blake3(served: Served) -> None:
    """An upload records the BLAKE3 of its bytes; whole downloads (gRPC by sha256 and by
    artifact, HTTP) check that digest: a wrong recorded one fails on intact bytes. A row
    without one (recorded before revision 0003) is checked by sha256 and still catches
    damage; uploading the bytes again fills it in."""
    stub = served.stub()
    data = os.urandom(2 * MiB + 5)
    artifact_id = served.artifact()
    ref = upload(stub, data, known=False, artifact_id=artifact_id).blob
    assert _recorded_blake3(served, ref.sha256) == blake3(data).hexdigest()

    wrong = blake3(b"not these bytes").hexdigest()
    _set_recorded_blake3(served, ref.sha256, wrong)
    for request in ({"sha256": ref.sha256}, {"artifact_id": artifact_id}):
        error = rpc_error(lambda r=request: download(stub, **r))  # type: ignore[misc]
        assert error.code() == grpc.StatusCode.DATA_LOSS
        assert f"recorded {wrong}" in error.details()
    with pytest.raises(httpx.RemoteProtocolError):  # the body is cut off, never completed
        with httpx.stream("GET", f"{served.http}/artifacts/{artifact_id}/download") as r:
            assert r.status_code == 200
            for _ in r.iter_bytes():
                pass

    _set_recorded_blake3(served, ref.sha256, None)  # as recorded before 0003
    assert download(stub, sha256=ref.sha256)[1] == data
    served.overwrite(ref.sha256, bytes([data[0] ^ 0xFF]) + data[1:])
    error = rpc_error(lambda: download(stub, artifact_id=artifact_id))
    assert error.code() == grpc.StatusCode.DATA_LOSS and "hash to sha256" in error.details()

    served.overwrite(ref.sha256, data)
    upload(stub, data, known=True)  # the same bytes again: the row gains its BLAKE3
    _, body = download(stub, sha256=ref.sha256)
    assert body == data
    assert _recorded_blake3(served, ref.sha256) == blake3(data).hexdigest()


def test_grpc_large_object_streams(local_served: Served) -> None:
    """200 MiB up and down; neither side holds it (the test hashes as it goes)."""
    stub = local_served.stub()
    block = os.urandom(MiB)
    count = 200
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(block)
    sha = expected.hexdigest()
    response = stub.UploadBlob(
        upload_requests((block for _ in range(count)), size=count * MiB, sha256=sha), timeout=300
    )
    assert response.blob.size == count * MiB and response.blob.sha256 == sha
    got = hashlib.sha256()
    n = 0
    for message in stub.DownloadBlob(pb.DownloadBlobRequest(sha256=sha), timeout=300):
        got.update(message.chunk)
        n += len(message.chunk)
    assert n == count * MiB and got.hexdigest() == sha
    got = hashlib.sha256()
    with httpx.stream("GET", f"{local_served.http}/blobs/{sha}", timeout=300) as r:
        assert r.status_code == 200 and int(r.headers["content-length"]) == count * MiB
        for chunk in r.iter_bytes():
            got.update(chunk)
    assert got.hexdigest() == sha
    # A client that leaves early: the server stops reading the object.
    with httpx.stream("GET", f"{local_served.http}/blobs/{sha}", timeout=60) as r:
        next(r.iter_raw(MiB))
    assert wait_for(lambda: "the client left after" in local_served.server.log_text())


# -- HTTP --------------------------------------------------------------------------------


def test_http_download_headers_and_body(served: Served) -> None:
    stub = served.stub()
    data = b'{"weights": [1, 2, 3]}\n' * 1000
    sha = hashlib.sha256(data).hexdigest()
    artifact_id = served.artifact(uri=f"s3://elsewhere/{served.kind}/run-1/model.json")
    upload(stub, data, artifact_id=artifact_id)

    r = httpx.get(f"{served.http}/artifacts/{artifact_id}/download")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-length"] == str(len(data))
    assert r.headers["content-type"] == "application/json"
    assert r.headers["etag"] == f'"{sha}"'
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-disposition"].startswith('attachment; filename="model.json"')
    assert r.headers["repr-digest"].startswith("sha-256=:")

    r = httpx.get(f"{served.http}/blobs/{sha}", params={"inline": "1"})
    assert r.status_code == 200 and r.content == data
    assert r.headers["etag"] == f'"{sha}"' and "immutable" in r.headers["cache-control"]
    assert r.headers["content-disposition"].startswith(f'inline; filename="{sha}"')

    r = httpx.head(f"{served.http}/artifacts/{artifact_id}/download")
    assert r.status_code == 200 and r.headers["content-length"] == str(len(data))
    assert r.content == b""
    r = httpx.get(f"{served.http}/blobs/{sha}", headers={"If-None-Match": f'"{sha}"'})
    assert r.status_code == 304 and r.content == b""

    # A directory the SDK packed: a .tar download.
    tar_artifact = served.artifact(uri=f"s3://elsewhere/{served.kind}/dataset")
    upload(stub, b"tar bytes", artifact_id=tar_artifact)
    client = served.server.client()
    [a] = client.get_artifacts_by_id([tar_artifact])
    a.custom_properties["lineage_archive"].string_value = "tar"
    client.put_artifacts([a])
    r = httpx.get(f"{served.http}/artifacts/{tar_artifact}/download")
    assert r.headers["content-type"] == "application/x-tar"
    assert 'filename="dataset.tar"' in r.headers["content-disposition"]


def test_http_ranges(served: Served) -> None:
    data = os.urandom(100_000)
    sha = upload(served.stub(), data).blob.sha256
    url = f"{served.http}/blobs/{sha}"
    size = len(data)
    cases = {
        "bytes=10-19": (10, 19),
        "bytes=99990-": (99990, size - 1),
        "bytes=-5": (size - 5, size - 1),
        "bytes=0-999999": (0, size - 1),
        "bytes=-999999": (0, size - 1),
    }
    for header, (first, last) in cases.items():
        r = httpx.get(url, headers={"Range": header})
        assert r.status_code == 206, header
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert r.headers["content-length"] == str(last - first + 1)
        assert r.content == data[first : last + 1]
    for header in ("bytes=100000-", "bytes=5-2", "bytes=abc", "bytes=-0", "bytes=-"):
        r = httpx.get(url, headers={"Range": header})
        assert r.status_code == 416, header
        assert r.headers["content-range"] == f"bytes */{size}"
        assert r.json()["error"]["code"] == "OUT_OF_RANGE"
    # an open range past the end says so (not "last byte before first")
    r = httpx.get(url, headers={"Range": "bytes=100000-"})
    assert "starts past the end" in r.json()["error"]["message"], r.text
    # Several ranges or another unit: the whole body (allowed by RFC 9110).
    for header in ("bytes=0-1,5-6", "items=0-1"):
        r = httpx.get(url, headers={"Range": header})
        assert r.status_code == 200 and r.content == data
    # If-Range with another validator: the whole body.
    r = httpx.get(url, headers={"Range": "bytes=0-1", "If-Range": '"other"'})
    assert r.status_code == 200 and len(r.content) == size
    r = httpx.get(url, headers={"Range": "bytes=0-1", "If-Range": f'"{sha}"'})
    assert r.status_code == 206 and r.content == data[:2]


def test_http_errors_are_json(served: Served) -> None:
    no_bytes = served.artifact()
    cases = {
        "/artifacts/999999999/download": (404, "NOT_FOUND", "does not exist"),
        "/artifacts/abc/download": (400, "INVALID_ARGUMENT", "whole number"),
        # more than a 64-bit id: refused, not a database overflow (500)
        f"/artifacts/{2**63}/download": (400, "INVALID_ARGUMENT", "out of range"),
        f"/artifacts/{10**30}/download": (400, "INVALID_ARGUMENT", "out of range"),
        "/blobs/nothex": (400, "INVALID_ARGUMENT", "sha256"),
        f"/blobs/{'ab' * 32}": (404, "NOT_FOUND", "not in"),
        f"/artifacts/{no_bytes}/download": (404, "NOT_FOUND", "no bytes"),
        f"/blobs/{'ab' * 32}?redirect=maybe": (400, "INVALID_ARGUMENT", "redirect"),
    }
    for path, (status, code, words) in cases.items():
        r = httpx.get(served.http + path)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"] == "application/json"
        error = r.json()["error"]
        assert error["code"] == code and words in error["message"], (path, error)


def test_http_corruption_aborts_the_response(served: Served) -> None:
    data = os.urandom(3 * MiB)
    artifact_id = served.artifact()
    ref = upload(served.stub(), data, artifact_id=artifact_id).blob
    served.overwrite(ref.sha256, data[:-1] + bytes([data[-1] ^ 0xFF]))  # one byte changed
    url = f"{served.http}/artifacts/{artifact_id}/download"
    received = 0
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("GET", url, timeout=30) as r:
            assert r.status_code == 200
            for chunk in r.iter_bytes():
                received += len(chunk)
    assert received < len(data)
    served.overwrite(ref.sha256, data + b"more")  # wrong size: refused before the headers
    r = httpx.get(url)
    assert r.status_code == 502 and r.json()["error"]["code"] == "DATA_LOSS"
    # A range cannot be verified by checksum, but the size is checked first.
    r = httpx.get(url, headers={"Range": "bytes=0-9"})
    assert r.status_code == 502


def test_http_redirect_to_presigned_url(s3_served: Served, local_served: Served) -> None:
    data = os.urandom(5000)
    sha = upload(s3_served.stub(), data).blob.sha256
    url = f"{s3_served.http}/blobs/{sha}"
    # Default (auto): MinIO without a public endpoint is not known to be reachable: stream.
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == data
    r = httpx.get(url, params={"redirect": "1"})
    assert r.status_code == 307 and r.headers["etag"] == f'"{sha}"'
    location = r.headers["location"]
    assert location.startswith(s3_served.s3.endpoint) and "X-Amz-Signature" in location
    direct = httpx.get(location)
    assert direct.status_code == 200 and direct.content == data
    assert httpx.get(url, params={"redirect": "0"}).status_code == 200
    # An artifact's download keeps its name and type when redirected.
    artifact_id = s3_served.artifact(name="model.json")
    upload(s3_served.stub(), b'{"w": 1}', artifact_id=artifact_id)
    r = httpx.get(f"{s3_served.http}/artifacts/{artifact_id}/download", params={"redirect": "1"})
    assert r.status_code == 307
    direct = httpx.get(r.headers["location"])
    assert direct.status_code == 200 and direct.content == b'{"w": 1}'
    assert 'filename="model.json"' in direct.headers["content-disposition"], direct.headers
    assert direct.headers["content-type"].startswith("application/json"), direct.headers
    # Local disk has no presigned URLs: streamed whatever is asked.
    sha = upload(local_served.stub(), data).blob.sha256
    r = httpx.get(f"{local_served.http}/blobs/{sha}", params={"redirect": "1"})
    assert r.status_code == 200 and r.content == data


def test_redirect_setting(tmp_path: Path, s3_server: Any) -> None:
    bucket = new_bucket(s3_server)
    env = {**s3_env(s3_server), "LINEAGE_BLOB_REDIRECT": "always"}
    server, _ = _start(tmp_path, "--blob-store", f"s3://{bucket}", env=env)
    try:
        served = Served("s3", server, "", bucket=bucket, s3=s3_server)
        sha = upload(served.stub(), b"redirected").blob.sha256
        r = httpx.get(f"{served.http}/blobs/{sha}")
        assert r.status_code == 307
        assert httpx.get(f"{served.http}/blobs/{sha}?redirect=0").content == b"redirected"
    finally:
        server.stop()


def test_kfp_artifact_uris_resolve_to_the_store(served: Served) -> None:
    """Artifacts KFP recorded (no blob, a URI into the store's bucket or directory)."""
    stub = served.stub()
    data = os.urandom(2 * MiB + 3)
    uri = served.put_raw("v2/artifacts/pipeline/run-7/train/model", data)
    uris = [uri]
    if served.kind == "s3":
        uris.append(uri.replace("minio://", "s3://", 1))  # both schemes name the object
    for u in uris:
        artifact_id = served.artifact(uri=u)
        r = httpx.get(f"{served.http}/artifacts/{artifact_id}/download")
        assert r.status_code == 200 and r.content == data, r.text
        assert 'filename="model"' in r.headers["content-disposition"]
        assert r.headers["etag"].startswith('W/"')
        r = httpx.get(
            f"{served.http}/artifacts/{artifact_id}/download", headers={"Range": "bytes=5-9"}
        )
        assert r.status_code == 206 and r.content == data[5:10]
        ref, got = download(stub, artifact_id=artifact_id)
        assert got == data and ref.sha256 == "" and ref.size == len(data) and ref.uri == u
        _, got = download(stub, artifact_id=artifact_id, offset=10, length=5)
        assert got == data[10:15]
    # A URI that is the content address of a blob of the store: served, verified.
    ref = upload(stub, b"content addressed").blob
    artifact_id = served.artifact(uri=ref.uri)
    r = httpx.get(f"{served.http}/artifacts/{artifact_id}/download")
    assert r.content == b"content addressed" and r.headers["etag"] == f'"{ref.sha256}"'
    # Outside the store: refused, never read.
    outside = ["file:///etc/passwd", "s3://another-bucket/x", "gs://b/x", "minio://another/x"]
    for u in outside:
        artifact_id = served.artifact(uri=u)
        r = httpx.get(f"{served.http}/artifacts/{artifact_id}/download")
        assert r.status_code == 404 and "outside" in r.json()["error"]["message"], (u, r.text)
    missing = served.artifact(uri=uri + "-missing")
    r = httpx.get(f"{served.http}/artifacts/{missing}/download")
    assert r.status_code == 404 and "does not exist" in r.json()["error"]["message"]


# -- startup -----------------------------------------------------------------------------


def test_startup_refuses_a_missing_bucket(tmp_path: Path, s3_server: Any) -> None:
    server = LineageServer(
        f"sqlite:///{tmp_path / 'm.sqlite'}",
        tmp_path,
        extra_args=("--blob-store", "s3://no-such-bucket/p"),
        env=s3_env(s3_server),
    )
    with pytest.raises(RuntimeError) as info:
        server.start()
    assert server.process is not None and server.process.returncode == 2
    message = str(info.value)
    assert "cannot use the blob store s3://no-such-bucket/p" in message
    assert "'no-such-bucket' does not exist" in message and "LINEAGE_BLOB_CREATE_BUCKET" in message
    # With the setting, the bucket is made.
    env = {**s3_env(s3_server), "LINEAGE_BLOB_CREATE_BUCKET": "true"}
    bucket = f"made-{os.getpid()}-{time.monotonic_ns()}"
    made, _ = _start(tmp_path / "made", "--blob-store", f"s3://{bucket}", env=env)
    try:
        assert minio_client(s3_server).bucket_exists(bucket)
    finally:
        made.stop()


def test_startup_refuses_an_unreachable_endpoint(tmp_path: Path) -> None:
    endpoint = unused_endpoint()
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "LINEAGE_S3_RETRIES": "0",
    }
    server = LineageServer(
        f"sqlite:///{tmp_path / 'm.sqlite'}",
        tmp_path,
        extra_args=("--blob-store", "s3://bucket/p"),
        env=env,
    )
    started = time.monotonic()
    with pytest.raises(RuntimeError) as info:
        server.start()
    assert time.monotonic() - started < 30
    assert server.process is not None and server.process.returncode == 2
    assert "unreachable" in str(info.value) and endpoint.removeprefix("http://") in str(info.value)


def test_readme_grpc_example(local_served: Served, tmp_path: Path, monkeypatch: Any) -> None:
    """The ```python block of the README's blob section runs as written (address and
    artifact id replaced)."""
    import re

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("<!-- BLOBS -->") : text.index("<!-- /BLOBS -->")]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    artifact_id = local_served.artifact()
    code = code.replace("127.0.0.1:8080", local_served.server.address)
    code = code.replace('"model.bin", 12', f'"model.bin", {artifact_id}')
    data = os.urandom(3 * MiB + 5)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.bin").write_bytes(data)
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["blob"].sha256 == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "copy.bin").read_bytes() == data
    assert local_served.custom_properties(artifact_id)["lineage_size"] == len(data)
