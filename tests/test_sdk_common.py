"""Shared fixtures of the SDK tests (imported by the other test_sdk_*/test_kfp_* modules),
and the tests of the SDK's configuration.

``sdk_env``      isolated spool and download cache; no default client or implicit run
``server``       a ``lineage serve`` (SQLite) per module, with ``.url`` = grpc://...
``store_of``     read the server's database directly (a ``lineage.store.Store``)
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from lineage_server import LineageServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def reset_sdk() -> None:
    """Forget the process's default client and implicit run."""
    import lineage.client.client as client_module
    import lineage.client.runs as runs_module

    client_module._default = None
    runs_module._implicit_run = None


@pytest.fixture
def sdk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in (
        "LINEAGE_URL",
        "LINEAGE_DATA_DIR",
        "LINEAGE_CACHE",
        "LINEAGE_KFP",
        "LINEAGE_PIPELINE",
        "LINEAGE_RUN",
        "LINEAGE_BLOB_STORE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINEAGE_REPORT_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("LINEAGE_CACHE_DIR", str(tmp_path / "downloads"))
    monkeypatch.setenv("LINEAGE_TIMEOUT", "10")
    reset_sdk()
    yield tmp_path
    reset_sdk()


class Server:
    """A running ``lineage serve`` and how to reach it."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir = data_dir
        self.database_url = f"sqlite:///{data_dir / 'metadata.sqlite'}"
        extra = ("--port", str(port)) if port else ()
        self.process = LineageServer(self.database_url, data_dir, extra_args=extra)

    def start(self) -> Server:
        self.process.start()
        return self

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.process.port}"

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        self.process.kill()

    def store(self) -> Any:
        from lineage.store.store import Store

        return Store.open(self.database_url)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "server").start()
    yield running
    running.stop()


def blobs_served(url: str) -> bool:
    """Does the server take blobs (UploadBlob implemented)?"""
    from lineage.client.config import parse_target
    from lineage.client.grpc_transport import GrpcTransport

    transport = GrpcTransport(parse_target(url))
    try:
        import hashlib
        import tempfile

        with tempfile.NamedTemporaryFile() as handle:
            handle.write(b"probe")
            handle.flush()
            sha = hashlib.sha256(b"probe").hexdigest()
            return transport.upload(Path(handle.name), sha, 5) is not None
    finally:
        transport.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def executions(store: Any) -> list[Any]:
    return sorted(store.list_all("execution"), key=lambda e: e.id)


def props(node: Any) -> dict[str, Any]:
    return {k: v.python() for k, v in node.custom_properties.items()}


# --------------------------------------------------------------------------- tests


def test_target_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lineage.client.config import parse_target
    from lineage.errors import InvalidArgument

    monkeypatch.delenv("LINEAGE_URL", raising=False)
    monkeypatch.delenv("LINEAGE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    default = parse_target()
    assert default.kind == "embedded"
    assert default.database_url == f"sqlite:///{tmp_path / 'lineage-data' / 'metadata.sqlite'}"
    assert default.blob_store == (tmp_path / "lineage-data" / "blobs").as_uri()

    grpc = parse_target("grpc://127.0.0.1:8080")
    assert (grpc.kind, grpc.address) == ("grpc", "127.0.0.1:8080")
    monkeypatch.setenv("LINEAGE_URL", "grpc://example:9")
    assert parse_target().address == "example:9"

    as_file = parse_target((tmp_path / "d").as_uri())
    assert as_file.url == (tmp_path / "d").as_uri()
    db = parse_target("sqlite:////x/y.sqlite")
    assert db.database_url == "sqlite:////x/y.sqlite"
    for bad in ("grpc://nohost", "http://x:1"):
        with pytest.raises(InvalidArgument):
            parse_target(bad)


def test_embedded_default_matches_serve_defaults(tmp_path: Path) -> None:
    """`lineage demo` (embedded, ./lineage-data) and `lineage serve` (data dir
    ./lineage-data) must use the same database file and blob directory."""
    from lineage.client.config import parse_target
    from lineage.server.config import load_config

    os.chdir(tmp_path)
    try:
        config = load_config({}, env={})
        target = parse_target(str(tmp_path / "lineage-data"))
        assert target.database_url == config.resolved_database_url()
        assert target.blob_store == config.resolved_blob_store()
    finally:
        os.chdir(ROOT)
