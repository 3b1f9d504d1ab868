"""The ``lineage`` command. Server commands import the server lazily, so the base
install (what a pipeline step has) still runs ``lineage sync`` and friends."""

from __future__ import annotations

import sys
from typing import Any

import click

from lineage.errors import LineageError


def _fail(message: str) -> None:
    click.echo(f"lineage: {message}", err=True)
    sys.exit(2)


def _server_missing(exc: ImportError) -> None:
    _fail(f"the server is not installed ({exc.name} missing): pip install 'lineage[server]'")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lineage")
def main() -> None:
    """Lineage: metadata and artifact lineage for ML pipelines."""


@main.command()
@click.option(
    "--host", default=None, help="Address to listen on. [env LINEAGE_HOST; default 127.0.0.1]"
)
@click.option(
    "--port", type=int, default=None, help="gRPC port (MLMD API). [env LINEAGE_PORT; default 8080]"
)
@click.option(
    "--http-port",
    type=int,
    default=None,
    help="HTTP port (GraphQL, UI); 0: any free port. [default 8081]",
)
@click.option(
    "--http/--no-http", default=None, help="Serve HTTP (GraphQL, UI, blobs). [default on]"
)
@click.option(
    "--data-dir", default=None, help="Where embedded data lives. [default ./lineage-data]"
)
@click.option(
    "--database-url",
    default=None,
    help="SQLAlchemy URL: sqlite:///..., postgresql+psycopg://..., mysql+pymysql://... "
    "[default: SQLite under --data-dir]",
)
@click.option(
    "--blob-store", default=None, help="s3://bucket/prefix, gs://bucket/prefix or file:///path."
)
@click.option("--max-message-mb", type=int, default=None, help="Largest gRPC message. [default 64]")
@click.option("--workers", type=int, default=None, help="gRPC handler threads. [default 16]")
@click.option("--log-level", default=None, help="debug, info, warning, error. [default info]")
@click.option(
    "--blob-redirect",
    type=click.Choice(["auto", "always", "never"]),
    default=None,
    help="HTTP downloads: 307 to a presigned URL, or stream. [default auto]",
)
@click.option(
    "--config", "config_file", default=None, help="TOML file of settings. [env LINEAGE_CONFIG]"
)
def serve(config_file: str | None, **flags: Any) -> None:
    """Run the server: MLMD gRPC API, GraphQL and the web UI."""
    try:
        from lineage.server.config import load_config
        from lineage.server.serve import run
    except ImportError as exc:
        _server_missing(exc)
    try:
        config = load_config(flags, config_file=config_file)
        sys.exit(run(config))
    except LineageError as exc:
        _fail(exc.message)


@main.command()
@click.option(
    "--database-url",
    default=None,
    help="Database to migrate. [default: SQLite under ./lineage-data]",
)
def migrate(database_url: str | None) -> None:
    """Create or upgrade the database schema (also done by `lineage serve`)."""
    from sqlalchemy.exc import DBAPIError

    from lineage.store.engine import (
        database_failure,
        default_database_url,
        describe_url,
        make_engine,
    )
    from lineage.store.migrate import head_revision, upgrade

    url = database_url or default_database_url()
    try:
        upgrade(make_engine(url))
    except LineageError as exc:
        _fail(exc.message)
    except DBAPIError as exc:
        _fail(database_failure(url, exc))
    click.echo(f"{describe_url(url)} is at schema revision {head_revision()}")


def _register_optional_commands() -> None:
    """Commands that live in optional modules join the group when their module exists."""
    import importlib

    for module_name in ("lineage.blobs.cli", "lineage.client.cli", "lineage.server.cli_extra"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for command in getattr(module, "COMMANDS", []):
            main.add_command(command)


_register_optional_commands()


if __name__ == "__main__":
    main()
