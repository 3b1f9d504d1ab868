"""Server commands that join ``lineage`` when the server is installed."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lineage.server.report import report


@click.command("graphql-schema")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the SDL to this file (default: print it).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 if the file given with --output differs from the schema.",
)
def graphql_schema(output: Path | None, check: bool) -> None:
    """Print the GraphQL schema (SDL); the repository keeps it in schema.graphql."""
    from lineage.server.graphql import schema_sdl

    sdl = schema_sdl()
    if output is None:
        if check:
            raise click.UsageError("--check needs --output FILE")
        click.echo(sdl, nl=False)
        return
    if check:
        current = output.read_text() if output.exists() else ""
        if current != sdl:
            click.echo(f"{output} is out of date: run lineage graphql-schema -o {output}", err=True)
            sys.exit(1)
        click.echo(f"{output} is up to date")
        return
    try:
        output.write_text(sdl)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}")


COMMANDS = [graphql_schema, report]
