"""Writers racing on one row, on SQLite, PostgreSQL and MariaDB: each gets an answer
(the same one where MLMD promises it), and nothing is written twice.

SQLite's writers are serial (BEGIN IMMEDIATE); the two servers run transactions side
by side under READ COMMITTED, where a row another transaction is inserting is invisible
until it commits and a unique key makes the later insert wait, then fail.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from lineage import model
from lineage.blobs.base import BlobRef
from lineage.blobs.records import attach_blob, blob_of_artifact
from lineage.store.store import ArtifactAndEvent, Store

WRITERS = 6


def _at_once(work: Callable[[int], Any], n: int = WRITERS) -> tuple[list[Any], list[BaseException]]:
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            start.wait()
            results.append(work(i))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_reusing_an_artifact_by_external_id_from_many_writers(store: Store) -> None:
    artifact_type = store.put_type(model.ArtifactType(name="Shared"))
    execution_type = store.put_type(model.ExecutionType(name="Writer"))
    for round_ in range(3):
        external_id = f"shared-{round_}"

        def write(i: int, external_id: str = external_id) -> int:
            _, [artifact_id], _ = store.put_execution(
                model.Execution(type_id=execution_type),
                [
                    ArtifactAndEvent(
                        model.Artifact(
                            type_id=artifact_type, uri=f"/w{i}", external_id=external_id
                        ),
                        model.Event(type=int(model.EventType.OUTPUT)),
                    )
                ],
                reuse_artifact_if_already_exist_by_external_id=True,
            )
            return artifact_id

        ids, errors = _at_once(write)
        assert not errors, errors
        assert len(set(ids)) == 1, ids  # one artifact, every writer's answer
        found = store.get_nodes_by_external_ids("artifact", [external_id])
        assert [a.id for a in found] == ids[:1]


def test_uploads_to_one_artifact_at_once(store: Store) -> None:
    artifact_type = store.put_type(model.ArtifactType(name="Uploaded"))
    [artifact_id] = store.put_nodes("artifact", [model.Artifact(type_id=artifact_type, uri="/u")])
    sha = "ab" * 32

    def attach(i: int) -> None:
        store.write(lambda c: attach_blob(c, artifact_id, BlobRef(sha, 10, f"file:///b/{sha}")))

    for _ in range(3):
        _, errors = _at_once(attach)
        assert not errors, errors
        found = store.read(lambda c: blob_of_artifact(c, artifact_id))
        assert found is not None and found[0] == sha
        [artifact] = store.get_nodes_by_id("artifact", [artifact_id])
        assert {"lineage_sha256", "lineage_size"} <= set(artifact.custom_properties)
