"""``lineage gc``: remove blobs that no live artifact references (dry run by default).

Register with the ``lineage`` group through ``COMMANDS`` (``lineage.cli`` loads optional
command modules by name).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

from lineage.errors import LineageError

__all__ = ["COMMANDS", "gc_command", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``1h``, ``2d`` -> seconds."""
    m = _DURATION.match(text)
    if not m:
        raise click.BadParameter(f"not a duration: {text!r} (examples: 0, 90s, 30m, 1h, 2d)")
    seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
    if seconds > MAX_DURATION_SECONDS:
        raise click.BadParameter(f"{text!r} is too long: at most 100 years (36500d)")
    return seconds


MAX_DURATION_SECONDS = 36500 * 86400


@click.command("gc")
@click.option(
    "--database-url",
    envvar="LINEAGE_DATABASE_URL",
    default=None,
    help="The server's database. [env LINEAGE_DATABASE_URL; default: SQLite under --data-dir]",
)
@click.option(
    "--blob-store",
    envvar="LINEAGE_BLOB_STORE",
    default=None,
    help="The server's blob store. [env LINEAGE_BLOB_STORE; default: <data-dir>/blobs]",
)
@click.option(
    "--data-dir",
    envvar="LINEAGE_DATA_DIR",
    default="lineage-data",
    show_default=True,
    help="Where embedded data lives (for the defaults above).",
)
@click.option("--delete", is_flag=True, help="Delete the garbage. Without it: only report.")
@click.option(
    "--grace",
    default="1h",
    show_default=True,
    help="Keep unreferenced objects younger than this (uploads not yet recorded).",
)
@click.option("--quiet", is_flag=True, help="Totals only, not every object.")
def gc_command(
    database_url: str | None,
    blob_store: str | None,
    data_dir: str,
    delete: bool,
    grace: str,
    quiet: bool,
) -> None:
    """Remove blobs no live artifact references: objects of artifacts in state DELETED
    or of no artifact at all. Dry run by default: prints what it would free."""
    from lineage.store.engine import (
        default_database_url,
        describe_url,
        driver_reason,
        make_engine,
    )

    from .factory import open_blob_store
    from .gc import collect_garbage

    grace_seconds = parse_duration(grace)
    url = database_url or default_database_url(data_dir)
    store_url = blob_store or (Path(data_dir).resolve() / "blobs").as_uri()
    try:
        engine = make_engine(url, existing=True)  # first: no blob directory for nothing
        store = open_blob_store(store_url, check=True)
        try:
            inspector = inspect(engine)
            missing = [
                t
                for t in ("Artifact", "ArtifactProperty", "lineage_blob")
                if not inspector.has_table(t)
            ]
            if missing:
                click.echo(
                    f"lineage gc: database {describe_url(url)} has no {', '.join(missing)} "
                    "table: not a Lineage database yet (run `lineage migrate` first)",
                    err=True,
                )
                sys.exit(2)
            report = collect_garbage(engine, store, dry_run=not delete, grace=grace_seconds)
        finally:
            engine.dispose()
            store.close()
    except LineageError as exc:
        click.echo(f"lineage gc: {exc.message}", err=True)
        sys.exit(2)
    except DBAPIError as exc:
        click.echo(f"lineage gc: database {describe_url(url)}: {driver_reason(exc)}", err=True)
        sys.exit(2)
    click.echo(report.render(verbose=not quiet))
    if report.errors:
        sys.exit(1)


COMMANDS = [gc_command]
