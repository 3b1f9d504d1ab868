"""Shared pytest fixtures: real databases on every backend.

Fixtures (see tests/dbservers.py for the servers and their environment variables):

``database_backend`` -> str
    Parametrized over ``sqlite``, ``postgresql``, ``mysql`` (these exact test ids).
``database_url`` -> str
    SQLAlchemy URL of a fresh, empty database on ``database_backend``, dropped after
    the test. Any test that takes it runs three times: ``test_x[sqlite]``,
    ``test_x[postgresql]``, ``test_x[mysql]``; select with ``-k sqlite`` etc.
``database_url_factory`` -> Callable[[str], str]
    ``database_url_factory("postgresql")`` makes one more fresh empty database on that
    backend (``"sqlite"``, ``"postgresql"`` or ``"mysql"``); all are dropped after the test.
``postgres_url_factory`` / ``mysql_url_factory`` -> Callable[[], str]
    The same, for one backend.
``store`` -> lineage.store.store.Store
    Our metadata store opened on ``database_url`` (so on each backend), closed after the
    test. A module's own ``store`` fixture (a blob store, say) takes precedence.
``postgres_server`` / ``mysql_server`` (session) -> dbservers.DatabaseServer
    The throwaway servers themselves, started on first use only: ``.port``,
    ``.admin_url``, ``.version``, ``.new_database_name()``, ``.create_database(name=None)``
    -> URL, ``.drop_database(name)``, ``.url(name)``. For module- or session-scoped
    fixtures (``request.getfixturevalue("postgres_server")`` there skips/fails like the
    others); whatever they do not drop goes away with the server at the end.

Policy: a backend whose server binaries are missing makes its tests SKIP, with the
missing binary and the Debian package in the reason, and a summary at the end of the
run; with ``CI=true`` it is an ERROR instead. A server that is installed but fails to
start is always an error.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import dbservers  # noqa: E402

# The S3 (moto) and GCS emulator server fixtures, for every test module.
pytest_plugins = ["blobservers"]

DATABASE_BACKENDS = ("sqlite", "postgresql", "mysql")

_unavailable: dict[str, str] = {}  # backend -> why it was skipped
_started: dict[str, dbservers.DatabaseServer] = {}


def _start_server(request: pytest.FixtureRequest, backend: str) -> dbservers.DatabaseServer:
    cls = dbservers.BACKENDS[backend]
    try:
        server = cls(cls.find_binaries())
    except dbservers.BackendUnavailable as e:
        _unavailable[backend] = str(e)
        server = None
    if server is None:  # outside the except block: no chained traceback in the report
        reason = _unavailable[backend]
        if dbservers.ci_mode():
            pytest.fail(f"{backend} backend is required when CI=true: {reason}", pytrace=False)
        pytest.skip(f"{backend} backend unavailable: {reason}")
    request.addfinalizer(server.stop)
    error = None
    try:
        server.start()
    except dbservers.ServerStartError as e:
        error = str(e)
    if error is not None:
        pytest.fail(f"{backend} test server failed to start: {error}", pytrace=False)
    _started[backend] = server
    return server


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> dbservers.DatabaseServer:
    return _start_server(request, "postgresql")


@pytest.fixture(scope="session")
def mysql_server(request: pytest.FixtureRequest) -> dbservers.DatabaseServer:
    return _start_server(request, "mysql")


_SERVER_FIXTURE = {"postgresql": "postgres_server", "mysql": "mysql_server"}


@pytest.fixture
def database_url_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], str]]:
    created: list[tuple[dbservers.DatabaseServer, str]] = []
    sqlite_n = itertools.count(1)

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'db{next(sqlite_n)}.sqlite'}"
        if backend not in _SERVER_FIXTURE:
            raise ValueError(f"unknown backend {backend!r}; one of {DATABASE_BACKENDS}")
        server: dbservers.DatabaseServer = request.getfixturevalue(_SERVER_FIXTURE[backend])
        name = server.new_database_name()
        url = server.create_database(name)
        created.append((server, name))
        return url

    yield make
    for server, name in reversed(created):
        try:
            server.drop_database(name)
        except Exception as e:  # the server goes away at the end of the session anyway
            warnings.warn(f"could not drop test database {name}: {e!r}", stacklevel=1)


@pytest.fixture(params=DATABASE_BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(database_backend: str, database_url_factory: Callable[[str], str]) -> str:
    return database_url_factory(database_backend)


@pytest.fixture
def store(database_url: str) -> Iterator[Any]:
    from lineage.store.store import Store

    opened = Store.open(database_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def postgres_url_factory(database_url_factory: Callable[[str], str]) -> Callable[[], str]:
    return lambda: database_url_factory("postgresql")


@pytest.fixture
def mysql_url_factory(database_url_factory: Callable[[str], str]) -> Callable[[], str]:
    return lambda: database_url_factory("mysql")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # The fixture finalizers have normally stopped them already; this is a safety net.
    dbservers.stop_all_servers()
    # Connections a test leaked were killed with their database; when they are garbage
    # collected at exit, SQLAlchemy's pool would log a traceback for each after pytest's
    # closing line. They are expected, so keep them quiet.
    logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    if not _unavailable and not _started:
        return
    terminalreporter.section("database backends")
    for backend, server in _started.items():
        terminalreporter.write_line(
            f"{backend}: {server.version} on 127.0.0.1:{server.port}, "
            f"started in {server.startup_seconds:.1f}s"
        )
    for backend, reason in _unavailable.items():
        verb = "ERRORED (CI=true)" if dbservers.ci_mode() else "SKIPPED"
        terminalreporter.write_line(f"{backend}: tests {verb}: {reason}", yellow=True, bold=True)
