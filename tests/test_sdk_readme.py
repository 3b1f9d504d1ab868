"""The README's SDK examples (the ```python blocks between <!-- SDK --> and <!-- /SDK -->)
run, in order, as one script against a running server."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from test_kfp_local import make_overlay_venv
from test_sdk_common import ROOT, Server, props

pytest.importorskip("kfp")


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    start, end = text.index("<!-- SDK -->"), text.index("<!-- /SDK -->")
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)


def test_readme_has_the_examples() -> None:
    blocks = readme_blocks()
    assert len(blocks) >= 4
    joined = "\n".join(blocks)
    for name in ("@lineage.step", "start_run", "lineage.step(", "autolog_kfp", "CACHED"):
        assert name in joined


def test_readme_examples_run(tmp_path: Path) -> None:
    # Until lineage/__init__.py re-exports the SDK, `import lineage.client` makes
    # `lineage.connect` & co. resolve (see test_sdk_footprint).
    script = tmp_path / "readme.py"
    script.write_text("import lineage.client\n\n" + "\n\n".join(readme_blocks()))
    python = make_overlay_venv(tmp_path / "venv")  # autolog_kfp installs its hook there
    server = Server(tmp_path / "server").start()
    try:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "_KFP"))},
            "LINEAGE_URL": server.url,
            "LINEAGE_REPORT_SPOOL_DIR": str(tmp_path / "spool"),
            "LINEAGE_CACHE_DIR": str(tmp_path / "downloads"),
        }
        result = subprocess.run(
            [str(python), str(script)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert result.stdout.startswith("COMPLETE ")
        store = server.store()
        runs = {c.name for c in store.list_all("context") if c.type == "system.PipelineRun"}
        assert {"first", "second", "manual"} <= runs
        assert any(r.startswith("adder-") for r in runs)
        tasks = sorted(
            (props(e)["task_name"], e.last_known_state) for e in store.list_all("execution")
        )
        assert tasks == sorted(
            [
                ("prepare", 3),
                ("train", 3),
                ("prepare", 5),
                ("train", 3),
                ("evaluate", 3),
                ("add", 3),
            ]
        )
        store.close()
    finally:
        server.stop()
