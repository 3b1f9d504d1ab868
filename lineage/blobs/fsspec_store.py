"""Blobs on any fsspec filesystem: write ``<root>/tmp/<uuid>``, then move into place.

The move must be atomic for readers of the final path; on object stores fsspec's ``mv`` is a
server-side copy followed by a delete, and the copy only becomes visible when complete.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from lineage.errors import NotFound, Unavailable

from .base import CHUNK_SIZE, TEMP_DIR, BlobStore, HashingSource, ObjectStat, read_chunks

__all__ = ["FsspecBlobStore"]


def _modified(info: dict[str, Any]) -> float | None:
    for field in ("mtime", "updated", "LastModified", "last_modified", "created"):
        value = info.get(field)
        if value is None:
            continue
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


class FsspecBlobStore(BlobStore):
    kind = "fsspec"
    make_dirs = True  # filesystems with real directories need the parents created

    def __init__(self, fs: Any, root: str, *, protocol: str | None = None) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        proto = protocol or (fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0])
        self.protocol = proto

    def describe(self) -> str:
        return f"{self.protocol}://{self.root}"

    def check(self) -> None:
        with self._errors("checking"):
            self.fs.makedirs(self._path(TEMP_DIR), exist_ok=True)

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if self.root else key

    def _uri(self, key: str) -> str:
        return f"{self.protocol}://{self._path(key)}"

    @contextlib.contextmanager
    def _errors(self, doing: str, key: str | None = None) -> Iterator[None]:
        """Turn backend exceptions into the core's errors (subclasses refine)."""
        try:
            yield
        except FileNotFoundError as exc:
            where = self._uri(key) if key else self.describe()
            raise NotFound(f"{doing}: {where} does not exist") from exc
        except (ConnectionError, TimeoutError) as exc:
            raise Unavailable(f"{doing}: {self.describe()} is unreachable: {exc}") from exc

    # -- primitives ------------------------------------------------------------------
    def _open_write(self, path: str) -> Any:
        return self.fs.open(path, "wb")

    def _stage(self, source: HashingSource, size_hint: int | None) -> str:
        tmp = self._path(f"{TEMP_DIR}/{uuid.uuid4().hex}")
        with self._errors("uploading", f"{TEMP_DIR}/"):
            if self.make_dirs:
                with contextlib.suppress(Exception):
                    self.fs.makedirs(self._path(TEMP_DIR), exist_ok=True)
            f = self._open_write(tmp)
            try:
                for chunk in source.chunks():
                    f.write(chunk)
            except BaseException:
                # Cancel rather than finalize a partial upload where the file supports it.
                discard = getattr(f, "discard", None)
                with contextlib.suppress(Exception):
                    if callable(discard):
                        discard()
                        # gcsfs leaves a file that never started uploading open, and
                        # would upload its buffer when garbage-collected.
                        f.closed = True
                    else:
                        f.close()
                with contextlib.suppress(Exception):
                    self.fs.rm_file(tmp)
                raise
            try:
                f.close()
            except BaseException:
                with contextlib.suppress(Exception):
                    self.fs.rm_file(tmp)
                raise
        return tmp

    def _publish(self, staged: Any, key: str, sha256: str, size: int) -> None:
        final = self._path(key)
        with self._errors("publishing", key):
            if self.make_dirs:
                with contextlib.suppress(Exception):
                    self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            self.fs.mv(staged, final)

    def _discard(self, staged: Any) -> None:
        with contextlib.suppress(Exception):
            if self.fs.exists(staged):
                self.fs.rm_file(staged)

    def _stat(self, key: str) -> ObjectStat | None:
        path = self._path(key)
        with self._errors("stat", key):
            try:
                info = self.fs.info(path)
            except FileNotFoundError:
                return None
        if info.get("type") == "directory":
            return None
        return ObjectStat(int(info["size"]), _modified(info))

    def _touch(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self.fs.touch(self._path(key), truncate=False)

    def _read(
        self, key: str, start: int, length: int | None
    ) -> tuple[Iterator[bytes], Callable[[], None]]:
        path = self._path(key)
        with self._errors("reading", key):
            f = self.fs.open(path, "rb", block_size=CHUNK_SIZE, cache_type="none")
        if start:
            f.seek(start)

        def chunks() -> Iterator[bytes]:
            with self._errors("reading", key):
                yield from read_chunks(f, CHUNK_SIZE, length)

        return chunks(), f.close

    def _delete(self, key: str) -> bool:
        path = self._path(key)
        with self._errors("deleting", key):
            try:
                self.fs.rm_file(path)
            except FileNotFoundError:
                return False
        return True

    def _list(self, prefix: str) -> Iterator[tuple[str, ObjectStat]]:
        base = self._path(prefix.rstrip("/"))
        with self._errors("listing", prefix):
            try:
                found = self.fs.find(base, detail=True)
            except FileNotFoundError:
                return
        root = self.fs._strip_protocol(self.root) if self.root else ""
        for path, info in sorted(found.items()):
            if info.get("type") == "directory":
                continue
            rel = path[len(root) + 1 :] if root and path.startswith(root + "/") else path
            yield rel, ObjectStat(int(info["size"]), _modified(info))
