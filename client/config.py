"""Where the SDK sends reports and keeps its files: URLs, directories, environment.

``LINEAGE_URL`` (or ``lineage.connect(url)``) is one of

* ``grpc://host:port``: a ``lineage serve`` server;
* a directory, or ``file:///dir``: the embedded store in that directory (SQLite
  ``metadata.sqlite`` and ``blobs/``, the same layout ``lineage serve --data-dir`` uses);
* a SQLAlchemy database URL (``sqlite:///...``, ``postgresql+psycopg://...``): the embedded
  store on that database, blobs in ``LINEAGE_BLOB_STORE`` (default ``./lineage-data/blobs``).

With neither, the embedded store in ``LINEAGE_DATA_DIR`` (default ``./lineage-data``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lineage.errors import InvalidArgument

ENV_URL = "LINEAGE_URL"
ENV_DATA_DIR = "LINEAGE_DATA_DIR"
ENV_BLOB_STORE = "LINEAGE_BLOB_STORE"
ENV_SPOOL_DIR = "LINEAGE_REPORT_SPOOL_DIR"
ENV_SPOOL_MAX_MB = "LINEAGE_REPORT_SPOOL_MAX_MB"
ENV_CACHE = "LINEAGE_CACHE"
ENV_CACHE_DIR = "LINEAGE_CACHE_DIR"
ENV_TIMEOUT = "LINEAGE_TIMEOUT"
ENV_PIPELINE = "LINEAGE_PIPELINE"
ENV_RUN = "LINEAGE_RUN"

DEFAULT_DATA_DIR = "lineage-data"
DEFAULT_SPOOL_MAX_MB = 4096
DEFAULT_TIMEOUT = 30.0

_DB_SCHEMES = ("sqlite", "postgresql", "mysql", "mariadb")


@dataclass(frozen=True)
class Target:
    """A parsed ``LINEAGE_URL``."""

    kind: str  # "grpc" or "embedded"
    url: str  # normalized, as recorded in spool entries
    address: str = ""  # host:port for grpc
    database_url: str = ""  # for embedded
    blob_store: str = ""  # for embedded

    def describe(self) -> str:
        if self.kind == "grpc":
            return f"the Lineage server at {self.address}"
        return f"the embedded store ({self.url})"


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value not in ("0", "false", "no", "off")


def parse_target(url: str | os.PathLike[str] | None = None) -> Target:
    """The target for ``url``; ``None``: ``LINEAGE_URL``, else the embedded data dir."""
    text = os.fspath(url) if url is not None else os.environ.get(ENV_URL, "").strip()
    if not text:
        text = os.environ.get(ENV_DATA_DIR, "").strip() or DEFAULT_DATA_DIR
    if text.startswith("grpc://"):
        address = text[len("grpc://") :].rstrip("/")
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise InvalidArgument(f"{text!r}: a server URL is grpc://host:port")
        return Target("grpc", f"grpc://{address}", address=address)
    scheme = text.split(":", 1)[0].split("+", 1)[0].lower() if "://" in text else ""
    if scheme in _DB_SCHEMES:
        blobs = os.environ.get(ENV_BLOB_STORE) or _blob_dir(Path(DEFAULT_DATA_DIR))
        return Target("embedded", text, database_url=text, blob_store=blobs)
    if scheme and scheme != "file":
        raise InvalidArgument(
            f"{text!r} is not a Lineage URL: use grpc://host:port, a directory, or a "
            "database URL (sqlite:///..., postgresql+psycopg://...)"
        )
    if scheme == "file":
        from urllib.parse import unquote, urlsplit

        text = unquote(urlsplit(text).path)
    data_dir = Path(text).expanduser().resolve()
    from lineage.store.engine import DEFAULT_DATABASE_FILE

    return Target(
        "embedded",
        data_dir.as_uri(),
        database_url=f"sqlite:///{data_dir / DEFAULT_DATABASE_FILE}",
        blob_store=os.environ.get(ENV_BLOB_STORE) or _blob_dir(data_dir),
    )


def _blob_dir(data_dir: Path) -> str:
    return (data_dir.expanduser().resolve() / "blobs").as_uri()


def _state_home() -> Path:
    base = os.environ.get("XDG_STATE_HOME")
    return Path(base) if base else Path.home() / ".local" / "state"


def _cache_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return Path(base) if base else Path.home() / ".cache"


def spool_dir() -> Path:
    """Where undelivered reports wait: ``LINEAGE_REPORT_SPOOL_DIR``, else
    ``$XDG_STATE_HOME/lineage/spool`` (``~/.local/state/lineage/spool``)."""
    given = os.environ.get(ENV_SPOOL_DIR, "").strip()
    return Path(given).expanduser().resolve() if given else _state_home() / "lineage" / "spool"


def spool_max_bytes() -> int:
    raw = os.environ.get(ENV_SPOOL_MAX_MB, "").strip()
    if not raw:
        return DEFAULT_SPOOL_MAX_MB * 1024 * 1024
    try:
        return int(float(raw) * 1024 * 1024)
    except ValueError:
        raise InvalidArgument(f"{ENV_SPOOL_MAX_MB} must be a number of MiB, got {raw!r}") from None


def download_dir() -> Path:
    """Where downloaded input bytes are kept, by sha256: ``LINEAGE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/lineage`` (``~/.cache/lineage``)."""
    given = os.environ.get(ENV_CACHE_DIR, "").strip()
    return Path(given).expanduser().resolve() if given else _cache_home() / "lineage"


def cache_enabled() -> bool:
    """``LINEAGE_CACHE=0`` turns step caching off for the whole process."""
    return _flag(ENV_CACHE, True)


def timeout() -> float:
    raw = os.environ.get(ENV_TIMEOUT, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        return float(raw)
    except ValueError:
        raise InvalidArgument(f"{ENV_TIMEOUT} must be seconds, got {raw!r}") from None
