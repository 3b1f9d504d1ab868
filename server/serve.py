"""``lineage serve``: open the store, start the servers, stop cleanly on a signal.

On SIGINT/SIGTERM the servers stop taking requests, in-flight requests get a grace
period to finish (each write is one transaction, so a request either committed or
left nothing), and only then is the database closed.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from typing import Any

from sqlalchemy.exc import DBAPIError

from lineage.blobs import open_blob_store
from lineage.errors import LineageError
from lineage.server.config import ServerConfig
from lineage.store.engine import database_failure, describe_url
from lineage.store.store import Store

log = logging.getLogger("lineage.server")
GRACE_SECONDS = 15.0


def run(config: ServerConfig, *, out: Any = None) -> int:
    out = out or sys.stdout
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("alembic").setLevel(logging.WARNING)  # quiet unless something goes wrong
    from lineage.server.grpc_app import build_grpc_server

    database_url = config.resolved_database_url()
    try:
        store = Store.open(database_url)
    except DBAPIError as exc:
        print(f"lineage serve: {database_failure(database_url, exc)}", file=sys.stderr)
        return 2
    blob_url = config.resolved_blob_store()
    try:
        # check=True: an unreachable endpoint or a missing bucket fails here, clearly.
        blob_store = open_blob_store(blob_url, check=True)
    except (LineageError, ImportError) as exc:
        store.close()
        if isinstance(exc, LineageError):
            reason = exc.message
            if exc.code == "NOT_FOUND":
                reason += " (create it, or set LINEAGE_BLOB_CREATE_BUCKET=true)"
        else:
            reason = f"{exc} (pip install 'lineage[server]')"
        print(f"lineage serve: cannot use the blob store {blob_url}: {reason}", file=sys.stderr)
        return 2
    try:
        grpc_server, grpc_port, health = build_grpc_server(
            store,
            host=config.host,
            port=config.port,
            max_message_bytes=config.max_message_mb * 1024 * 1024,
            workers=config.workers,
            blob_store=blob_store,
        )
    except (OSError, RuntimeError) as exc:
        blob_store.close()
        store.close()
        print(
            f"lineage serve: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr
        )
        return 2
    http = None
    http_port = None
    if config.http:
        try:
            from lineage.server.http.runner import start_http
        except ImportError:
            start_http = None  # type: ignore[assignment]
        if start_http is not None:
            try:
                http, http_port = start_http(store, config, blob_store=blob_store)
            except OSError as exc:
                blob_store.close()
                store.close()
                print(
                    f"lineage serve: cannot listen on HTTP port {config.http_port}: {exc}",
                    file=sys.stderr,
                )
                return 2
    # Everything loaded at startup lives for the whole process: keep it out of the
    # collector's scans, and collect less often (long pauses showed in p95 latencies).
    store.checkpoint_in_background()
    gc.collect()
    gc.freeze()
    gc.set_threshold(20000, 20, 20)
    grpc_server.start()
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"lineage: MLMD gRPC API listening on {config.host}:{grpc_port}", file=out)
    if http_port:
        print(
            f"lineage: HTTP (GraphQL, UI) listening on http://{config.host}:{http_port}/", file=out
        )
    print(f"lineage: metadata database {describe_url(database_url)}", file=out)
    print(f"lineage: artifact blobs in {blob_store.describe()}", file=out)
    out.flush()
    stop.wait()
    health.enter_graceful_shutdown()
    if http is not None:
        http.stop()
    grpc_server.stop(GRACE_SECONDS).wait()
    blob_store.close()
    store.close()
    print("lineage: stopped", file=out)
    out.flush()
    return 0
