"""docker-compose.yml and Dockerfile, checked without Docker (it does not run here).

Parses the compose file as Compose does (YAML plus ``${VAR:-default}`` interpolation with
an empty environment) and checks: every service uses a real, pinned image, has a health
check and named volumes; the server waits for healthy dependencies, is started with options
and environment variables that ``lineage serve`` and the blob store accept, and its
settings agree with the PostgreSQL and MinIO services.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from lineage.blobs import ENV_VARS as BLOB_ENV_VARS
from lineage.blobs import open_blob_store
from lineage.blobs.s3 import S3BlobStore
from lineage.cli import serve as serve_command
from lineage.server.config import ENV_VARS as SERVE_CONFIG_ENV_VARS
from lineage.server.config import load_config

ROOT = Path(__file__).resolve().parents[1]

# What `lineage serve` accepts: its click options and the LINEAGE_* variables of its
# configuration (server/config.py), read from the real command.
SERVE_OPTIONS = {opt for param in serve_command.params for opt in param.opts + param.secondary_opts}
SERVE_ENV_VARS = set(SERVE_CONFIG_ENV_VARS)

_VAR = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution, recursively."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("braced") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        current = env.get(name)
        if op in (":-", "-"):
            if current is None or (op == ":-" and current == ""):
                return arg
            return current
        if op in (":?", "?"):
            if current is None or (op == ":?" and current == ""):
                raise AssertionError(f"compose needs ${name}: {arg}")
            return current
        return current or ""

    return _VAR.sub(sub, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return interpolate(raw, {})


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def command_of(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def options_of(command: list[str]) -> dict[str, str]:
    assert command[0] == "serve", command
    opts: dict[str, str] = {}
    args = command[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        assert arg.startswith("--"), f"unexpected argument {arg!r} in {command}"
        if "=" in arg:
            name, value = arg.split("=", 1)
            i += 1
        else:
            name, value = arg, args[i + 1]
            i += 2
        opts[name] = value
    return opts


def test_the_three_services(services: dict[str, Any]) -> None:
    assert set(services) == {"postgres", "minio", "server"}


@pytest.mark.parametrize("name", ["postgres", "minio", "server"])
def test_each_service_has_image_healthcheck_and_named_volumes(
    compose: dict[str, Any], services: dict[str, Any], name: str
) -> None:
    service = services[name]
    image = service.get("image")
    assert image, f"{name} has no image"
    repo, _, tag = image.rpartition(":")
    assert repo and tag and tag != "latest" or name == "server", f"{name}: pin the image tag"
    check = service.get("healthcheck", {})
    test = check.get("test")
    assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name}: health check"
    for field in ("interval", "timeout", "retries"):
        assert field in check, f"{name}: healthcheck.{field}"
    volumes = service.get("volumes", [])
    assert volumes, f"{name} has no volumes"
    declared = set((compose.get("volumes") or {}).keys())
    for volume in volumes:
        source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
        assert source in declared, f"{name}: {source} is not a named volume"


def test_real_images(services: dict[str, Any]) -> None:
    assert re.fullmatch(r"postgres:\d+(\.\d+)?(-[a-z0-9]+)?", services["postgres"]["image"])
    assert re.fullmatch(
        r"(quay\.io/)?minio/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ",
        services["minio"]["image"],
    )
    server = services["server"]
    assert server["build"]["context"] == "."
    assert (ROOT / server["build"].get("dockerfile", "Dockerfile")).exists()


def test_server_waits_for_healthy_dependencies(services: dict[str, Any]) -> None:
    depends = services["server"]["depends_on"]
    for dep in ("postgres", "minio"):
        assert depends[dep]["condition"] == "service_healthy"


def test_server_command_is_accepted_by_lineage_serve(services: dict[str, Any]) -> None:
    command = command_of(services["server"])
    opts = options_of(command)
    assert set(opts) <= SERVE_OPTIONS, set(opts) - SERVE_OPTIONS
    # The real command line parser takes it (types included), and the server's
    # configuration loader accepts the result together with the service's environment.
    ctx = serve_command.make_context("serve", command[1:])
    flags = {k: v for k, v in ctx.params.items() if k != "config_file"}
    config = load_config(flags, env=env_of(services["server"]))
    assert config.host == "0.0.0.0"  # noqa: S104 - inside the container
    assert (config.port, config.http_port) == (int(opts["--port"]), int(opts["--http-port"]))
    assert config.port != config.http_port
    assert config.resolved_database_url() == opts["--database-url"]
    assert config.resolved_blob_store() == opts["--blob-store"]


def test_server_environment_is_read_by_the_server(services: dict[str, Any]) -> None:
    env = env_of(services["server"])
    unknown = set(env) - SERVE_ENV_VARS - set(BLOB_ENV_VARS)
    assert not unknown, f"variables nothing reads: {unknown}"


def test_server_ports_and_healthcheck_match_its_options(services: dict[str, Any]) -> None:
    server = services["server"]
    opts = options_of(command_of(server))
    published = {str(p).split(":")[-1] for p in server["ports"]}
    assert {opts["--port"], opts["--http-port"]} <= published
    probe = " ".join(server["healthcheck"]["test"])
    assert f"127.0.0.1:{opts['--http-port']}/healthz" in probe


def test_database_url_matches_postgres(services: dict[str, Any]) -> None:
    opts = options_of(command_of(services["server"]))
    url = make_url(opts["--database-url"])
    pg = env_of(services["postgres"])
    assert url.drivername == "postgresql+psycopg"
    assert url.host == "postgres" and (url.port or 5432) == 5432
    assert url.username == pg["POSTGRES_USER"]
    assert url.password == pg["POSTGRES_PASSWORD"]
    assert url.database == pg["POSTGRES_DB"]


def test_blob_store_settings_reach_minio(services: dict[str, Any]) -> None:
    server = services["server"]
    opts = options_of(command_of(server))
    env = env_of(server)
    minio = env_of(services["minio"])
    assert env["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert env["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    endpoint = urlsplit(env["AWS_ENDPOINT_URL"])
    assert endpoint.hostname == "minio" and endpoint.port == 9000
    # The very settings open the S3 backend (no connection is made here).
    store = open_blob_store(opts["--blob-store"], **env)
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("lineage", "blobs")
    assert store.endpoint == "http://minio:9000"
    public = urlsplit(env["LINEAGE_S3_PUBLIC_ENDPOINT"])
    published = {str(p).split(":")[-1] for p in services["minio"]["ports"]}
    assert str(public.port) in published  # presigned links reach MinIO from the host
    assert store.create_bucket  # a fresh MinIO has no bucket yet
    assert store.spool_dir == env["LINEAGE_SPOOL_DIR"]
    spool_mounts = [v.split(":")[1] for v in server["volumes"]]
    assert env["LINEAGE_SPOOL_DIR"] in spool_mounts


def test_interpolation_uses_the_environment() -> None:
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    custom = interpolate(raw, {"POSTGRES_PASSWORD": "s3cret", "MINIO_ROOT_PASSWORD": "m1n10"})
    server = custom["services"]["server"]
    assert make_url(options_of(command_of(server))["--database-url"]).password == "s3cret"
    assert env_of(server)["AWS_SECRET_ACCESS_KEY"] == "m1n10"
    assert env_of(custom["services"]["minio"])["MINIO_ROOT_PASSWORD"] == "m1n10"


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    # Pinned by the lock (as constraints), with the server's extras.
    assert "pip install -c requirements.lock" in text
    assert '".[server,gcs,viewers]"' in text
    assert "('server', 'gcs', 'viewers')" in text  # the dependency layer installs the same
    assert (ROOT / "requirements.lock").exists()
    assert re.search(r'^ENTRYPOINT \["lineage"\]', text, re.M)
    assert re.search(r"^USER (?!root)", text, re.M)
    for sources in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for source in sources.split():
            assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
