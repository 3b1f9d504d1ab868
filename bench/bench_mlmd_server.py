#!/usr/bin/env python
"""``lineage serve``, instrumented for ``bench_mlmd.py --profile``.

Same command line as ``lineage serve``. Environment:

``BENCH_MLMD_PROFILE_DIR`` (required)
    On exit, ``rpc_stats.json`` is written there: per MLMD RPC, calls, handler wall
    time, SQL statements per call and the statements (normalized) that took the most
    time. Cheap enough to keep timings meaningful.
``BENCH_MLMD_CPROFILE=1``
    Also keep a cProfile of every RPC handler call (whichever gRPC worker thread runs
    it): ``cprofile.prof`` and ``cprofile.txt``. Inflates times 2-3x.
``BENCH_MLMD_PATCH=name,name``
    Experiments, to measure a suggested change before anyone makes it (see PATCHES
    below). Each replaces one function of the store from outside; none is a fix by
    itself (they skip checks or ignore other backends).

Handlers are serialized by a lock while instrumented; the benchmark calls one at a
time anyway. Nothing under ``lineage/`` or ``server/`` is changed: the handlers are
wrapped from outside, and statements are seen through SQLAlchemy's engine events.
"""

from __future__ import annotations

import atexit
import cProfile
import functools
import io
import json
import os
import pstats
import re
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

OUT = Path(os.environ["BENCH_MLMD_PROFILE_DIR"])
CPROFILE = os.environ.get("BENCH_MLMD_CPROFILE") == "1"
_local = threading.local()
_lock = threading.Lock()
_profile = cProfile.Profile() if CPROFILE else None
_rpcs: dict[str, dict[str, Any]] = defaultdict(
    lambda: {"calls": 0, "wall": 0.0, "cpu": 0.0, "statements": defaultdict(lambda: [0, 0.0])}
)
_IN_LIST = re.compile(r"\((?:\s*(?:\?|%s|%\(\w+\)s|\([^()]*\))\s*,?)+\)")
_SPACE = re.compile(r"\s+")


def normalize(statement: str) -> str:
    return _IN_LIST.sub("(?…)", _SPACE.sub(" ", statement).strip())


@event.listens_for(Engine, "before_cursor_execute")
def _before(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
    if getattr(_local, "record", None) is not None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())


@event.listens_for(Engine, "after_cursor_execute")
def _after(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
    record = getattr(_local, "record", None)
    if record is not None and conn.info.get("bench_started"):
        elapsed = time.perf_counter() - conn.info["bench_started"].pop()
        record.append((normalize(statement), elapsed))


@event.listens_for(Engine, "commit")
def _commit(conn: Any) -> None:
    record = getattr(_local, "record", None)
    if record is not None:
        record.append(("COMMIT (counted; its time is in the handler's, not here)", 0.0))


def _wrap(name: str, method: Any) -> Any:
    @functools.wraps(method)
    def handler(self: Any, request: Any, context: Any) -> Any:
        with _lock:
            _local.record = []
            started = time.perf_counter()
            cpu_started = time.thread_time()
            if _profile is not None:
                _profile.enable()
            try:
                return method(self, request, context)
            finally:
                if _profile is not None:
                    _profile.disable()
                wall = time.perf_counter() - started
                cpu = time.thread_time() - cpu_started
                record, _local.record = _local.record, None
                stats = _rpcs[name]
                stats["calls"] += 1
                stats["wall"] += wall
                stats["cpu"] += cpu
                for statement, seconds in record:
                    entry = stats["statements"][statement]
                    entry[0] += 1
                    entry[1] += seconds

    return handler


def _instrument() -> None:
    from lineage.server.mlmd.service import MetadataStoreService

    for name in dir(MetadataStoreService):
        if name[:1].isupper() and callable(getattr(MetadataStoreService, name)):
            setattr(MetadataStoreService, name, _wrap(name, getattr(MetadataStoreService, name)))


# --- experiments -------------------------------------------------------------------------


def _patch_no_exist_checks() -> None:
    """edges._check_exist: skipped (upper bound of the gain from not re-checking ids the
    same PutExecution just created or loaded)."""
    from lineage.store import edges

    edges._check_exist = lambda *args, **kwargs: None


PATCHES: dict[str, Callable[[], None]] = {
    "no_exist_checks": _patch_no_exist_checks,
}


# --- output ------------------------------------------------------------------------------


def _dump() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"patches": _patches(), "cprofile": None, "rpcs": {}}
    for name, stats in _rpcs.items():
        calls = stats["calls"]
        statements = stats["statements"]
        total_statements = sum(count for count, _ in statements.values())
        sql_seconds = sum(seconds for _, seconds in statements.values())
        top = sorted(statements.items(), key=lambda item: (-item[1][1], -item[1][0]))
        summary["rpcs"][name] = {
            "calls": calls,
            "mean_ms": 1000 * stats["wall"] / calls,
            "cpu_ms": 1000 * stats["cpu"] / calls,
            "statements_per_call": total_statements / calls,
            "sql_ms_per_call": 1000 * sql_seconds / calls,
            "top_statements": [
                {"sql": sql, "per_call": count / calls, "ms_per_call": 1000 * seconds / calls}
                for sql, (count, seconds) in top[:40]
            ],
        }
    if _profile is not None:
        _profile.dump_stats(OUT / "cprofile.prof")
        text = io.StringIO()
        report = pstats.Stats(str(OUT / "cprofile.prof"), stream=text)
        report.sort_stats("cumulative").print_stats(60)
        report.sort_stats("tottime").print_stats(40)
        (OUT / "cprofile.txt").write_text(text.getvalue())
        summary["cprofile"] = str(OUT / "cprofile.txt")
    (OUT / "rpc_stats.json").write_text(json.dumps(summary, indent=2))


def _patches() -> list[str]:
    return [p for p in os.environ.get("BENCH_MLMD_PATCH", "").split(",") if p]


def main() -> None:
    for name in _patches():
        if name not in PATCHES:
            sys.exit(f"bench_mlmd_server: unknown patch {name!r}; known: {', '.join(PATCHES)}")
        PATCHES[name]()
    _instrument()
    atexit.register(_dump)
    from lineage.cli import main as cli

    sys.argv = ["lineage", *sys.argv[1:]]
    cli()


if __name__ == "__main__":
    main()
