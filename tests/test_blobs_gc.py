"""Blob records (``lineage_blob``, artifact properties) and garbage collection, on SQLite
with the real schema, against local disk and the S3-protocol server."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from blobservers import minio_client, new_bucket, s3_env  # noqa: E402
from sqlalchemy import Engine, create_engine, func, insert, select

from lineage.blobs import (
    SHA256_PROPERTY,
    BlobStore,
    attach_blob,
    blob_of_artifact,
    collect_garbage,
    open_blob_store,
    record_blob,
)
from lineage.blobs.local import LocalBlobStore
from lineage.model import ArtifactState
from lineage.store.schema import artifact_property_table, artifact_table, blob_table, metadata


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    server = request.getfixturevalue("s3_server")
    return open_blob_store(f"s3://{new_bucket(server)}/blobs", **s3_env(server))


_names = iter(range(10**6))


def new_artifact(conn, state: ArtifactState | None) -> int:  # type: ignore[no-untyped-def]
    result = conn.execute(
        insert(artifact_table).values(
            type_id=1,
            uri="",
            state=None if state is None else int(state),
            name=f"a{next(_names)}",
            create_time_since_epoch=0,
            last_update_time_since_epoch=0,
        )
    )
    return int(result.inserted_primary_key[0])


def blob_rows(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(blob_table.c.sha256)).scalars())


def test_record_blob_is_insert_if_absent(engine: Engine, store: BlobStore) -> None:
    ref = store.put(b"abc")
    with engine.begin() as conn:
        assert record_blob(conn, ref) is True
        assert record_blob(conn, ref) is False
    with engine.connect() as conn:
        row = conn.execute(select(blob_table)).one()
    assert (row.sha256, row.size, row.location) == (ref.sha256, 3, ref.uri)
    assert abs(row.create_time_since_epoch / 1000 - time.time()) < 60


def test_attach_blob_records_checksum_and_size_on_the_artifact(
    engine: Engine, store: BlobStore
) -> None:
    one, two = store.put(b"one"), store.put(b"second")
    with engine.begin() as conn:
        art = new_artifact(conn, ArtifactState.LIVE)
        attach_blob(conn, art, one)
        assert blob_of_artifact(conn, art) == (one.sha256, 3)
        attach_blob(conn, art, two)  # replaced, not duplicated
        assert blob_of_artifact(conn, art) == (two.sha256, 6)
        count = conn.execute(
            select(func.count())
            .select_from(artifact_property_table)
            .where(artifact_property_table.c.artifact_id == art)
        ).scalar()
        assert count == 2
        assert blob_of_artifact(conn, new_artifact(conn, None)) is None
    assert blob_rows(engine) == {one.sha256, two.sha256}
    # Reads check what the artifact recorded.
    with engine.connect() as conn:
        sha, size = blob_of_artifact(conn, art)  # type: ignore[misc]
    assert store.open(sha, size=size).read() == b"second"


def test_interrupted_upload_records_nothing(engine: Engine, store: BlobStore) -> None:
    def cut_off() -> Iterator[bytes]:
        yield os.urandom(1 << 20)
        raise ConnectionResetError("half way")

    with pytest.raises(ConnectionResetError):
        with engine.begin() as conn:
            art = new_artifact(conn, ArtifactState.LIVE)
            ref = store.put(cut_off())
            attach_blob(conn, art, ref)  # never reached
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(artifact_table)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(artifact_property_table)).scalar() == 0
    assert blob_rows(engine) == set()
    assert list(store.list_objects()) == []
    assert list(store.list_temporaries()) == []


def test_rolled_back_transaction_leaves_an_object_for_gc(engine: Engine, store: BlobStore) -> None:
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            ref = store.put(b"orphan")
            record_blob(conn, ref)
            raise RuntimeError("the artifact update failed")
    assert blob_rows(engine) == set()
    with engine.begin() as conn:
        report = collect_garbage(conn, store, dry_run=False, grace=0)
    assert [o.sha256 for o in report.objects] == [ref.sha256]
    assert not store.exists(ref)


def _populate(engine: Engine, store: BlobStore) -> dict[str, str]:
    """a: LIVE artifact; b: DELETED artifact; c: artifact without state; d: object only;
    e: lineage_blob row only; f: one DELETED and one LIVE artifact; g: LIVE, object gone."""
    shas: dict[str, str] = {}
    with engine.begin() as conn:
        for name, state in [
            ("a", ArtifactState.LIVE),
            ("b", ArtifactState.DELETED),
            ("c", None),
            ("f", ArtifactState.DELETED),
        ]:
            ref = store.put(f"bytes of {name}".encode())
            attach_blob(conn, new_artifact(conn, state), ref)
            shas[name] = ref.sha256
        ref_f = store.put(b"bytes of f")
        attach_blob(conn, new_artifact(conn, ArtifactState.LIVE), ref_f)
        shas["d"] = store.put(b"bytes of d").sha256
        ref_e = store.put(b"bytes of e")
        record_blob(conn, ref_e)
        store.delete(ref_e)
        shas["e"] = ref_e.sha256
        ref_g = store.put(b"bytes of g")
        attach_blob(conn, new_artifact(conn, ArtifactState.MARKED_FOR_DELETION), ref_g)
        store.delete(ref_g)
        shas["g"] = ref_g.sha256
    return shas


def test_gc_dry_run_by_default(engine: Engine, store: BlobStore) -> None:
    shas = _populate(engine, store)
    before = {o.sha256 for o in store.list_objects()}
    with engine.begin() as conn:
        report = collect_garbage(conn, store, grace=0)
    assert report.dry_run
    assert {o.sha256 for o in report.objects} == {shas["b"], shas["d"]}
    assert set(report.records) == {shas["b"], shas["e"]}
    assert report.missing == [shas["g"]]
    assert report.live == 4  # a, c, f, g
    assert report.bytes_freed == len(b"bytes of b") + len(b"bytes of d")
    text = report.render()
    assert "Dry run: would free 20 B" in text
    assert shas["b"] in text and shas["d"] in text
    assert "missing" in text and shas["g"] in text
    # Nothing was deleted.
    assert {o.sha256 for o in store.list_objects()} == before
    assert shas["b"] in blob_rows(engine)


def test_gc_deletes_unreferenced_objects_and_rows(engine: Engine, store: BlobStore) -> None:
    shas = _populate(engine, store)
    with engine.begin() as conn:
        report = collect_garbage(conn, store, dry_run=False, grace=0)
    assert {o.sha256 for o in report.objects} == {shas["b"], shas["d"]}
    assert set(report.records) == {shas["b"], shas["e"]}
    assert report.errors == []
    assert {o.sha256 for o in store.list_objects()} == {shas["a"], shas["c"], shas["f"]}
    assert blob_rows(engine) == {shas["a"], shas["c"], shas["f"], shas["g"]}
    assert "Freed 20 B." in report.render()
    for name in "acf":
        assert store.verify(shas[name]).sha256 == shas[name]
    # A second run finds nothing.
    with engine.begin() as conn:
        again = collect_garbage(conn, store, dry_run=False, grace=0)
    assert again.objects == [] and again.records == []


def test_gc_grace_period_protects_fresh_uploads(engine: Engine, store: BlobStore) -> None:
    shas = _populate(engine, store)
    with engine.begin() as conn:
        report = collect_garbage(conn, store, dry_run=False)  # default grace: one hour
    assert report.objects == [] and report.records == []
    assert {o.sha256 for o in report.kept_recent} == {shas["b"], shas["d"]}
    assert "newer than the grace period" in report.render()
    # Later, they go.
    with engine.begin() as conn:
        later = collect_garbage(conn, store, dry_run=False, now=time.time() + 7200)
    assert {o.sha256 for o in later.objects} == {shas["b"], shas["d"]}


def test_gc_rechecks_references_before_deleting(engine: Engine, store: BlobStore) -> None:
    ref = store.put(b"becomes live")

    class Racing:
        """Lists the object as garbage, then an artifact starts to reference it."""

        def __init__(self, inner: BlobStore) -> None:
            self.inner = inner

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self.inner, name)

        def list_objects(self):  # type: ignore[no-untyped-def]
            items = list(self.inner.list_objects())
            with engine.begin() as other:
                attach_blob(other, new_artifact(other, ArtifactState.LIVE), ref)
            return iter(items)

    with engine.connect() as conn:
        report = collect_garbage(conn, Racing(store), dry_run=False, grace=0)  # type: ignore[arg-type]
        conn.commit()
    assert report.objects == []
    assert store.exists(ref)


def test_gc_on_an_engine_lets_writers_in_while_it_lists(tmp_path: Path) -> None:
    """Given an engine (as `lineage gc` does), gc holds no write transaction while it
    lists the store (seconds to minutes on a big bucket), only one per object it deletes:
    a writer during the listing gets in (on SQLite it waited for the whole run)."""
    from lineage.store.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    store = LocalBlobStore(tmp_path / "blobs")
    garbage = store.put(b"nobody's")
    written: list[int] = []

    class Listing:
        """A store whose listing is slow enough that a pipeline step writes meanwhile."""

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(store, name)

        def list_objects(self):  # type: ignore[no-untyped-def]
            writer = create_engine(
                f"sqlite:///{tmp_path / 'db.sqlite'}", connect_args={"timeout": 0.2}
            )
            try:
                with writer.begin() as conn:
                    written.append(new_artifact(conn, ArtifactState.LIVE))
            finally:
                writer.dispose()
            return store.list_objects()

    try:
        report = collect_garbage(engine, Listing(), dry_run=False, grace=0)  # type: ignore[arg-type]
    finally:
        engine.dispose()
    assert len(written) == 1 and report.errors == []
    assert [o.sha256 for o in report.objects] == [garbage.sha256]
    assert not store.exists(garbage)


def test_gc_removes_stale_temporaries(engine: Engine, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    (tmp_path / "blobs/tmp").mkdir(parents=True)
    old = tmp_path / "blobs/tmp/old-upload"
    old.write_bytes(b"x" * 100)
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    fresh = tmp_path / "blobs/tmp/fresh-upload"
    fresh.write_bytes(b"y")
    with engine.begin() as conn:
        report = collect_garbage(conn, store, dry_run=False)
    assert report.temporaries == [("tmp/old-upload", 100)]
    assert not old.exists() and fresh.exists()


def test_gc_aborts_unfinished_multipart_uploads(engine: Engine, s3_server) -> None:  # type: ignore[no-untyped-def]
    """A server killed mid-upload on S3 leaves a multipart upload neither completed nor
    aborted (at the content address when the sha256 was declared, at a temporary key in
    stream mode): invisible, but its parts are stored (and billed) until gc aborts it."""
    bucket = new_bucket(s3_server)
    store = open_blob_store(f"s3://{bucket}/blobs", **s3_env(s3_server))
    client = minio_client(s3_server)
    sha = "ab" * 32
    keys = [f"blobs/sha256/ab/ab/{sha}", "blobs/tmp/0123456789abcdef"]
    for key in keys:
        upload_id = client._create_multipart_upload(bucket, key, {})
        client._upload_part(bucket, key, b"x" * 1000, None, upload_id, 1)
    with engine.begin() as conn:  # still in progress, as far as anyone can tell
        assert collect_garbage(conn, store, dry_run=False).temporaries == []
    assert len(client._list_multipart_uploads(bucket).uploads) == 2
    with engine.begin() as conn:
        report = collect_garbage(conn, store, dry_run=False, temp_grace=0)
    assert sorted(key.split("#")[0] for key, _ in report.temporaries) == [
        f"sha256/ab/ab/{sha}",
        "tmp/0123456789abcdef",
    ]
    assert report.bytes_freed == 2000
    assert client._list_multipart_uploads(bucket).uploads == []
    assert not store.exists(sha)


def test_live_means_state_not_deleted(engine: Engine, store: BlobStore) -> None:
    refs = {}
    with engine.begin() as conn:
        for state in ArtifactState:
            ref = store.put(f"state {state.name}".encode())
            attach_blob(conn, new_artifact(conn, state), ref)
            refs[state] = ref.sha256
    with engine.begin() as conn:
        report = collect_garbage(conn, store, dry_run=False, grace=0)
    assert [o.sha256 for o in report.objects] == [refs[ArtifactState.DELETED]]


def test_property_name_is_the_documented_one() -> None:
    assert SHA256_PROPERTY == "lineage_sha256"
