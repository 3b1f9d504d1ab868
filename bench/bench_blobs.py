"""Blob streaming benchmark: our BlobStore path against the raw ``minio`` client.

Both talk to the same S3-protocol server (a ``moto_server`` process started here on
127.0.0.1, or ``--endpoint``) with the same bytes; each round uploads once and downloads
``--downloads`` times per path, alternating which path goes first; medians are printed as
MB/s with the ratios ours / raw (target >= 0.8). Paths: the raw client; the raw client
hashing the bytes (what sha256 verification alone costs); ours with the checksum unknown
(``spool`` and/or ``stream`` upload mode) and known up front (straight to the content
address). Our downloads verify the BLAKE3 the upload recorded (what the server does for
every blob it recorded); the ``sha256-checked`` path downloads the same way but checks
the sha256, as for a blob recorded before there was a BLAKE3. Then the peak RSS growth of
this process during a streamed put + verified get of ``--rss-size`` bytes (default 2 GiB),
which must stay under 100 MiB.

    python bench/bench_blobs.py                      # 256 MiB, 3 rounds
    python bench/bench_blobs.py --size 1GiB --rounds 1 --mode stream
    python bench/bench_blobs.py --rss-size 0         # skip the memory measurement

Reusable pieces (for the through-the-server measurement): ``PatternStream`` (a file-like
source of N pseudo-random bytes that costs no memory), ``peak_rss_growth(work, pid=...)``
(peak RSS growth of any process while ``work()`` runs), ``time_put_get(store, size)``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from blobservers import (  # noqa: E402
    RssSampler,
    minio_client,
    s3_env,
    start_moto_server,
)

from lineage.blobs import BlobStore, open_blob_store  # noqa: E402

MiB = 1024 * 1024
BLOCK = 8 * MiB


def parse_size(text: str) -> int:
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    units = {"k": 1024, "m": MiB, "g": 1024 * MiB}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


class PatternStream:
    """``size`` bytes from a repeated random 8 MiB block (fresh per instance, so two
    streams never dedup against each other); ``read(n)`` like a file, O(1) memory."""

    def __init__(self, size: int, block: bytes | None = None) -> None:
        self.size = size
        self.pos = 0
        self.block = block if block is not None else os.urandom(BLOCK)
        self._view = memoryview(self.block + self.block)

    def read(self, n: int = -1, /) -> bytes:
        left = self.size - self.pos
        n = left if n is None or n < 0 else min(n, left)
        if n <= 0:
            return b""
        if n <= len(self.block):
            off = self.pos % len(self.block)
            out = bytes(self._view[off : off + n])
        else:
            parts = []
            need = n
            while need:
                off = (self.pos + n - need) % len(self.block)
                take = min(need, len(self.block))
                parts.append(self._view[off : off + take])
                need -= take
            out = b"".join(parts)
        self.pos += n
        return out

    def readable(self) -> bool:
        return True


class _Hashing:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hash = hashlib.sha256()

    def read(self, n: int = -1, /) -> bytes:
        data: bytes = self.inner.read(n)
        self.hash.update(data)
        return data


def peak_rss_growth(work: Callable[[], Any], *, pid: int | None = None) -> int:
    """Peak RSS growth in bytes of process ``pid`` (default: this one) while ``work()`` runs."""
    with RssSampler(pid) as rss:
        work()
    return rss.growth


def drain(reader: Any) -> int:
    n = 0
    for chunk in reader:
        n += len(chunk)
    return n


def pattern_sha256(size: int, block: bytes) -> str:
    h = hashlib.sha256()
    src = PatternStream(size, block)
    while chunk := src.read(BLOCK):
        h.update(chunk)
    return h.hexdigest()


def time_put_get(
    store: BlobStore,
    size: int,
    *,
    checksum_known: bool = False,
    downloads: int = 1,
    check_sha256: bool = False,
) -> tuple[float, float]:
    """(upload seconds, median download seconds) of ``size`` fresh bytes through
    ``store``, downloaded ``downloads`` times (each verified: by the BLAKE3 the upload
    returned, or with ``check_sha256`` by the sha256); ``checksum_known``: the uploader
    declares the sha256 up front (computed untimed)."""
    block = os.urandom(BLOCK)
    expected = pattern_sha256(size, block) if checksum_known else None
    src = PatternStream(size, block)
    t0 = time.perf_counter()
    ref = store.put(src, expected_size=size, expected_sha256=expected)
    upload = time.perf_counter() - t0
    times = []
    for _ in range(downloads):
        t1 = time.perf_counter()
        with store.open(ref.sha256 if check_sha256 else ref, size=size) as reader:
            got = drain(reader)
        times.append(time.perf_counter() - t1)
        assert got == size
    store.delete(ref)
    return upload, statistics.median(times)


def time_raw(
    client: Any,
    bucket: str,
    size: int,
    part_size: int,
    parallel: int,
    *,
    sha256: bool = False,
    downloads: int = 1,
) -> tuple[float, float]:
    """The same with the bare minio client: known-length multipart upload, streamed get
    (with ``sha256``: hashing the bytes on both ways, what verification costs by itself)."""
    key = f"raw/{uuid.uuid4().hex}"
    src: Any = PatternStream(size)
    if sha256:
        src = _Hashing(src)
    t0 = time.perf_counter()
    client.put_object(
        bucket, key, src, length=size, part_size=part_size, num_parallel_uploads=parallel
    )
    upload = time.perf_counter() - t0
    times = []
    for _ in range(downloads):
        t1 = time.perf_counter()
        resp = client.get_object(bucket, key)
        try:
            h = hashlib.sha256() if sha256 else None
            got = 0
            for chunk in resp.stream(BLOCK):
                if h is not None:
                    h.update(chunk)
                got += len(chunk)
            if h is not None:
                h.hexdigest()
        finally:
            resp.close()
            resp.release_conn()
        times.append(time.perf_counter() - t1)
        assert got == size
    client.remove_object(bucket, key)
    return upload, statistics.median(times)


def print_table(
    title: str,
    pick: Callable[[list[float]], float],
    results: dict[str, list[tuple[float, float]]],
    labels: dict[str, str],
    size: int,
) -> None:
    """MB/s of each path (the ``pick`` of its rounds: median or best) and ratios."""

    def rates(name: str) -> tuple[float, float, float]:
        runs = results[name]
        return (
            size / pick([u for u, _ in runs]) / 1e6,
            size / pick([d for _, d in runs]) / 1e6,
            2 * size / pick([u + d for u, d in runs]) / 1e6,
        )

    raw = rates("raw")
    hashed = rates("raw+sha256")
    print(f"-- {title} of {len(results['raw'])} rounds")
    print(f"{'path':<24}{'upload MB/s':>12}{'download MB/s':>15}{'up+down MB/s':>14}")
    for name, label in labels.items():
        up, down, total = rates(name)
        print(f"{label:<24}{up:>12.1f}{down:>15.1f}{total:>14.1f}")
        if name == "raw+sha256":
            print(
                f"    raw+sha256 / raw: upload {up / raw[0]:.2f}, download {down / raw[1]:.2f}"
                " (what sha256 alone costs here)"
            )
        elif name != "raw":
            print(
                f"    lineage / raw: upload {up / raw[0]:.2f}, download {down / raw[1]:.2f}, "
                f"up+down {total / raw[2]:.2f} (target >= 0.8);  lineage / raw+sha256: "
                f"upload {up / hashed[0]:.2f}, download {down / hashed[1]:.2f}"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", default="256MiB", help="bytes per transfer (default 256MiB)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--downloads", type=int, default=3, help="downloads per upload (median)")
    ap.add_argument("--mode", choices=["spool", "stream", "both"], default="spool")
    ap.add_argument("--part-size", default="8MiB")
    ap.add_argument("--parallel", type=int, default=3)
    ap.add_argument("--rss-size", default="2GiB", help="bytes for the memory check; 0 skips it")
    ap.add_argument("--endpoint", help="use this S3 server instead of starting moto_server")
    args = ap.parse_args(argv)

    size = parse_size(args.size)
    part_size = parse_size(args.part_size)
    rss_size = parse_size(args.rss_size)
    server = None
    if args.endpoint:
        env = {
            "AWS_ENDPOINT_URL": args.endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "bench"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "bench-secret"),
        }
        from minio import Minio

        from lineage.blobs.s3 import parse_endpoint

        host, secure = parse_endpoint(args.endpoint)
        client = Minio(
            host,
            env["AWS_ACCESS_KEY_ID"],
            env["AWS_SECRET_ACCESS_KEY"],
            secure=secure,
            region="us-east-1",
        )
    else:
        server = start_moto_server()
        env = s3_env(server)
        client = minio_client(server)
    try:
        bucket = f"bench-{uuid.uuid4().hex[:12]}"
        client.make_bucket(bucket)
        modes = ["spool", "stream"] if args.mode == "both" else [args.mode]
        stores = {
            mode: open_blob_store(
                f"s3://{bucket}/ours-{mode}",
                LINEAGE_S3_UPLOAD_MODE=mode,
                LINEAGE_S3_PART_SIZE=str(part_size),
                LINEAGE_S3_PARALLEL_UPLOADS=str(args.parallel),
                **env,
            )
            for mode in modes
        }
        print(f"load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
        where = args.endpoint or f"moto_server {server.endpoint if server else ''}"
        print(
            f"S3-protocol server: {where}; {size / MiB:.0f} MiB per transfer, {args.rounds} rounds, "
            f"part size {part_size // MiB} MiB x {args.parallel} parallel"
        )
        names = ["raw", "raw+sha256", *modes, "known", "sha256-checked"]
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        # Warm up, untimed, one transfer of the full size per path: connections, the
        # server, and the memory each path touches (a spool file's pages, moto's buffers),
        # as in a server that has been running; a first touch of fresh pages on this VM
        # costs 0.4 GB/s against 4.8 GB/s for pages touched before.
        time_raw(client, bucket, size, part_size, args.parallel)
        for mode in modes:
            time_put_get(stores[mode], size)
        for r in range(args.rounds):
            for name in names if r % 2 == 0 else reversed(names):
                if name.startswith("raw"):
                    results[name].append(
                        time_raw(
                            client,
                            bucket,
                            size,
                            part_size,
                            args.parallel,
                            sha256=name != "raw",
                            downloads=args.downloads,
                        )
                    )
                elif name == "known":
                    results[name].append(time_put_get(stores[modes[0]], size, checksum_known=True))
                elif name == "sha256-checked":
                    results[name].append(
                        time_put_get(
                            stores[modes[0]], size, downloads=args.downloads, check_sha256=True
                        )
                    )
                else:
                    results[name].append(time_put_get(stores[name], size, downloads=args.downloads))

        labels = {
            "raw": "raw minio client",
            "raw+sha256": "raw minio + sha256",
            **{m: f"lineage ({m})" for m in modes},
            "known": "lineage (sha256 known)",
            "sha256-checked": "lineage (sha256-checked)",
        }
        for title, pick in (("median", statistics.median), ("best", min)):
            print_table(title, pick, results, labels, size)
        print(f"load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")

        if rss_size:
            store = stores[modes[0]]

            def work() -> None:
                time_put_get(store, rss_size)

            growth = peak_rss_growth(work)
            verdict = "OK" if growth < 100 * MiB else "TOO HIGH"
            print(
                f"peak RSS growth, streamed put + verified get of {rss_size / MiB:.0f} MiB "
                f"({modes[0]}): {growth / MiB:.1f} MiB (limit 100 MiB: {verdict})"
            )
        for store in stores.values():
            store.close()
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
