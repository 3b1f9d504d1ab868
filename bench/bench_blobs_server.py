"""Artifact bytes through ``lineage serve``: throughput against the raw ``minio`` client,
and the server's memory while a multi-GiB blob goes up and down.

Starts a ``moto_server`` (S3 protocol) on 127.0.0.1 and a ``lineage serve`` whose blob store
is a bucket on it (``--blob-store s3://<bucket>/bench``), then per round, alternating the
order: the raw minio client (known-length multipart upload, part size and parallelism as
the server's, streamed get) and the same bytes through the server: gRPC ``UploadBlob``
(1 MiB messages, size and sha256 declared, as the SDK does), gRPC ``DownloadBlob`` and HTTP
``GET /blobs/{sha256}``, each verified by the server. Prints MB/s (medians) and the ratios
server / raw, and server / raw hashing the bytes with sha256 as it goes (what verification
alone costs, since the server always verifies). Then the peak RSS growth of the server process (sampled every 10 ms) during
an upload, a gRPC download and an HTTP download of ``--rss-size`` bytes (default 2 GiB),
which must stay under 100 MiB.

    python bench/bench_blobs_server.py                     # 256 MiB x 3 rounds, then 2 GiB
    python bench/bench_blobs_server.py --size 1GiB --rounds 1 --rss-size 0
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import grpc  # noqa: E402
import httpx  # noqa: E402
from bench_blobs import (  # noqa: E402
    BLOCK,
    MiB,
    PatternStream,
    parse_size,
    pattern_sha256,
    peak_rss_growth,
    time_raw,
)
from blobservers import minio_client, s3_env, start_moto_server  # noqa: E402
from lineage_server import LineageServer  # noqa: E402

from lineage._proto.lineage.v1 import lineage_pb2 as pb  # noqa: E402
from lineage._proto.lineage.v1 import lineage_pb2_grpc as pb_grpc  # noqa: E402

MESSAGE = 1 * MiB  # what the SDK sends per UploadBlob message


def upload_requests(size: int, block: bytes, sha256: str) -> Iterator[Any]:
    yield pb.UploadBlobRequest(header=pb.UploadHeader(size=size, expected_sha256=sha256))
    src = PatternStream(size, block)
    while chunk := src.read(MESSAGE):
        yield pb.UploadBlobRequest(chunk=chunk)


class Through:
    """Uploads and downloads through the server."""

    def __init__(self, server: LineageServer) -> None:
        channel = grpc.insecure_channel(
            server.address, options=[("grpc.max_receive_message_length", 64 * MiB)]
        )
        self.stub = pb_grpc.LineageServiceStub(channel)
        self.http = f"http://127.0.0.1:{server.http_port}"

    def upload(self, size: int, *, block: bytes | None = None) -> tuple[str, float]:
        block = block if block is not None else os.urandom(BLOCK)
        sha = pattern_sha256(size, block)  # the SDK hashes before it uploads; untimed
        t0 = time.perf_counter()
        response = self.stub.UploadBlob(upload_requests(size, block, sha), timeout=3600)
        elapsed = time.perf_counter() - t0
        assert response.blob.sha256 == sha and response.blob.size == size
        return sha, elapsed

    def download_grpc(self, sha: str, size: int) -> float:
        t0 = time.perf_counter()
        got = 0
        for message in self.stub.DownloadBlob(pb.DownloadBlobRequest(sha256=sha), timeout=3600):
            got += len(message.chunk)
        elapsed = time.perf_counter() - t0
        assert got == size
        return elapsed

    def download_http(self, sha: str, size: int) -> float:
        t0 = time.perf_counter()
        got = 0
        with httpx.stream("GET", f"{self.http}/blobs/{sha}", timeout=3600) as response:
            response.raise_for_status()
            for chunk in response.iter_raw(BLOCK):
                got += len(chunk)
        elapsed = time.perf_counter() - t0
        assert got == size
        return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", default="256MiB", help="bytes per transfer (default 256MiB)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rss-size", default="2GiB", help="bytes for the memory check; 0 skips it")
    args = ap.parse_args(argv)
    size = parse_size(args.size)
    rss_size = parse_size(args.rss_size)

    moto = start_moto_server()
    tmp = Path(tempfile.mkdtemp(prefix="bench-blobs-server-"))
    server = None
    try:
        client = minio_client(moto)
        bucket = f"bench-{uuid.uuid4().hex[:12]}"
        client.make_bucket(bucket)
        server = LineageServer(
            f"sqlite:///{tmp / 'metadata.sqlite'}",
            tmp,
            http=True,
            extra_args=("--blob-store", f"s3://{bucket}/bench"),
            env=s3_env(moto),
        ).start()
        assert server.process is not None
        through = Through(server)
        print(f"load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
        print(
            f"moto_server {moto.endpoint}; lineage serve (pid {server.process.pid}) with "
            f"--blob-store s3://{bucket}/bench; {size / MiB:.0f} MiB per transfer, "
            f"{args.rounds} rounds"
        )
        # Warm up.
        time_raw(client, bucket, 8 * MiB, 8 * MiB, 3)
        sha, _ = through.upload(8 * MiB)
        through.download_grpc(sha, 8 * MiB)
        through.download_http(sha, 8 * MiB)

        raw_up: list[float] = []
        raw_down: list[float] = []
        hashed_up: list[float] = []
        hashed_down: list[float] = []
        up: list[float] = []
        down_grpc: list[float] = []
        down_http: list[float] = []
        for r in range(args.rounds):
            order = ["raw", "raw+sha256", "server"]
            for name in order if r % 2 == 0 else reversed(order):
                if name == "raw":
                    u, d = time_raw(client, bucket, size, 8 * MiB, 3)
                    raw_up.append(u)
                    raw_down.append(d)
                elif name == "raw+sha256":
                    u, d = time_raw(client, bucket, size, 8 * MiB, 3, sha256=True)
                    hashed_up.append(u)
                    hashed_down.append(d)
                else:
                    sha, u = through.upload(size)
                    up.append(u)
                    down_grpc.append(through.download_grpc(sha, size))
                    down_http.append(through.download_http(sha, size))

        def rate(times: list[float]) -> float:
            return size / statistics.median(times) / 1e6

        print(f"{'path (median of rounds)':<36}{'MB/s':>8}{'vs raw':>9}{'vs raw+sha256':>15}")
        rows = [
            ("raw minio client, upload", raw_up, raw_up, hashed_up),
            ("raw minio client + sha256, upload", hashed_up, raw_up, hashed_up),
            ("server gRPC UploadBlob", up, raw_up, hashed_up),
            ("raw minio client, download", raw_down, raw_down, hashed_down),
            ("raw minio client + sha256, download", hashed_down, raw_down, hashed_down),
            ("server gRPC DownloadBlob", down_grpc, raw_down, hashed_down),
            ("server HTTP GET /blobs/{sha256}", down_http, raw_down, hashed_down),
        ]
        for label, times, raw, hashed in rows:
            value = rate(times)
            print(
                f"{label:<36}{value:>8.1f}{value / rate(raw):>8.2f}x{value / rate(hashed):>14.2f}x"
            )
        print(f"load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")

        if rss_size:
            pid = server.process.pid
            state: dict[str, Any] = {}

            def up_work() -> None:
                state["sha"], state["up"] = through.upload(rss_size)

            def down_work() -> None:
                state["grpc"] = through.download_grpc(state["sha"], rss_size)

            def http_work() -> None:
                state["http"] = through.download_http(state["sha"], rss_size)

            # One baseline before the upload; the peak over all three transfers.
            growth = peak_rss_growth(lambda: (up_work(), down_work(), http_work()), pid=pid)
            verdict = "OK" if growth < 100 * MiB else "TOO HIGH"
            print(
                f"server peak RSS growth, {rss_size / MiB:.0f} MiB uploaded, then downloaded "
                f"over gRPC and over HTTP: {growth / MiB:.1f} MiB (limit 100 MiB: {verdict})"
            )
            print(
                f"  ({rss_size / MiB:.0f} MiB: upload {rss_size / state['up'] / 1e6:.1f} MB/s, "
                f"gRPC download {rss_size / state['grpc'] / 1e6:.1f} MB/s, "
                f"HTTP download {rss_size / state['http'] / 1e6:.1f} MB/s)"
            )
    finally:
        if server is not None:
            server.stop()
        moto.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
