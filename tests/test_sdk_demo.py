"""``lineage demo``: a real scikit-learn pipeline recorded several times, into the embedded
store (what ``scripts/serve.sh`` does before ``lineage serve``) or into a server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_sdk_common import ROOT, Server, blobs_served, props

pytest.importorskip("sklearn")


def _lineage(*args: str, cwd: Path, env_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")},
        "LINEAGE_REPORT_SPOOL_DIR": str(env_dir / "spool"),
        "LINEAGE_CACHE_DIR": str(env_dir / "downloads"),
    }
    return subprocess.run(
        [sys.executable, "-m", "lineage.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )


def _check_demo_data(store: Any, runs: int, blobs: bool = True) -> None:
    contexts = store.list_all("context")
    assert [c.name for c in contexts if c.type == "system.Pipeline"] == ["breast-cancer-classifier"]
    run_contexts = [c for c in contexts if c.type == "system.PipelineRun"]
    assert len(run_contexts) == runs
    states: list[tuple[str, int]] = []
    for ctx in run_contexts:
        execs = store.list_all("execution", context_id=ctx.id)
        states += [(props(e)["task_name"], e.last_known_state) for e in execs]
    assert sorted(states).count(("prepare", 5)) == runs - 1  # CACHED after the first run
    assert ("train", 3) in states and ("evaluate", 3) in states
    artifacts = store.list_all("artifact")
    kinds = {a.type for a in artifacts}
    assert {
        "system.Dataset",
        "system.Model",
        "system.Metrics",
        "system.ClassificationMetrics",
    } <= kinds
    metrics = [props(a) for a in artifacts if a.type == "system.Metrics"]
    assert len(metrics) == runs
    for m in metrics:
        assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(m)
        assert 0.8 < m["accuracy"] <= 1.0
    for a in artifacts:
        if a.type != "system.ClassificationMetrics":
            continue
        p = props(a)
        matrix = p["confusionMatrix"]["struct"]
        assert [s["displayName"] for s in matrix["annotationSpecs"]] == ["malignant", "benign"]
        assert len(matrix["rows"]) == 2
        roc = p["confidenceMetrics"]["list"]
        assert 2 < len(roc) <= 40
        assert all(0.0 <= point["confidenceThreshold"] <= 1.0 for point in roc)
    models = [a for a in artifacts if a.type == "system.Model"]
    assert all(props(m)["framework"] == "scikit-learn" for m in models)
    if blobs:  # the model's bytes are in the blob store
        assert all("lineage_sha256" in props(m) for m in models)


def test_demo_into_the_embedded_store_then_served(tmp_path: Path) -> None:
    """As scripts/serve.sh: `lineage demo` (no arguments) in the repository root, then
    `lineage serve` on the default data dir sees the runs."""
    assert _lineage("demo", "--help", cwd=tmp_path, env_dir=tmp_path).returncode == 0
    result = _lineage("demo", "--runs", "2", cwd=tmp_path, env_dir=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "recorded 2 runs of pipeline 'breast-cancer-classifier'" in result.stdout
    assert "test ROC AUC" in result.stdout
    data = tmp_path / "lineage-data"
    assert (data / "metadata.sqlite").is_file() and (data / "blobs").is_dir()

    from lineage.store.engine import default_database_url

    server = Server(data)
    server.process.database_url = default_database_url(data)
    server.start()
    try:
        client = server.process.client()
        executions = client.get_executions()
        assert len(executions) == 6
        store = server.store()
        _check_demo_data(store, runs=2)
        store.close()
    finally:
        server.stop()


def test_demo_into_a_server(tmp_path: Path) -> None:
    server = Server(tmp_path / "server").start()
    try:
        result = _lineage(
            "demo", "--url", server.url, "--runs", "3", "--quiet", cwd=tmp_path, env_dir=tmp_path
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("\n") == 1  # --quiet: the summary only
        store = server.store()
        _check_demo_data(store, runs=3, blobs=blobs_served(server.url))
        store.close()
    finally:
        server.stop()


def test_demo_refuses_both_targets(tmp_path: Path) -> None:
    result = _lineage(
        "demo", "--url", "grpc://127.0.0.1:1", "--data-dir", "x", cwd=tmp_path, env_dir=tmp_path
    )
    assert result.returncode == 2 and "not both" in result.stderr
    assert ROOT.is_dir()


def test_demo_refuses_a_bad_run_count(tmp_path: Path) -> None:
    """--runs -1 recorded 4 runs (a slice) and --runs 0 an empty summary."""
    for runs in ("0", "-1"):
        result = _lineage("demo", "--runs", runs, "--quiet", cwd=tmp_path, env_dir=tmp_path)
        assert result.returncode == 2 and "--runs" in result.stderr, result.stderr
    assert not (tmp_path / "lineage-data").exists()


def test_demo_to_an_unreachable_server_says_the_reports_wait(tmp_path: Path) -> None:
    """The summary said "recorded ... in the Lineage server" while everything was spooled."""
    result = _lineage(
        "demo",
        "--url",
        "grpc://127.0.0.1:1",
        "--runs",
        "1",
        "--quiet",
        cwd=tmp_path,
        env_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "still waiting in the spool" in result.stdout and "lineage sync" in result.stdout
