"""Server settings from defaults, a TOML file, ``LINEAGE_*`` variables and flags.

Later sources win: defaults < TOML file < environment < command-line flags. Every
setting has the same name everywhere: ``http_port`` in TOML, ``LINEAGE_HTTP_PORT`` in
the environment, ``--http-port`` on the command line.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.errors import InvalidArgument

ENV_PREFIX = "LINEAGE_"
BLOB_REDIRECT_CHOICES = ("auto", "always", "never")
DEFAULT_CONFIG_FILE = "lineage.toml"


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080  # gRPC, as MLMD's own server
    http_port: int = 8081  # GraphQL, web UI, blobs, /healthz, /metrics; 0: the OS picks
    http: bool = True  # serve HTTP at all
    data_dir: str = "lineage-data"
    database_url: str = ""  # empty: SQLite under data_dir
    blob_store: str = ""  # empty: data_dir/blobs on local disk
    max_message_mb: int = 64  # largest gRPC message either way
    workers: int = 16  # gRPC handler threads
    log_level: str = "info"
    # HTTP artifact downloads: 307 to a presigned URL (always), stream (never), or auto
    # (redirect to AWS S3, to an S3 endpoint given a public address, and to GCS).
    blob_redirect: str = "auto"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        from lineage.store.engine import default_database_url

        return default_database_url(self.data_dir)

    def resolved_blob_store(self) -> str:
        if self.blob_store:
            return self.blob_store
        return (Path(self.data_dir).resolve() / "blobs").as_uri()


FIELDS = {f.name: f for f in dataclasses.fields(ServerConfig)}
ENV_VARS = [ENV_PREFIX + name.upper() for name in FIELDS]


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
AT_LEAST_ONE = ("max_message_mb", "workers")
MAX_MESSAGE_MB = 2047  # gRPC message sizes are 32-bit signed: 2 GiB - 1 byte
_TOML_KINDS = {
    "bool": (bool, "true or false"),
    "int": (int, "a whole number"),
    "str": (str, "a string"),
}


def _check_toml_type(name: str, value: Any, source: str) -> None:
    """A TOML value must already have the setting's type: 1.5 is not a port, [1] no host."""
    kind, wanted = _TOML_KINDS[str(FIELDS[name].type)]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidArgument(f"{source}: {name} must be {wanted}, got {value!r}")


def _coerce(name: str, raw: Any, source: str) -> Any:
    target = FIELDS[name].type
    try:
        if target in ("bool", bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise InvalidArgument(f"{source}: {name} must be true or false, got {raw!r}")
        if target in ("int", int):
            if isinstance(raw, bool):
                raise ValueError
            value = int(raw)
            if value < 0:
                raise ValueError
            return value
        return str(raw)
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"{source}: {name} must be a non-negative whole number, got {raw!r}"
        ) from None


def load_config(
    flags: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    config_file: str | None = None,
) -> ServerConfig:
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = DEFAULT_CONFIG_FILE
    if path:
        values.update(_read_toml(path))
    for name in FIELDS:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = _coerce(name, raw, f"environment variable {ENV_PREFIX + name.upper()}")
    for name, raw in (flags or {}).items():
        if raw is not None:
            values[name] = _coerce(name, raw, f"--{name.replace('_', '-')}")
    config = ServerConfig(**values)
    config.blob_redirect = config.blob_redirect.strip().lower()
    if config.blob_redirect not in BLOB_REDIRECT_CHOICES:
        raise InvalidArgument(
            f"blob_redirect must be one of {', '.join(BLOB_REDIRECT_CHOICES)}, "
            f"got {config.blob_redirect!r}"
        )
    config.log_level = config.log_level.strip().lower()
    if config.log_level not in LOG_LEVELS:
        raise InvalidArgument(
            f"log_level must be one of {', '.join(LOG_LEVELS)}, got {config.log_level!r}"
        )
    for name in AT_LEAST_ONE:
        if getattr(config, name) < 1:
            raise InvalidArgument(f"{name} must be at least 1, got {getattr(config, name)}")
    if config.max_message_mb > MAX_MESSAGE_MB:
        raise InvalidArgument(
            f"max_message_mb must be at most {MAX_MESSAGE_MB} (gRPC's limit is 2 GiB - 1 "
            f"byte), got {config.max_message_mb}"
        )
    for port_name in ("port", "http_port"):
        port = getattr(config, port_name)
        if port > 65535:
            raise InvalidArgument(f"{port_name} must be at most 65535, got {port}")
    return config


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise InvalidArgument(f"config file {path} does not exist") from None
    except OSError as exc:
        raise InvalidArgument(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"config file {path} is not valid TOML: {exc}") from None
    section = data.get("server", data)
    if not isinstance(section, dict):
        raise InvalidArgument(f"config file {path}: [server] must be a table, got {section!r}")
    unknown = sorted(set(section) - set(FIELDS))
    if unknown:
        raise InvalidArgument(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}"
        )
    source = f"config file {path}"
    for name, value in section.items():
        _check_toml_type(name, value, source)
    return {name: _coerce(name, value, source) for name, value in section.items()}
