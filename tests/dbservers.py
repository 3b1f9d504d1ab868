"""Throwaway PostgreSQL and MariaDB servers for the test suite.

Each server lives in its own temporary directory, listens on a free port on
127.0.0.1 only, runs with durability turned off (it is thrown away), and is
stopped (its whole process group killed) and its directory removed when the test
session ends: through the pytest fixture finalizer, through ``atexit`` (Ctrl-C,
crashes), and, if the test process dies without running either (SIGKILL), the
kernel kills the server too (``PR_SET_PDEATHSIG``).

When run as root the servers run as the ``postgres`` / ``mysql`` system users
(the packages create them); otherwise they run as the current user.

The pytest side (fixtures, skip/fail policy, terminal summary) is in
``tests/conftest.py``; this module has no pytest dependency so that ``bench/``
can use it too (with ``tests/`` on ``sys.path``)::

    import dbservers
    with dbservers.running_server("postgresql") as pg:
        url = pg.create_database()   # postgresql+psycopg://postgres@127.0.0.1:PORT/NAME

Environment variables
---------------------
``LINEAGE_TEST_PG_BIN``
    Directory holding PostgreSQL's ``initdb`` and ``postgres``. Default: the
    newest ``/usr/lib/postgresql/*/bin`` (Debian package ``postgresql``), else
    ``PATH``. Point it at a nonexistent directory to see the skip path.
``LINEAGE_TEST_MYSQL_BIN``
    Directory holding ``mariadbd`` (or ``mysqld``) and ``mariadb-install-db``
    (or ``mysql_install_db``). Default: ``PATH`` plus ``/usr/sbin`` and
    ``/usr/bin`` (Debian package ``mariadb-server``).
``LINEAGE_TEST_DB_TMPDIR``
    Parent directory of the servers' temporary directories (default: the
    system temp dir). As root it must be traversable by the ``postgres`` and
    ``mysql`` users.
``LINEAGE_TEST_KEEP_DB_DIRS``
    If ``1``, do not delete the servers' directories at the end (for reading
    their logs); the servers are stopped all the same.
``CI``
    If ``true``, a backend whose binaries are missing (or that fails to start)
    is an error, never a skip (policy in ``tests/conftest.py``).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0

_PR_SET_PDEATHSIG = 1


class BackendUnavailable(Exception):
    """The server binaries are not installed (the tests of that backend skip)."""


class ServerStartError(Exception):
    """The binaries are there but the server did not come up (always an error)."""


def ci_mode() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _which(names: list[str], dirs: list[str] | None) -> str | None:
    for name in names:
        if dirs is None:
            found = shutil.which(name)
            if found:
                return found
            for d in ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"):
                p = os.path.join(d, name)
                if os.access(p, os.X_OK):
                    return p
        else:
            for d in dirs:
                p = os.path.join(d, name)
                if os.path.isfile(p) and os.access(p, os.X_OK):
                    return p
    return None


def _pg_version_key(path: str) -> tuple[int, ...]:
    m = re.search(r"/postgresql/([\d.]+)/bin$", path)
    return tuple(int(x) for x in m.group(1).split(".")) if m else (0,)


def find_postgres_binaries() -> tuple[str, str]:
    """(initdb, postgres) paths, or raise BackendUnavailable naming what is missing."""
    env = os.environ.get("LINEAGE_TEST_PG_BIN")
    if env:
        dirs: list[str] | None = [env]
        where = f"LINEAGE_TEST_PG_BIN={env}"
    else:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_pg_version_key, reverse=True)
        dirs = found or None
        where = "/usr/lib/postgresql/*/bin or PATH"
    initdb = _which(["initdb"], dirs)
    if initdb is None:
        raise BackendUnavailable(
            f"PostgreSQL server binary 'initdb' not found (looked in {where}); "
            "install the Debian package 'postgresql' (apt-get install -y postgresql), "
            "or run scripts/test.sh, which installs it"
        )
    postgres = _which(["postgres"], [os.path.dirname(initdb)])
    if postgres is None:
        raise BackendUnavailable(
            f"PostgreSQL server binary 'postgres' not found next to {initdb}; "
            "install the Debian package 'postgresql'"
        )
    return initdb, postgres


def find_mariadb_binaries() -> tuple[str, str]:
    """(install_db, mariadbd) paths, or raise BackendUnavailable naming what is missing."""
    env = os.environ.get("LINEAGE_TEST_MYSQL_BIN")
    dirs = [env] if env else None
    where = f"LINEAGE_TEST_MYSQL_BIN={env}" if env else "PATH, /usr/sbin, /usr/bin"
    server = _which(["mariadbd", "mysqld"], dirs)
    install = _which(["mariadb-install-db", "mysql_install_db"], dirs)
    missing = [n for n, p in (("mariadbd", server), ("mariadb-install-db", install)) if p is None]
    if missing or server is None or install is None:
        raise BackendUnavailable(
            f"MariaDB server {'binaries' if len(missing) > 1 else 'binary'} "
            f"{' and '.join(repr(m) for m in missing)} not found "
            f"(looked in {where}); install the Debian package 'mariadb-server' "
            "(apt-get install -y mariadb-server), or run scripts/test.sh, which installs it"
        )
    return install, server


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


@dataclass
class _RunAs:
    user: str | None  # None: the current user
    uid: int
    gid: int

    @classmethod
    def for_service(cls, name: str) -> _RunAs:
        if os.geteuid() != 0:
            return cls(None, os.getuid(), os.getgid())
        try:
            pw = pwd.getpwnam(name)
        except KeyError as e:
            raise BackendUnavailable(
                f"running as root but there is no '{name}' system user "
                f"(the Debian package creates it)"
            ) from e
        return cls(name, pw.pw_uid, pw.pw_gid)

    def popen_kwargs(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_dirs(parent: str) -> None:
    """Remove directories left by a test run that was SIGKILLed (its servers died with it)."""
    for p in glob.glob(os.path.join(parent, "lineage-*-*-*")):
        m = re.fullmatch(r"lineage-(?:postgresql|mysql)-(\d+)-\w+", os.path.basename(p))
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


def _make_tmpdir(backend: str, run_as: _RunAs) -> Path:
    parent = os.environ.get("LINEAGE_TEST_DB_TMPDIR") or tempfile.gettempdir()
    _remove_stale_dirs(parent)
    d = Path(tempfile.mkdtemp(prefix=f"lineage-{backend}-{os.getpid()}-", dir=parent))
    if run_as.user is not None:
        os.chown(d, run_as.uid, run_as.gid)
    d.chmod(0o700)
    return d


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


_live_servers: list[DatabaseServer] = []
_live_lock = threading.Lock()


@atexit.register
def stop_all_servers() -> None:
    """Stop every server still running (atexit; also safe to call by hand)."""
    with _live_lock:
        servers = list(_live_servers)
    for s in servers:
        with contextlib.suppress(Exception):
            s.stop()


class DatabaseServer:
    backend: str = ""
    user_name: str = ""

    def __init__(self, binaries: tuple[str, str]) -> None:
        self.binaries = binaries
        self.run_as = _RunAs.for_service(self.user_name)
        self.dir: Path | None = None
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self.version = ""
        self._counter = itertools.count(1)
        self._prefix = f"lt{os.getpid()}_{uuid.uuid4().hex[:6]}"

    # -- lifecycle -----------------------------------------------------------
    @classmethod
    def start_new(cls, binaries: tuple[str, str] | None = None) -> DatabaseServer:
        server = cls(binaries or cls.find_binaries())
        server.start()
        return server

    @staticmethod
    def find_binaries() -> tuple[str, str]:
        raise NotImplementedError

    def __enter__(self) -> DatabaseServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        t0 = time.monotonic()
        self.dir = _make_tmpdir(self.backend, self.run_as)
        with _live_lock:
            _live_servers.append(self)
        try:
            self._init_datadir()
            last_error: Exception | None = None
            for _attempt in range(3):  # the free port may be taken between probe and bind
                self.port = free_port()
                try:
                    self._launch()
                    self._wait_ready()
                    last_error = None
                    break
                except ServerStartError as e:
                    last_error = e
                    self._kill()
                    if "in use" not in str(e).lower():
                        break
            if last_error is not None:
                raise last_error
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0

    def _popen(self, argv: list[str], log: Path, **kw: Any) -> subprocess.Popen[bytes]:
        assert self.dir is not None
        logf = open(log, "ab")  # noqa: SIM115  (the child keeps it)
        try:
            return subprocess.Popen(
                argv,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: killed as a whole, immune to ^C
                preexec_fn=_set_pdeathsig,
                **self.run_as.popen_kwargs(),
                **kw,
            )
        finally:
            logf.close()

    def _run(self, argv: list[str], log: Path, timeout: float = 120) -> None:
        p = self._popen(argv, log)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise ServerStartError(f"{argv[0]} timed out; log:\n{_tail(log)}") from None
        if rc != 0:
            raise ServerStartError(f"{' '.join(argv)} exited {rc}; log:\n{_tail(log)}")

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise ServerStartError(
                    f"{self.backend} server exited with {rc} during startup; "
                    f"log ({self.log_path}):\n{_tail(self.log_path)}"
                )
            try:
                self.version = self._probe()
                return
            except Exception as e:  # not accepting connections yet
                last = e
                time.sleep(0.1)
        raise ServerStartError(
            f"{self.backend} server not ready after {STARTUP_TIMEOUT:.0f}s ({last!r}); "
            f"log ({self.log_path}):\n{_tail(self.log_path)}"
        )

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, self.stop_signal)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group (backends, helpers), and reap.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            proc.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        """Stop the server (kill its process group) and remove its directory. Idempotent."""
        self._kill()
        with _live_lock:
            if self in _live_servers:
                _live_servers.remove(self)
        d, self.dir = self.dir, None
        if d is not None and os.environ.get("LINEAGE_TEST_KEEP_DB_DIRS") != "1":
            shutil.rmtree(d, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def log_path(self) -> Path:
        assert self.dir is not None
        return self.dir / "server.log"

    # -- databases -----------------------------------------------------------
    def new_database_name(self) -> str:
        return f"{self._prefix}_{next(self._counter)}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        name = name or self.new_database_name()
        self._create(name)
        return self.url(name)

    # overridden
    stop_signal: int = signal.SIGTERM

    def _init_datadir(self) -> None:
        raise NotImplementedError

    def _launch(self) -> None:
        raise NotImplementedError

    def _probe(self) -> str:
        raise NotImplementedError

    def url(self, name: str) -> str:
        raise NotImplementedError

    def _create(self, name: str) -> None:
        raise NotImplementedError

    def drop_database(self, name: str) -> None:
        raise NotImplementedError


class PostgresServer(DatabaseServer):
    backend = "postgresql"
    user_name = "postgres"
    stop_signal = signal.SIGQUIT  # immediate shutdown: the data is thrown away

    @staticmethod
    def find_binaries() -> tuple[str, str]:
        return find_postgres_binaries()

    def _init_datadir(self) -> None:
        assert self.dir is not None
        initdb, _ = self.binaries
        self._run(
            [
                initdb,
                "-D",
                str(self.dir / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            self.dir / "initdb.log",
        )

    def _launch(self) -> None:
        assert self.dir is not None
        _, postgres = self.binaries
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "300",
            "shared_buffers": "64MB",
            "logging_collector": "off",
        }
        argv = [postgres, "-D", str(self.dir / "data")]
        for k, v in settings.items():
            argv += ["-c", f"{k}={v}"]
        self.proc = self._popen(argv, self.log_path)

    def _connect(self, dbname: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    _version_num = 0

    def _probe(self) -> str:
        with self._connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
            num = conn.execute("SHOW server_version_num").fetchone()
            self._version_num = int(num[0])
            return f"PostgreSQL {row[0]}"

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def _create(self, name: str) -> None:
        with self._connect() as conn:
            # FILE_COPY (PostgreSQL 15+) is faster than WAL_LOG for a tiny template.
            strategy = " STRATEGY FILE_COPY" if self._version_num >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{name}"{strategy}')

    def drop_database(self, name: str) -> None:
        if not self.running:
            return
        with self._connect() as conn:
            # FORCE: connections a test left open (an undisposed engine) are terminated.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class MariaDBServer(DatabaseServer):
    backend = "mysql"
    user_name = "mysql"
    stop_signal = signal.SIGKILL  # nothing to keep; a clean InnoDB shutdown takes seconds

    @staticmethod
    def find_binaries() -> tuple[str, str]:
        return find_mariadb_binaries()

    def _init_datadir(self) -> None:
        assert self.dir is not None
        install, server = self.binaries
        (self.dir / "tmp").mkdir()
        if self.run_as.user is not None:
            os.chown(self.dir / "tmp", self.run_as.uid, self.run_as.gid)
        argv = [
            install,
            "--no-defaults",
            f"--datadir={self.dir / 'data'}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            f"--tmpdir={self.dir / 'tmp'}",
        ]
        # mariadb-install-db finds mariadbd under --basedir (default /usr).
        base = Path(server).resolve().parent.parent
        if base != Path("/usr"):
            argv.append(f"--basedir={base}")
        if self.run_as.user is not None:
            argv.append(f"--user={self.run_as.user}")
        self._run(argv, self.dir / "install-db.log")

    def _launch(self) -> None:
        assert self.dir is not None
        _, server = self.binaries
        argv = [
            server,
            "--no-defaults",
            f"--datadir={self.dir / 'data'}",
            f"--socket={self.dir / 's.sock'}",
            f"--pid-file={self.dir / 'mariadbd.pid'}",
            f"--tmpdir={self.dir / 'tmp'}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
            "--innodb-buffer-pool-size=128M",
            "--performance-schema=OFF",
            "--max-connections=300",
            # Production-like text handling: --no-defaults would leave latin1.
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
        ]
        self.proc = self._popen(argv, self.log_path)

    def _connect(self, database: str | None = None) -> Any:
        import pymysql

        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            password="",
            database=database,
            autocommit=True,
            connect_timeout=5,
        )

    def _probe(self) -> str:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                return f"MariaDB {cur.fetchone()[0]}"
        finally:
            conn.close()

    @property
    def admin_url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/"

    def url(self, name: str) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{name}"

    def _create(self, name: str) -> None:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}`")
        finally:
            conn.close()

    def drop_database(self, name: str) -> None:
        if not self.running:
            return
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                # Connections a test left open would hold metadata locks: kill them first.
                cur.execute(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE db = %s AND id <> CONNECTION_ID()",
                    (name,),
                )
                for (pid,) in cur.fetchall():
                    with contextlib.suppress(Exception):
                        cur.execute(f"KILL {int(pid)}")
                cur.execute("SET SESSION lock_wait_timeout = 20")
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()


BACKENDS: dict[str, type[DatabaseServer]] = {
    "postgresql": PostgresServer,
    "mysql": MariaDBServer,
}


@contextlib.contextmanager
def running_server(backend: str) -> Iterator[DatabaseServer]:
    """Start a throwaway server of ``backend`` ('postgresql' or 'mysql') for a with-block."""
    server = BACKENDS[backend].start_new()
    try:
        yield server
    finally:
        server.stop()


_Server = DatabaseServer  # old name
