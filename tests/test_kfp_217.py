"""KFP 2.17 (protobuf 6) records too: a fresh venv with ``kfp==2.17.*`` and this project's
base install (no server dependencies) runs the same ``kfp.local`` pipeline against a
``lineage serve`` that itself runs on protobuf 4 (beside ml-metadata).

Slow (pip installs kfp and its dependencies from the package index); marked ``slow`` and
run by CI like every test. Without network access it skips, or fails with ``CI=true``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_kfp_local import check_recorded_pipeline, run_pipeline
from test_packaging import build_wheel
from test_sdk_common import Server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def test_kfp_217_protobuf_6_pipeline_is_recorded(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    venv = tmp_path / "kfp217"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "kfp==2.17.*",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    if install.returncode != 0:
        reason = f"cannot pip install kfp 2.17: {install.stderr.strip()[-800:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)

    versions = subprocess.run(
        [
            str(python),
            "-c",
            "import kfp, google.protobuf, sys, lineage, lineage.client;"
            "import lineage.client.grpc_transport, lineage.client.runs;"
            "print(kfp.__version__, google.protobuf.__version__);"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'ml_metadata', 'grpc_health', 'strawberry', 'starlette', 'uvicorn', 'psycopg'}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,  # not the source tree: the installed wheel
    ).stdout.split("\n")
    kfp_version, protobuf_version = versions[0].split()
    assert kfp_version.startswith("2.17.")
    assert protobuf_version.startswith("6.")
    assert versions[1] == "[]"  # the base install pulled no server dependency

    server = Server(tmp_path / "server").start()
    try:
        result = run_pipeline(python, server.url, tmp_path / "root", "ok", tmp_path)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert (result.stdout + result.stderr).count("lineage: recorded KFP step") == 2
        store = server.store()
        check_recorded_pipeline(store, tmp_path / "root")
        store.close()
    finally:
        server.stop()
