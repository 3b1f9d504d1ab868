"""``lineage sync``, ``lineage demo`` and ``lineage kfp-hook``: the SDK's commands.

They join the ``lineage`` command through ``COMMANDS`` (see ``lineage/cli.py``) and need
only the base install.
"""

from __future__ import annotations

import sys
import warnings

import click

from lineage.errors import LineageError


def _fail(message: str) -> None:
    click.echo(f"lineage: {message}", err=True)
    sys.exit(2)


@click.command()
@click.option(
    "--url",
    default=None,
    help="Send every waiting report to this store (grpc://host:port or a directory) "
    "instead of the one it was meant for.",
)
@click.option(
    "--spool-dir",
    default=None,
    help="The spool to replay. [env LINEAGE_REPORT_SPOOL_DIR; default ~/.local/state/lineage/spool]",
)
def sync(url: str | None, spool_dir: str | None) -> None:
    """Replay step reports spooled while the store was unreachable (each exactly once)."""
    from lineage.client import config
    from lineage.client.client import sync as do_sync

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            stats = do_sync(url, spool_dir=spool_dir)
        except LineageError as exc:
            _fail(exc.message)
    where = spool_dir or config.spool_dir()
    click.echo(f"lineage sync: {stats.describe()} (spool {where})")
    for failure in stats.failures:
        click.echo(f"  refused: {failure}", err=True)
    if stats.left or stats.failed:
        sys.exit(1)


@click.command()
@click.option(
    "--url",
    default=None,
    help="A server (grpc://host:port) to record into instead of the embedded store.",
)
@click.option(
    "--data-dir",
    default=None,
    help="Embedded store directory (what `lineage serve --data-dir` serves). [default ./lineage-data]",
)
@click.option(
    "--runs", type=click.IntRange(min=1), default=None, help="How many runs (parameter settings)."
)
@click.option("--quiet", is_flag=True, help="Print only the summary.")
def demo(url: str | None, data_dir: str | None, runs: int | None, quiet: bool) -> None:
    """Record a small real scikit-learn training pipeline, several runs, for a fresh store."""
    if url and data_dir:
        _fail("give --url or --data-dir, not both")
    try:
        from lineage.client.demo.pipeline import run_demo
    except ImportError as exc:  # pragma: no cover - scikit-learn missing
        _fail(f"the demo needs scikit-learn ({exc}): pip install 'lineage[demo]'")
    try:
        summary = run_demo(url=url or data_dir, runs=runs, echo=None if quiet else click.echo)
    except ImportError as exc:
        _fail(f"the demo needs scikit-learn ({exc}): pip install 'lineage[demo]'")
    except LineageError as exc:
        _fail(exc.message)
    click.echo(summary)


@click.group(name="kfp-hook")
def kfp_hook() -> None:
    """The .pth hook that records KFP steps inside their own processes."""


@kfp_hook.command(name="install")
@click.option("--target", default=None, help="site-packages directory [default: this Python's]")
def kfp_hook_install(target: str | None) -> None:
    """Install the hook (active only in KFP steps with LINEAGE_KFP=1)."""
    from lineage.client.kfp import install_hook

    try:
        path = install_hook(target)
    except PermissionError as exc:
        _fail(str(exc))
    click.echo(f"installed {path}; set LINEAGE_URL and LINEAGE_KFP=1 on the KFP tasks")


@kfp_hook.command(name="uninstall")
@click.option("--target", default=None, help="site-packages directory [default: this Python's]")
def kfp_hook_uninstall(target: str | None) -> None:
    from lineage.client.kfp import hook_path, uninstall_hook

    removed = uninstall_hook(target)
    click.echo(f"{'removed' if removed else 'not installed:'} {hook_path(target)}")


@kfp_hook.command(name="status")
@click.option("--target", default=None, help="site-packages directory [default: this Python's]")
def kfp_hook_status(target: str | None) -> None:
    from lineage.client.kfp import hook_installed, hook_path

    state = "installed" if hook_installed(target) else "not installed"
    click.echo(f"{hook_path(target)}: {state}")


COMMANDS = [sync, demo, kfp_hook]
