"""Nothing lost: reports spool to local disk while the server is down and are replayed,
exactly once, on the next connection or by ``lineage sync``; a full spool warns."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sdk_common import (  # noqa: F401
    ROOT,
    Server,
    executions,
    free_port,
    props,
    reset_sdk,
    sdk_env,
)

import lineage
import lineage.client  # noqa: F401 - installs lineage.connect & co.
from lineage import Dataset, Input, Metrics, Model, Output, errors
from lineage.client import SpoolFullWarning, SpoolWarning
from lineage.model import EventType, ExecutionState

COMPLETE = int(ExecutionState.COMPLETE)


@lineage.step(cache=False)
def produce(data: Output[Dataset], rows: int = 3) -> None:
    Path(data.path).write_text("r\n" * rows)


@lineage.step(cache=False)
def consume(data: Input[Dataset], model: Output[Model], metrics: Output[Metrics]) -> int:
    lines = len(Path(data.path).read_text().splitlines())
    Path(model.path).write_text(f"model of {lines} rows")
    metrics.log_metric("rows", lines)
    return lines


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def srv(tmp_path: Path, port: int) -> Iterator[Server]:
    running = Server(tmp_path / "server", port=port).start()
    yield running
    running.stop()


def _run_counts(store: Any, run: str) -> list[tuple[int, str]]:
    [ctx] = [c for c in store.list_all("context") if c.name == run]
    return sorted(
        (e.last_known_state, props(e)["task_name"])
        for e in store.list_all("execution", context_id=ctx.id)
    )


def _sync_cli(env_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LINEAGE_REPORT_SPOOL_DIR": str(env_dir / "spool")}
    return subprocess.run(
        [sys.executable, "-m", "lineage.cli", "sync", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )


def test_kill_server_mid_run_then_replay_exactly_once(
    sdk_env: Path,  # noqa: F811
    srv: Server,
    port: int,
) -> None:
    spool = sdk_env / "spool" / "pending"
    lineage.connect(srv.url)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with lineage.start_run(pipeline="offline", name="offline-1"):
            first = produce(rows=2)
            consume(data=first.outputs["data"])

            @lineage.step(cache=False)
            def killed_midway(data: Input[Dataset], out: Output[Dataset]) -> None:
                srv.kill()  # the server dies while this step runs
                Path(out.path).write_text(Path(data.path).read_text() + "more\n")

            middle = killed_midway(data=first.outputs["data"])
            later = produce(rows=5)  # the server is down for the whole step
            last = consume(data=later.outputs["data"])
    assert any(issubclass(w.category, SpoolWarning) for w in caught)
    assert (
        [w for w in caught if issubclass(w.category, SpoolWarning)][0]
        .message.args[0]
        .count("lineage sync")
    )
    # killed_midway: RUNNING delivered, final spooled; later and last: both reports spooled.
    assert middle.execution_id is not None and last.execution_id is None
    assert len(list(spool.glob("*.json"))) == 5
    assert last.output == 5  # the steps ran normally meanwhile
    saved = sdk_env / "saved-spool"
    shutil.copytree(sdk_env / "spool", saved)

    # The server comes back (same port, same database); the next connection replays.
    restarted = Server(srv.data_dir, port=port).start()
    try:
        reset_sdk()
        client = lineage.connect(restarted.url)
        assert client.last_replay is not None and client.last_replay.sent == 5
        assert list(spool.glob("*.json")) == []
        store = restarted.store()
        counts = _run_counts(store, "offline-1")
        assert counts == sorted(
            [(COMPLETE, n) for n in ("produce", "consume", "killed_midway", "produce", "consume")]
        )
        # The spooled consume read the spooled produce's output: linked by lineage.
        execs = {props(e)["task_name"]: e for e in executions(store) if e.id > middle.execution_id}
        events = store.get_events_by_execution_ids([e.id for e in executions(store)])
        produced = {
            e.artifact_id
            for e in events
            if e.execution_id == execs["produce"].id and e.type == EventType.OUTPUT
        }
        consumed = {
            e.artifact_id
            for e in events
            if e.execution_id == execs["consume"].id and e.type == EventType.INPUT
        }
        assert produced == consumed and len(produced) == 1
        [metrics_event] = [
            e
            for e in events
            if e.execution_id == execs["consume"].id
            and e.type == EventType.OUTPUT
            and e.path[0].key == "metrics"
        ]
        [metrics_artifact] = store.get_nodes_by_id("artifact", [metrics_event.artifact_id])
        assert props(metrics_artifact)["rows"] == 5.0

        # A second replay of the very same reports (a copy of the spool) writes nothing.
        shutil.rmtree(sdk_env / "spool")
        shutil.copytree(saved, sdk_env / "spool")
        result = _sync_cli(sdk_env)
        assert result.returncode == 0, result.stderr
        assert "replayed 5 report(s), 5 of them already recorded" in result.stdout
        assert _run_counts(store, "offline-1") == counts
        assert len(executions(store)) == 5
        store.close()
    finally:
        restarted.stop()


def test_sync_cli_to_another_url_and_nothing_waiting(sdk_env: Path, tmp_path: Path) -> None:  # noqa: F811
    dead = f"grpc://127.0.0.1:{free_port()}"
    with pytest.warns(SpoolWarning, match="unreachable"):
        lineage.connect(dead)
    with pytest.warns(SpoolWarning):
        with lineage.start_run(pipeline="elsewhere", name="elsewhere-1"):
            produce(rows=1)
    # Still unreachable: sync says so and fails.
    result = _sync_cli(sdk_env)
    assert result.returncode == 1 and "still waiting" in result.stdout
    # Sent to a server at another address with --url.
    other = Server(tmp_path / "other").start()
    try:
        result = _sync_cli(sdk_env, "--url", other.url)
        assert result.returncode == 0, result.stderr
        assert "replayed 2 report(s)" in result.stdout
        store = other.store()
        assert _run_counts(store, "elsewhere-1") == [(COMPLETE, "produce")]
        store.close()
        assert "replayed 0 report(s)" in _sync_cli(sdk_env).stdout
    finally:
        other.stop()


def test_full_spool_quota_warns_and_keeps_the_report(
    sdk_env: Path,  # noqa: F811
    srv: Server,
    port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lineage.connect(srv.url)
    srv.kill()
    monkeypatch.setenv("LINEAGE_REPORT_SPOOL_MAX_MB", "0.01")  # 10 kB
    reset_sdk()
    with pytest.warns(SpoolWarning):
        client = lineage.connect(srv.url)
    with pytest.warns(SpoolFullWarning, match="LINEAGE_REPORT_SPOOL_MAX_MB") as caught:
        with lineage.start_run(pipeline="full", name="full-1"):
            produce(rows=20_000)  # 40 kB of output: over the quota
    message = str(caught[0].message)
    assert "kept in memory" in message and "free space" in message
    assert client.outbox.held == 2
    # The server comes back before the process ends: the next report carries them along.
    restarted = Server(srv.data_dir, port=port).start()
    try:
        with lineage.start_run(pipeline="full", name="full-2"):
            produce(rows=1)
        assert client.outbox.held == 0
        store = restarted.store()
        assert _run_counts(store, "full-1") == [(COMPLETE, "produce")]
        assert _run_counts(store, "full-2") == [(COMPLETE, "produce")]
        store.close()
    finally:
        restarted.stop()


def test_a_server_back_after_an_outage_is_reached_by_the_next_call(
    sdk_env: Path,  # noqa: F811
    srv: Server,
    port: int,
) -> None:
    """Seconds of failed calls leave grpc's channel backing off; the call after the server
    is back must still reach it (it failed for 6-9 s after outages of 3-10 s)."""
    client = lineage.connect(srv.url)
    transport = client.outbox.transport
    srv.kill()
    outage_ends = time.monotonic() + 3
    while time.monotonic() < outage_ends:
        with pytest.raises(errors.Unavailable):
            transport.find_cached("no-such-key")
    restarted = Server(srv.data_dir, port=port).start()
    try:
        assert transport.find_cached("no-such-key") is None
    finally:
        restarted.stop()


@contextlib.contextmanager
def _tiny_disk(path: Path) -> Iterator[bool]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        os.geteuid() == 0
        and shutil.which("mount") is not None
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)],
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_spool_disk_full_and_lost_at_exit_warns(tmp_path: Path) -> None:
    """A real full disk (a 64 kB tmpfs as the spool; a quota where mounting is not
    allowed), server unreachable, process exits: the report is declared LOST, loudly."""
    spool = tmp_path / "spool"
    with _tiny_disk(spool) as mounted:
        script = tmp_path / "step.py"
        script.write_text(
            "import lineage, lineage.client\n"
            "from pathlib import Path\n"
            "from lineage import Output, Dataset\n"
            "@lineage.step\n"
            "def big(out: Output[Dataset]) -> None:\n"
            "    Path(out.path).write_bytes(b'x' * 200_000)\n"
            "with lineage.start_run(pipeline='disk', name='disk-1'):\n"
            "    big()\n"
            "print('step finished')\n"
        )
        env = {
            **os.environ,
            "LINEAGE_URL": f"grpc://127.0.0.1:{free_port()}",
            "LINEAGE_REPORT_SPOOL_DIR": str(spool),
            "LINEAGE_CACHE_DIR": str(tmp_path / "downloads"),
            "LINEAGE_TIMEOUT": "2",
        }
        if not mounted:
            env["LINEAGE_REPORT_SPOOL_MAX_MB"] = "0.06"
        result = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stderr
    assert "step finished" in result.stdout
    assert "the spool cannot take it" in result.stderr
    assert ("disk is full" in result.stderr) if mounted else ("over its limit" in result.stderr)
    assert "LOST (step 'big' of run 'disk-1')" in result.stderr


def test_refused_report_goes_to_failed(sdk_env: Path, srv: Server, port: int) -> None:  # noqa: F811
    """A spooled report the store refuses on replay is set aside with its reason (and the
    others still go through)."""
    from lineage.client.spool import Spool
    from lineage.steps import ArtifactRecord, StepArtifact, StepReport

    spool = Spool(sdk_env / "spool", 10**9)
    bad = StepReport(
        idempotency_key="bad-1",
        pipeline="p",
        run="refused",
        step="s",
        state=COMPLETE,
        inputs=[StepArtifact("x", ArtifactRecord(id=424242))],
    )
    good = StepReport(
        idempotency_key="good-1", pipeline="p", run="refused", step="t", state=COMPLETE
    )
    spool.add(srv.url, bad, [], "step 's'")
    spool.add(srv.url, good, [], "step 't'")
    with pytest.warns(SpoolWarning, match="refused by the store"):
        client = lineage.connect(srv.url)
    assert client.last_replay is not None
    assert (client.last_replay.sent, client.last_replay.failed) == (1, 1)
    [failed] = list((sdk_env / "spool" / "failed").glob("*.reason.txt"))
    assert "no artifact with id 424242" in failed.read_text()


def test_sync_reports_unreadable_spool_entries(sdk_env: Path) -> None:  # noqa: F811
    """A corrupt entry is moved to failed/ and sync says so and fails; it used to be moved
    silently while sync printed "replayed 0 report(s)" and exited 0."""
    pending = sdk_env / "spool" / "pending"
    pending.mkdir(parents=True)
    (pending / "00000000000000000001-1-000001.json").write_text('{"url": "grpc://x", "rep')
    (pending / "00000000000000000002-1-000002.json").write_text('{"url": "x", "report": [1]}')
    result = _sync_cli(sdk_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 refused" in result.stdout
    assert result.stderr.count("unreadable spool entry") == 2
    assert "Traceback" not in result.stderr
    failed = sdk_env / "spool" / "failed"
    assert (failed / "00000000000000000001-1-000001.json").exists()
    assert not list(pending.iterdir())
