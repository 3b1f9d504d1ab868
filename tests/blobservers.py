"""Object-storage test servers as real processes on 127.0.0.1.

``moto_server`` speaks the S3 protocol (the ``minio`` client works against it; it does not
check credentials), ``gcp-storage-emulator`` speaks GCS's JSON API. Each is started once per
session on a free port, waited for, and terminated (then killed) at the end.

Use the fixtures from a test module with ``pytest_plugins = ["blobservers"]`` or import them
in ``tests/conftest.py``: ``from blobservers import s3_server, gcs_server  # noqa: F401``.
The helpers (``start_moto_server``, ...) are plain functions for benchmarks too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HOST = "127.0.0.1"
ACCESS_KEY = "lineage-test"
SECRET_KEY = "lineage-test-secret"
GCS_DEFAULT_BUCKET = "lineage-test"


@dataclass
class ServerProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the process (and its process group, which it leads), then kill."""
        proc = self.process
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        with contextlib.suppress(OSError):
            self.log_path.unlink()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def unused_endpoint() -> str:
    """An http endpoint on 127.0.0.1 where nothing listens (connections are refused)."""
    return f"http://{HOST}:{free_port()}"


def _executable(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def _wait_http(server: ServerProcess, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = server.endpoint + path
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{server.log()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - 127.0.0.1 only
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not become ready within {timeout}s:\n{server.log()}")


def _start(name: str, argv: list[str], ready_path: str, port: int, timeout: float) -> ServerProcess:
    fd, log_name = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    with os.fdopen(fd, "wb") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # own process group: stop() ends it and its children
        )
    server = ServerProcess(name, port, proc, Path(log_name))
    try:
        _wait_http(server, ready_path, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_moto_server(timeout: float = 60.0) -> ServerProcess:
    """``moto_server`` (S3 protocol) on a free port of 127.0.0.1."""
    for attempt in range(3):
        port = free_port()
        try:
            return _start(
                "moto_server",
                [_executable("moto_server"), "-H", HOST, "-p", str(port)],
                "/",
                port,
                timeout,
            )
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def start_gcs_emulator(timeout: float = 60.0) -> ServerProcess:
    """``gcp-storage-emulator`` (GCS JSON API, in memory) on a free port of 127.0.0.1."""
    for attempt in range(3):
        port = free_port()
        try:
            server = _start(
                "gcp-storage-emulator",
                [
                    _executable("gcp-storage-emulator"),
                    "start",
                    "-H",
                    HOST,
                    "--port",
                    str(port),
                    "--in-memory",
                    "--default-bucket",
                    GCS_DEFAULT_BUCKET,
                ],
                "/storage/v1/b",
                port,
                timeout,
            )
            server.extra["bucket"] = GCS_DEFAULT_BUCKET
            return server
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def s3_env(server: ServerProcess) -> dict[str, str]:
    """Environment for ``open_blob_store`` to reach the moto server."""
    return {
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": "us-east-1",
    }


def gcs_env(server: ServerProcess) -> dict[str, str]:
    return {"STORAGE_EMULATOR_HOST": server.endpoint}


def minio_client(server: ServerProcess):  # type: ignore[no-untyped-def]
    from minio import Minio

    return Minio(
        f"{HOST}:{server.port}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        secure=False,
        region="us-east-1",
    )


def new_bucket(server: ServerProcess) -> str:
    """A fresh bucket on the moto server."""
    name = f"t-{uuid.uuid4().hex[:16]}"
    minio_client(server).make_bucket(name)
    return name


def new_gcs_bucket(server: ServerProcess) -> str:
    """A fresh bucket on the GCS emulator (JSON API insert)."""
    import json

    name = f"t-{uuid.uuid4().hex[:16]}"
    req = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        f"{server.endpoint}/storage/v1/b?project=test",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
        resp.read()
    return name


class RssSampler:
    """Peak resident memory of a process (default: this one) while a block runs.

    A thread samples RSS every ``interval`` seconds::

        with RssSampler() as rss:
            work()
        print(rss.growth)  # peak minus the RSS at entry, in bytes

    Pass ``pid`` to watch another process (a server under test).
    """

    def __init__(self, pid: int | None = None, interval: float = 0.01) -> None:
        import psutil

        self._proc = psutil.Process(pid)
        self._interval = interval
        self.baseline = 0
        self.peak = 0
        self._stop = False
        self._thread: object = None

    def _sample(self) -> int:
        return int(self._proc.memory_info().rss)

    def _run(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, self._sample())
            time.sleep(self._interval)

    def __enter__(self) -> RssSampler:
        import gc
        import threading

        gc.collect()
        self.baseline = self.peak = self._sample()
        self._stop = False
        thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread = thread
        thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import threading

        self._stop = True
        if isinstance(self._thread, threading.Thread):
            self._thread.join()
        self.peak = max(self.peak, self._sample())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


@pytest.fixture(scope="session")
def s3_server() -> Iterator[ServerProcess]:
    server = start_moto_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[ServerProcess]:
    server = start_gcs_emulator()
    try:
        yield server
    finally:
        server.stop()
