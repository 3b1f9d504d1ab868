"""The in-memory copy of the type tables (store/type_catalog.py) against writers that
replace a type's external_id: the one field of a type MLMD updates in place."""

from __future__ import annotations

from pathlib import Path

from ml_metadata.metadata_store import metadata_store as mlmd
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage import model
from lineage.store.store import Store


def _external_id(store: Store) -> str | None:
    found: str | None = store.get_type("artifact", "Relabelled").external_id
    [by_id] = store.get_types_by_id("artifact", [store.get_type("artifact", "Relabelled").id])
    assert by_id.external_id == found
    return found


def test_a_replaced_external_id_is_seen_by_every_read(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Store.open(f"sqlite:///{path}")
    try:
        store.put_type(model.ArtifactType(name="Relabelled", external_id="a"))
        assert _external_id(store) == "a"  # now in the catalog

        # Another writer (MLMD's own library on the same file) replaces it.
        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE
        other = mlmd.MetadataStore(config)
        other.put_artifact_type(pb.ArtifactType(name="Relabelled", external_id="bb"))
        del other
        assert _external_id(store) == "bb"
        assert [t.name for t in store.get_types_by_external_ids("artifact", ["bb"])] == [
            "Relabelled"
        ]

        # This store replaces it with one of the same length: the mark cannot tell,
        # the writer's own process forgets its copy.
        store.put_type(model.ArtifactType(name="Relabelled", external_id="cc"))
        assert _external_id(store) == "cc"
        assert store.get_types_by_external_ids("artifact", ["bb"]) == []
    finally:
        store.close()
