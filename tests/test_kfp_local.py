"""KFP v2 (kfp 2.13, protobuf 4): a real ``kfp.local`` SubprocessRunner pipeline is
recorded with one line of setup, each component inside its own process.

The step processes must run a Python whose site-packages hold the hook's ``.pth``. So as
not to write into the shared ``.venv``, the tests use an overlay venv: a bare venv whose
own ``.pth`` adds ``.venv``'s site-packages (so it sees kfp and lineage), and into which
``lineage.autolog_kfp()`` installs the hook.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import pytest
from test_sdk_common import ROOT, Server, free_port, props

pytest.importorskip("kfp")

PIPELINE_SCRIPT = textwrap.dedent(
    '''
    """A KFP v2 pipeline run with kfp.local; argv: lineage URL, pipeline root, mode."""
    import sys

    import lineage
    import lineage.client  # until lineage/__init__.py re-exports the SDK itself

    lineage.autolog_kfp(sys.argv[1])  # the one line

    from kfp import dsl, local
    from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Model, Output

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=sys.argv[2])


    @dsl.component
    def make(n: int, out: Output[Dataset]):
        with open(out.path, "w") as f:
            f.write("x\\n" * n)
        out.metadata["rows"] = n


    @dsl.component
    def fit(
        data: Input[Dataset],
        model: Output[Model],
        m: Output[Metrics],
        cm: Output[ClassificationMetrics],
        lr: float = 0.1,
    ) -> str:
        text = open(data.path).read()
        with open(model.path, "w") as f:
            f.write(text.upper())
        m.log_metric("lines", len(text.splitlines()))
        cm.log_confusion_matrix(["a", "b"], [[1, 2], [3, 4]])
        cm.log_roc_curve([0.0, 0.5, 1.0], [0.0, 0.8, 1.0], [1.0, 0.5, 0.0])
        return "ok"


    @dsl.component
    def explode(data: Input[Dataset]):
        raise ValueError("bad data")


    @dsl.pipeline(name="kfp-demo")
    def demo(n: int = 3):
        made = make(n=n)
        fit(data=made.outputs["out"], lr=0.5)


    @dsl.pipeline(name="kfp-fails")
    def fails():
        explode(data=make(n=1).outputs["out"])


    if sys.argv[3] == "ok":
        demo(n=5)
    else:
        try:
            fails()
        except RuntimeError as exc:
            print("pipeline failed:", exc)
    print("pipeline done")
    '''
)


def make_overlay_venv(where: Path, base_python: str | None = None) -> Path:
    """A venv that sees the current environment's packages; its python path."""
    python = base_python or getattr(sys, "_base_executable", sys.executable)
    subprocess.run([python, "-m", "venv", "--without-pip", str(where)], check=True)
    site = Path(
        subprocess.run(
            [
                str(where / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    ours = sysconfig.get_paths()["purelib"]
    (site / "00_lineage_test_overlay.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return where / "bin" / "python"


def run_pipeline(
    python: Path, url: str, root: Path, mode: str, env_dir: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    script = env_dir / "pipeline.py"
    script.write_text(PIPELINE_SCRIPT)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "_KFP"))},
        "LINEAGE_REPORT_SPOOL_DIR": str(env_dir / "spool"),
        "LINEAGE_CACHE_DIR": str(env_dir / "downloads"),
        "LINEAGE_TIMEOUT": "10",
        "PYTHONPATH": "",
    }
    return subprocess.run(
        [str(python), str(script), url, str(root), mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=env_dir,
    )


def check_recorded_pipeline(store: Any, pipeline_root: Path) -> None:
    """What every KFP recording must show (shared with the kfp 2.17 test)."""
    contexts = {(c.type, c.name.split("-2")[0]) for c in store.list_all("context")}
    assert ("system.Pipeline", "kfp-demo") in contexts
    assert ("system.PipelineRun", "kfp-demo") in contexts  # kfp-demo-<timestamp>
    [run_ctx] = [
        c
        for c in store.list_all("context")
        if c.type == "system.PipelineRun" and c.name.startswith("kfp-demo-")
    ]
    execs = {props(e)["task_name"]: e for e in store.list_all("execution", context_id=run_ctx.id)}
    assert set(execs) == {"make", "fit"}
    assert all(e.last_known_state == 3 for e in execs.values())  # COMPLETE
    assert props(execs["make"])["inputs"] == {"n": 5.0}
    assert props(execs["fit"])["inputs"] == {"lr": 0.5}
    assert props(execs["fit"])["outputs"] == {"Output": "ok"}
    events = store.get_events_by_execution_ids([e.id for e in execs.values()])
    by = {(e.execution_id, e.type, e.path[0].key): e.artifact_id for e in events}
    made = by[(execs["make"].id, 4, "out")]
    assert by[(execs["fit"].id, 3, "data")] == made  # linked through the artifact's URI
    artifacts = {
        a.id: a for a in store.get_nodes_by_id("artifact", [e.artifact_id for e in events])
    }
    dataset = artifacts[made]
    assert dataset.type == "system.Dataset"
    assert dataset.uri.startswith(str(pipeline_root)) and dataset.uri.endswith("/make/out")
    assert props(dataset)["rows"] == 5.0 and props(dataset)["display_name"] == "out"
    metrics = artifacts[by[(execs["fit"].id, 4, "m")]]
    assert metrics.type == "system.Metrics" and props(metrics)["lines"] == 5.0
    cm = props(artifacts[by[(execs["fit"].id, 4, "cm")]])
    assert cm["confusionMatrix"]["struct"]["rows"] == [{"row": [1.0, 2.0]}, {"row": [3.0, 4.0]}]
    assert cm["confidenceMetrics"]["list"][1] == {
        "confidenceThreshold": 0.5,
        "recall": 0.8,
        "falsePositiveRate": 0.5,
    }
    assert artifacts[by[(execs["fit"].id, 4, "model")]].type == "system.Model"


@pytest.fixture(scope="module")
def overlay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_overlay_venv(tmp_path_factory.mktemp("kfp-venv") / "venv")


def test_kfp_local_pipeline_is_recorded(overlay: Path, tmp_path: Path) -> None:
    server = Server(tmp_path / "server").start()
    try:
        result = run_pipeline(overlay, server.url, tmp_path / "root", "ok", tmp_path)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        output = result.stdout + result.stderr
        assert "pipeline done" in output
        assert output.count("lineage: recorded KFP step") == 2, output[-3000:]
        store = server.store()
        check_recorded_pipeline(store, tmp_path / "root")

        failed = run_pipeline(overlay, server.url, tmp_path / "root", "fail", tmp_path)
        assert "pipeline failed" in failed.stdout, failed.stdout[-3000:] + failed.stderr[-3000:]
        [explode] = [e for e in store.list_all("execution") if props(e)["task_name"] == "explode"]
        assert explode.last_known_state == 4  # FAILED
        assert props(explode)["lineage_error_message"] == "ValueError: bad data"
        store.close()
    finally:
        server.stop()


def test_kfp_steps_spool_when_the_server_is_down(overlay: Path, tmp_path: Path) -> None:
    port = free_port()
    result = run_pipeline(overlay, f"grpc://127.0.0.1:{port}", tmp_path / "root", "ok", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (result.stdout + result.stderr).count("lineage: spooled KFP step") == 2
    assert len(list((tmp_path / "spool" / "pending").glob("*.json"))) == 4
    server = Server(tmp_path / "server", port=port).start()
    try:
        sync = subprocess.run(
            [sys.executable, "-m", "lineage.cli", "sync"],
            capture_output=True,
            text=True,
            env={**os.environ, "LINEAGE_REPORT_SPOOL_DIR": str(tmp_path / "spool")},
            timeout=120,
            cwd=ROOT,
        )
        assert sync.returncode == 0, sync.stdout + sync.stderr
        assert "replayed 4 report(s)" in sync.stdout
        store = server.store()
        check_recorded_pipeline(store, tmp_path / "root")
        store.close()
    finally:
        server.stop()


def test_hook_is_inert_outside_kfp_steps(overlay: Path) -> None:
    from lineage.client.kfp import PTH_NAME

    site = subprocess.run(
        [str(overlay), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        [str(overlay), "-m", "lineage.cli", "kfp-hook", "install"], check=True, capture_output=True
    )
    assert (Path(site) / PTH_NAME).is_file()
    probe = "import sys; print(sorted(m for m in sys.modules if m.startswith(('lineage', 'kfp'))))"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "_KFP"))}
    for extra, expected in (
        ({}, "[]"),
        ({"_KFP_RUNTIME": "true"}, "[]"),
        ({"LINEAGE_KFP": "1"}, "[]"),
    ):
        out = subprocess.run(
            [str(overlay), "-c", probe], capture_output=True, text=True, env={**base, **extra}
        ).stdout.strip()
        assert out == expected, (extra, out)
    # In a KFP step with recording on: the hook is loaded, kfp itself is not (yet).
    out = subprocess.run(
        [str(overlay), "-c", probe],
        capture_output=True,
        text=True,
        env={**base, "_KFP_RUNTIME": "true", "LINEAGE_KFP": "1"},
    ).stdout
    assert "lineage.client.kfp_hook" in out and "'kfp'" not in out
    status = subprocess.run(
        [str(overlay), "-m", "lineage.cli", "kfp-hook", "status"], capture_output=True, text=True
    ).stdout
    assert "installed" in status
