"""Answers to the calls an MLMD client makes right after GetLineageSubgraph, prepared
while answering it.

The ml_metadata client turns one ``get_lineage_subgraph`` into six calls: the
subgraph's skeleton (ids only), then by id the artifacts with their types, the
executions, their types, the contexts and theirs. Over gRPC each call pays the
transport, a read transaction and a cold start of its own; the server, which knows every
id when it answers the first call, reads the rest in the same read and keeps the
serialized answers for exactly the requests the client is about to send.

A prepared answer is handed out only while the database is unchanged: it carries the
database's data version (SQLite's ``PRAGMA data_version``, moved by any commit from any
connection or process) and a commit anywhere discards it. On backends with no data
version nothing is prepared. A request that differs from the expected one by a byte is
answered as usual, so this never changes what a client sees, only how soon.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from google.protobuf.message import Message

# A skeleton past this many nodes is not worth holding the answers of in memory.
MAX_NODES = 2_000
# Prepared answers kept at most (5 per lineage question; a few dashboards at once), and
# their bytes at most: the oldest go first.
MAX_ANSWERS = 200
MAX_BYTES = 32 * 1024 * 1024


def _key(request: Message) -> tuple[str, bytes]:
    """Each method has a request type of its own: the type and the bytes name the call."""
    return (request.DESCRIPTOR.full_name, request.SerializeToString())


class FollowUps:
    """Serialized answers by (request type, serialized request), all of one data version."""

    def __init__(self, max_answers: int = MAX_ANSWERS, max_bytes: int = MAX_BYTES) -> None:
        self._max = max_answers
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()
        self._version: int | None = None
        self._answers: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()

    def __bool__(self) -> bool:
        return bool(self._answers)

    def keep(self, version: int, answers: list[tuple[Message, Message]]) -> None:
        """Keep ``(request, response)`` answers read at ``version`` (read before the data
        was)."""
        with self._lock:
            if version != self._version:
                self._clear()
                self._version = version
            for request, response in answers:
                key = _key(request)
                answer = response.SerializeToString()
                self._bytes += len(answer) - len(self._answers.pop(key, b""))
                self._answers[key] = answer
            while self._answers and (
                len(self._answers) > self._max or self._bytes > self._max_bytes
            ):
                self._bytes -= len(self._answers.popitem(last=False)[1])

    def _clear(self) -> None:
        self._answers.clear()
        self._bytes = 0

    def answer(self, version: int | None, request: Message) -> bytes | None:
        """The prepared answer to ``request`` if the database is still at its version."""
        if version is None:
            return None
        key = _key(request)
        with self._lock:
            if version != self._version:
                self._clear()
                return None
            return self._answers.get(key)
