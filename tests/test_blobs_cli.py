"""``lineage gc`` (lineage.blobs.cli): dry run by default, --delete, clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, insert

from lineage.blobs import attach_blob
from lineage.blobs.cli import gc_command, parse_duration
from lineage.blobs.local import LocalBlobStore
from lineage.model import ArtifactState
from lineage.store.schema import artifact_table, metadata


@pytest.fixture
def setup(tmp_path: Path) -> tuple[str, str, LocalBlobStore, dict[str, str]]:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = create_engine(db)
    metadata.create_all(engine)
    store = LocalBlobStore(tmp_path / "blobs")
    shas = {}
    with engine.begin() as conn:
        for i, state in enumerate([ArtifactState.LIVE, ArtifactState.DELETED]):
            ref = store.put(f"artifact {i}".encode())
            art = conn.execute(
                insert(artifact_table).values(
                    type_id=1,
                    uri=ref.uri,
                    state=int(state),
                    name=f"a{i}",
                    create_time_since_epoch=0,
                    last_update_time_since_epoch=0,
                )
            ).inserted_primary_key[0]
            attach_blob(conn, art, ref)
            shas[state.name] = ref.sha256
    shas["orphan"] = store.put(b"no artifact").sha256
    engine.dispose()
    return db, (tmp_path / "blobs").as_uri(), store, shas


def test_dry_run_by_default(setup) -> None:  # type: ignore[no-untyped-def]
    db, blobs, store, shas = setup
    result = CliRunner().invoke(
        gc_command, ["--database-url", db, "--blob-store", blobs, "--grace", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "Dry run: would free" in result.output
    assert shas["DELETED"] in result.output and shas["orphan"] in result.output
    assert shas["LIVE"] not in result.output.split("Unreferenced objects")[1]
    assert len(list(store.list_objects())) == 3


def test_delete(setup) -> None:  # type: ignore[no-untyped-def]
    db, blobs, store, shas = setup
    result = CliRunner().invoke(
        gc_command, ["--database-url", db, "--blob-store", blobs, "--grace", "0s", "--delete"]
    )
    assert result.exit_code == 0, result.output
    assert "Freed" in result.output
    assert [o.sha256 for o in store.list_objects()] == [shas["LIVE"]]


def test_grace_period_by_default(setup) -> None:  # type: ignore[no-untyped-def]
    db, blobs, store, _ = setup
    result = CliRunner().invoke(
        gc_command, ["--database-url", db, "--blob-store", blobs, "--delete", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "Kept: 2 unreferenced objects newer than the grace period (1:00:00)" in result.output
    assert len(list(store.list_objects())) == 3


def test_settings_from_the_environment(setup) -> None:  # type: ignore[no-untyped-def]
    db, blobs, store, _ = setup
    result = CliRunner().invoke(
        gc_command,
        ["--grace", "0", "--delete"],
        env={"LINEAGE_DATABASE_URL": db, "LINEAGE_BLOB_STORE": blobs},
    )
    assert result.exit_code == 0, result.output
    assert len(list(store.list_objects())) == 1


def test_database_without_schema_is_a_clear_error(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.sqlite").close()
    result = CliRunner().invoke(
        gc_command,
        [
            "--database-url",
            f"sqlite:///{tmp_path / 'empty.sqlite'}",
            "--blob-store",
            str(tmp_path / "b"),
        ],
    )
    assert result.exit_code == 2
    assert "lineage migrate" in result.output


def test_missing_database_is_a_clear_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "none" / "db.sqlite"
    result = CliRunner().invoke(
        gc_command,
        ["--database-url", f"sqlite:///{missing}", "--blob-store", str(tmp_path / "b")],
    )
    assert result.exit_code == 2
    assert f"no SQLite database at {missing}" in result.output
    assert list(tmp_path.iterdir()) == []  # neither a new empty database nor a blob directory


def test_unreachable_blob_store_is_a_clear_error(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "db.sqlite").close()
    result = CliRunner().invoke(
        gc_command,
        [
            "--database-url",
            f"sqlite:///{tmp_path / 'db.sqlite'}",
            "--blob-store",
            "s3://bucket/x",
        ],
        env={
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
        },
    )
    assert result.exit_code == 2
    assert "http://127.0.0.1:9 is unreachable" in result.output


def test_parse_duration() -> None:
    assert parse_duration("0") == 0
    assert parse_duration("90s") == 90
    assert parse_duration("30m") == 1800
    assert parse_duration("1h") == 3600
    assert parse_duration("2d") == 172800
    with pytest.raises(click.BadParameter):
        parse_duration("soon")
