"""Background WAL checkpoints of a SQLite store (lineage/store/wal.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lineage import model
from lineage.store.store import Store
from lineage.store.wal import BACKSTOP_PAGES, WalCheckpointer


def _wal_size(db: Path) -> int:
    wal = Path(f"{db}-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_background_checkpoints_fold_the_log_and_stop_leaves_it_empty(tmp_path: Path) -> None:
    db = tmp_path / "metadata.sqlite"
    store = Store.open(f"sqlite:///{db}")
    store.checkpoint_in_background()
    checkpointer = store._checkpointer
    assert checkpointer is not None
    checkpointer.interval = 0.05
    # Commits no longer checkpoint at SQLite's 1,000 pages, only past the backstop.
    assert store.read(lambda c: c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()) == (
        BACKSTOP_PAGES
    )
    type_id = store.put_type(model.ArtifactType(name="Blob"))
    store.put_nodes("artifact", [model.Artifact(type_id=type_id, uri=f"u{i}") for i in range(200)])
    assert _wal_size(db) > 0
    before = db.stat().st_size  # the new pages are still only in the log
    deadline = time.monotonic() + 10
    while db.stat().st_size == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert db.stat().st_size > before, "the background thread never checkpointed"
    store.close()
    assert _wal_size(db) == 0  # TRUNCATE at stop
    reopened = Store.open(f"sqlite:///{db}")
    try:
        assert len(reopened.list_all("artifact")) == 200
    finally:
        reopened.close()


def test_only_sqlite_has_a_checkpointer(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        store.checkpoint_in_background()
        assert (store._checkpointer is not None) == database_url.startswith("sqlite")
        if not database_url.startswith("sqlite"):
            with pytest.raises(ValueError, match="SQLite"):
                WalCheckpointer(store.engine)
    finally:
        store.close()
