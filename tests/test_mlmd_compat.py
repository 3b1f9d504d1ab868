"""The real ``ml_metadata.MetadataStore`` client against ``lineage serve``, compared
call by call with MLMD's own store, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from pathlib import Path

import pytest
from lineage_server import LineageServer
from ml_metadata.metadata_store import metadata_store as mlmd
from ml_metadata.proto import metadata_store_pb2 as pb
from mlmd_differential import Recorder, compare
from mlmd_scenarios import SCENARIOS

_oracle_logs: dict[str, list] = {}


def oracle_log(name: str, tmp_path_factory: pytest.TempPathFactory) -> list:
    if name not in _oracle_logs:
        path = tmp_path_factory.mktemp("mlmd") / "mlmd.sqlite"
        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        recorder = Recorder()
        SCENARIOS[name](mlmd.MetadataStore(config), recorder)
        _oracle_logs[name] = recorder.log
    return _oracle_logs[name]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_as_mlmd(
    name: str, database_url: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    expected = oracle_log(name, tmp_path_factory)
    server = LineageServer(database_url, tmp_path / "data").start()
    try:
        recorder = Recorder()
        SCENARIOS[name](server.client(), recorder)
    finally:
        code = server.stop()
    problems = compare(expected, recorder.log)
    assert not problems, f"{len(problems)} difference(s) from MLMD:\n" + "\n".join(problems)
    assert code == 0, server.log_text()
