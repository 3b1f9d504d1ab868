"""A real ``lineage serve`` process for tests: ephemeral ports, killed at the end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

BANNER = re.compile(r"MLMD gRPC API listening on ([\d.]+):(\d+)")
HTTP_BANNER = re.compile(r"HTTP \(GraphQL, UI\) listening on http://([\d.]+):(\d+)/")


class LineageServer:
    """``lineage serve`` in a child process group, on ports the OS picks."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *,
        http: bool = False,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        entry: tuple[str, ...] = ("-m", "lineage.cli"),
    ) -> None:
        """``entry``: what runs ``serve`` (benchmarks put an instrumented wrapper here)."""
        self.database_url = database_url
        self.data_dir = Path(data_dir)
        self.http = http
        self.extra_args = extra_args
        self.env = env or {}
        self.entry = entry
        self.process: subprocess.Popen[str] | None = None
        self.port = 0
        self.http_port = 0
        self.output: list[str] = []
        self.log_path = self.data_dir / "server.log"
        self.startup_seconds = 0.0

    def start(self, timeout: float = 60.0) -> LineageServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            *self.entry,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--http-port",
            "0",
            "--data-dir",
            str(self.data_dir),
            "--database-url",
            self.database_url,
            *self.extra_args,
        ]
        if not self.http:
            command.append("--no-http")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        log = open(self.log_path, "a")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            start_new_session=True,
        )
        self._log = log
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"lineage serve exited with {self.process.returncode}: {self.log_text()}"
                    )
                continue
            self.output.append(line)
            if match := BANNER.search(line):
                self.port = int(match.group(2))
            if match := HTTP_BANNER.search(line):
                self.http_port = int(match.group(2))
            if "artifact blobs in" in line:
                break
        else:
            self.kill()
            raise RuntimeError(f"lineage serve did not start in {timeout}s: {self.log_text()}")
        self.startup_seconds = time.perf_counter() - started
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, **config: Any) -> Any:
        from ml_metadata.metadata_store import metadata_store
        from ml_metadata.proto import metadata_store_pb2

        client_config = metadata_store_pb2.MetadataStoreClientConfig(
            host="127.0.0.1", port=self.port, **config
        )
        return metadata_store.MetadataStore(client_config)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait for a clean exit; kill if it does not come."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
