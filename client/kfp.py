"""KFP v2 with one line: ``lineage.autolog_kfp()`` records every step of KFP pipelines.

The recording happens inside each step's own process (``python -m kfp.dsl.executor_main``,
run with ``_KFP_RUNTIME=true`` by ``kfp.local``'s SubprocessRunner and by KFP clusters
alike): a ``.pth`` file in the step's Python environment loads :mod:`lineage.client.kfp_hook`
there, which wraps ``kfp.dsl.executor.Executor.execute`` and reports the component as a
step (inputs, outputs with their metadata, parameters, state) to ``LINEAGE_URL``.
The ``.pth`` line costs one environment lookup in every other Python process.

* Locally: ``lineage.autolog_kfp(url)`` writes the ``.pth`` into this interpreter's
  site-packages (once) and sets ``LINEAGE_URL`` and ``LINEAGE_KFP=1`` for the step
  processes it starts. Use ``kfp.local.SubprocessRunner(use_venv=False)``.
* On a cluster: install ``lineage`` in the step image and run ``lineage kfp-hook install``
  there (e.g. in the Dockerfile); give the tasks ``LINEAGE_URL`` and ``LINEAGE_KFP=1``.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

from . import config

PTH_NAME = "lineage_kfp_hook.pth"
ENV_ENABLE = "LINEAGE_KFP"
# One line, run by `site` at every interpreter start: cheap unless in a KFP step.
PTH_LINE = (
    'import os; exec("try:\\n import lineage.client.kfp_hook as h\\n h.install()\\n'
    "except Exception as e:\\n print('lineage: KFP hook not loaded:', e)\") "
    "if os.environ.get('_KFP_RUNTIME') == 'true' and "
    "os.environ.get('LINEAGE_KFP', '').lower() in ('1', 'true', 'yes', 'on') else None\n"
)


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def hook_path(target: str | os.PathLike[str] | None = None) -> Path:
    return (Path(target) if target is not None else site_packages()) / PTH_NAME


def install_hook(target: str | os.PathLike[str] | None = None) -> Path:
    """Write the ``.pth`` file into ``target`` (default: this interpreter's site-packages)."""
    path = hook_path(target)
    try:
        if path.exists() and path.read_text() == PTH_LINE:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(PTH_LINE)
        os.replace(tmp, path)
    except OSError as exc:
        raise PermissionError(
            f"cannot write the KFP hook {path}: {exc}. Run `lineage kfp-hook install` as the "
            "owner of that Python environment (or in the step image's Dockerfile)."
        ) from exc
    return path


def uninstall_hook(target: str | os.PathLike[str] | None = None) -> bool:
    path = hook_path(target)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def hook_installed(target: str | os.PathLike[str] | None = None) -> bool:
    path = hook_path(target)
    return path.exists() and path.read_text() == PTH_LINE


def autolog_kfp(
    url: str | os.PathLike[str] | None = None, *, install: bool = True
) -> config.Target:
    """Record the KFP pipelines this process runs (``kfp.local``), each step in its own
    process, to ``url`` (default: ``LINEAGE_URL``, else ``./lineage-data``)."""
    target = config.parse_target(url)
    if install:
        install_hook()
    os.environ[config.ENV_URL] = target.url
    os.environ[ENV_ENABLE] = "1"
    os.environ.setdefault(config.ENV_SPOOL_DIR, str(config.spool_dir()))
    return target
