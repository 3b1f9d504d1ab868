"""Artifact bytes over the native gRPC API: outputs uploaded (``UploadBlob``), inputs
downloaded (``DownloadBlob``) and checked, across runs, through the spool.

The server here is an in-process ``lineage.v1`` server (the real service assembly,
``add_native_services``, blob service included) over a local blob store.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from test_sdk_common import free_port, props, reset_sdk, sdk_env  # noqa: F401

import lineage
import lineage.client  # noqa: F401 - installs lineage.connect & co.
from lineage import Dataset, Input, Model, Output
from lineage.blobs import open_blob_store
from lineage.client import MissingInputError, SpoolWarning
from lineage.store.store import Store


class InProcessServer:
    """The native service (and nothing else) on a port, over a store and a blob store."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = root
        self.port = port or free_port()
        self.store = Store.open(f"sqlite:///{root / 'metadata.sqlite'}")
        self.blobs = open_blob_store((root / "blobs").as_uri())
        self.server: grpc.Server | None = None

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    def start(self) -> InProcessServer:
        from lineage.server.native import service

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        service.add_native_services(self.server, self.store, blob_store=self.blobs)
        self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(0).wait()
            self.server = None

    def close(self) -> None:
        self.stop()
        self.store.close()


@pytest.fixture
def blob_server(tmp_path: Path) -> Iterator[InProcessServer]:
    server = InProcessServer(tmp_path / "blob-server").start()
    yield server
    server.close()


@lineage.step
def write_tree(model: Output[Model], size: int = 3) -> None:
    root = Path(model.path)
    (root / "sub").mkdir(parents=True)
    (root / "weights.bin").write_bytes(bytes(range(size)) * 1000)
    (root / "sub" / "config.json").write_text(f'{{"size": {size}}}')


@lineage.step
def read_tree(model: Input[Model], summary: Output[Dataset]) -> int:
    root = Path(model.path)
    data = (root / "weights.bin").read_bytes()
    Path(summary.path).write_text((root / "sub" / "config.json").read_text())
    return len(data)


def test_outputs_uploaded_inputs_downloaded_across_runs(
    sdk_env: Path,  # noqa: F811
    blob_server: InProcessServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lineage.connect(blob_server.url)
    with lineage.start_run(pipeline="blobs", name="blobs-1"):
        first = write_tree(size=7)
        read = read_tree(model=first.outputs["model"])
    assert read.output == 7000
    model_id = first.outputs["model"].id
    [model] = blob_server.store.get_nodes_by_id("artifact", [model_id])
    p = props(model)
    assert p["lineage_archive"] == "tar"  # a directory travels as one archive
    assert blob_server.blobs.exists(p["lineage_sha256"])
    assert model.uri == blob_server.blobs.uri_for(p["lineage_sha256"])
    # After the run its files are gone; .path now fetches from the server.
    assert Path(first.outputs["model"].path, "weights.bin").read_bytes()[:3] == b"\x00\x01\x02"

    # A new process (fresh download cache): served from cache, bytes downloaded.
    monkeypatch.setenv("LINEAGE_CACHE_DIR", str(sdk_env / "downloads-2"))
    reset_sdk()
    lineage.connect(blob_server.url)
    with lineage.start_run(pipeline="blobs", name="blobs-2"):
        again = write_tree(size=7)
        reread = read_tree(model=again.outputs["model"])
        with lineage.step("by-id", inputs={"model": model_id}) as step:
            config = Path(step.inputs["model"].path, "sub", "config.json").read_text()
    assert (again.state, reread.state) == ("CACHED", "CACHED")
    assert config == '{"size": 7}'
    assert (sdk_env / "downloads-2" / "trees").is_dir()


def test_downloads_are_checked(
    sdk_env: Path,  # noqa: F811
    blob_server: InProcessServer,
) -> None:
    lineage.connect(blob_server.url)
    with lineage.start_run(pipeline="blobs", name="checked-1"):
        made = write_tree(size=2)
    # Damage the stored object in place (same size): the server's check must catch it
    # and the SDK must refuse the input instead of handing the step bad bytes.
    sha = props(blob_server.store.get_nodes_by_id("artifact", [made.outputs["model"].id])[0])[
        "lineage_sha256"
    ]
    [stored] = [p for p in (blob_server.root / "blobs").rglob(sha) if p.is_file()]
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    with lineage.start_run(pipeline="blobs", name="checked-2", cache=False):
        with pytest.raises(MissingInputError, match="checksum mismatch.*corrupted"):
            read_tree(model=made.outputs["model"].id)


def test_spooled_outputs_keep_their_bytes(
    sdk_env: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    root = tmp_path / "down-server"
    server = InProcessServer(root).start()
    lineage.connect(server.url)
    server.stop()
    with pytest.warns(SpoolWarning):
        with lineage.start_run(pipeline="blobs", name="spooled-1"):
            made = write_tree(size=5)
            read = read_tree(model=made.outputs["model"])
    assert read.output == 5000
    assert len(list((sdk_env / "spool" / "blobs").iterdir())) == 2  # model tree, summary
    # The run's work directory is gone; the bytes live on in the spool until replayed.
    assert Path(made.outputs["model"].path, "weights.bin").stat().st_size == 5000

    restarted = InProcessServer(root, port=server.port).start()
    try:
        reset_sdk()
        client = lineage.connect(restarted.url)
        assert client.last_replay is not None and client.last_replay.sent == 4
        assert list((sdk_env / "spool" / "blobs").iterdir()) == []
        artifacts = restarted.store.list_all("artifact")
        assert len(artifacts) == 2
        for artifact in artifacts:
            assert restarted.blobs.exists(props(artifact)["lineage_sha256"])
    finally:
        restarted.close()
        server.close()


def test_embedded_uploads_record_their_blake3(
    sdk_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a server (embedded store) an output's blob row gets the BLAKE3 of the
    upload too, so its later downloads check that digest."""
    from sqlalchemy import select

    from lineage.store.schema import blob_table

    data_dir = sdk_env / "embedded"
    monkeypatch.setenv("LINEAGE_DATA_DIR", str(data_dir))
    reset_sdk()
    with lineage.start_run(pipeline="blobs", name="embedded-1"):
        step = write_tree(size=5)
    [sqlite] = list(data_dir.rglob("*.sqlite"))
    store = Store.open(f"sqlite:///{sqlite}")
    try:
        [model] = store.get_nodes_by_id("artifact", [step.outputs["model"].id])
        sha = props(model)["lineage_sha256"]
        recorded = store.read(
            lambda c: c.execute(
                select(blob_table.c.blake3).where(blob_table.c.sha256 == sha)
            ).scalar()
        )
    finally:
        store.close()
    blobs = open_blob_store((data_dir / "blobs").as_uri())
    with blobs.open(sha) as reader:
        stored = b"".join(reader)
    from blake3 import blake3

    assert recorded == blake3(stored).hexdigest()
